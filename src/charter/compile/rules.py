"""rules.json: every exact-match rule (term lists, regular expressions, known-bad digests)
with what a hit does resolved (the action it takes or the queue it goes to, the rules it
applies, whether it may act alone), and per category the policy rules that only a human may
enforce (their severity `requires_human`), which every machine pathway must defer."""

from __future__ import annotations

from typing import Any

from charter.compile.stamp import json_bytes, stamp_dict
from charter.compile.view import fallback_queue
from charter.policy.hashing import PolicyIdentity
from charter.policy.spec import ActionKind, Category, Matcher, Policy, Rule


def _matcher(policy: Policy, category: Category, matcher: Matcher, rules: dict[str, Rule], market: str | None) -> dict[str, Any]:
    fallback = fallback_queue(policy)
    escalate = next((a.id for a in policy.actions if a.kind is ActionKind.escalate), None)
    if matcher.verdict == "violating":
        action, queue = matcher.action or category.auto_action, None
    else:
        action, queue = escalate, matcher.queue or category.escalation_queue or (fallback.id if fallback else None)
    spec = policy.action(action) if action else None
    needs_human = [
        r for r in matcher.rule_ids
        if r in rules and (s := category.severity(rules[r].severity)) is not None and s.requires_human
    ]  # fmt: skip
    return {
        "id": matcher.id,
        "kind": matcher.kind,
        "description": matcher.description,
        "values": list(matcher.values),
        "rule_ids": list(matcher.rule_ids),
        "verdict": matcher.verdict,
        "action": action,
        "action_kind": spec.kind.value if spec else None,
        "queue": queue,
        "acts_alone": matcher.acts_alone,
        "requires_human": bool(needs_human),
        "market": market,
    }


def _human_only(policy: Policy, category: Category) -> dict[str, Any]:
    """Rule IDs (market rules included) and severities whose severity requires a human."""
    severities = [s.id for s in category.severities if s.requires_human]
    rules = [r for r in category.rules if r.severity in severities]
    rules += [r for m in policy.markets if (o := m.categories.get(category.id)) for r in o.extra_rules if r.severity in severities]
    return {"severities": severities, "rule_ids": [r.id for r in rules]}


def rules_table(identity: PolicyIdentity, policy: Policy) -> dict[str, Any]:
    """Per category its matchers and human-only rules, and the matchers each market adds
    (applied on top of the category's in that market)."""
    categories = {
        c.id: {
            "matchers": [_matcher(policy, c, m, {r.id: r for r in c.rules}, None) for m in c.matchers],
            "human_only": _human_only(policy, c),
        }
        for c in policy.categories
    }
    markets: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for market in policy.markets:
        for category_id, override in market.categories.items():
            category = policy.category(category_id)
            if category is None or not override.matchers:
                continue
            rules = {r.id: r for r in [*category.rules, *override.extra_rules]}
            markets.setdefault(market.id, {})[category_id] = [
                _matcher(policy, category, m, rules, market.id) for m in override.matchers
            ]
    return {"policy": stamp_dict(identity), "categories": categories, "markets": markets}


def rules_artifact(identity: PolicyIdentity, policy: Policy) -> bytes:
    return json_bytes(rules_table(identity, policy))
