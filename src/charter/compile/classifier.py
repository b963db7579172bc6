"""classifier.json: the label map, per-category score thresholds and auto actions, and the
per-market overrides merged in, each with the provenance of its thresholds."""

from __future__ import annotations

from typing import Any

from charter.compile.stamp import json_bytes, stamp_dict
from charter.policy.hashing import PolicyIdentity
from charter.policy.spec import Policy, Thresholds

POLICY_PROVENANCE = {"source": "policy"}


def thresholds_data(thresholds: Thresholds) -> dict[str, float]:
    return {"auto_action": thresholds.auto_action, "review": thresholds.review}


def classifier_config(identity: PolicyIdentity, policy: Policy) -> dict[str, Any]:
    """The classifier config: markets carry effective (merged) thresholds for every category;
    `inherited` marks those that follow the base category and change with it."""
    categories: dict[str, Any] = {}
    for index, category in enumerate(policy.categories):
        action = policy.action(category.auto_action)
        categories[category.id] = {
            "index": index,
            "title": category.title,
            "thresholds": thresholds_data(category.thresholds),
            "auto_action": category.auto_action,
            "auto_action_kind": action.kind.value if action else None,
            "rule_ids": [r.id for r in category.rules],
            "provenance": dict(POLICY_PROVENANCE),
        }
    markets: dict[str, Any] = {}
    for market in policy.markets:
        merged: dict[str, Any] = {}
        for category in policy.categories:
            override = market.categories.get(category.id)
            own = override is not None and override.thresholds is not None
            merged[category.id] = {
                "thresholds": thresholds_data(override.thresholds if own else category.thresholds),
                "inherited": not own,
                "extra_rule_ids": [r.id for r in override.extra_rules] if override else [],
                "provenance": dict(POLICY_PROVENANCE),
            }
        markets[market.id] = {"title": market.title, "languages": list(market.languages), "categories": merged}
    return {
        "policy": stamp_dict(identity),
        "labels": {c.id: i for i, c in enumerate(policy.categories)},
        "categories": categories,
        "markets": markets,
    }


def classifier_artifact(identity: PolicyIdentity, policy: Policy) -> bytes:
    return json_bytes(classifier_config(identity, policy))
