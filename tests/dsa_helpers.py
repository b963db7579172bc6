"""Shared helpers for the DSA tests: the example policy, real items and hand-made decisions."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

from charter.datasets import load_split
from charter.policy.hashing import PolicyIdentity, identity
from charter.policy.load import load_policy
from charter.policy.spec import Policy
from charter.records import ContentItem, Decision

EXAMPLE = Path(__file__).parent.parent / "src" / "charter" / "examples" / "policy.yaml"
DECIDED = dt.datetime(2026, 9, 2, 14, 30, tzinfo=dt.timezone.utc)


@cache
def policy() -> Policy:
    return load_policy(EXAMPLE)


@cache
def items() -> tuple[ContentItem, ...]:
    """The vendored Davidson test sample (real tweets with handles and links)."""
    return tuple(load_split("davidson", "test", source="sample").items)


_STAMPS: dict[int, tuple[Policy, PolicyIdentity]] = {}


def stamp_of(under: Policy) -> PolicyIdentity:
    """The policy's identity, hashed once per policy object (hashing is the slow part)."""
    if id(under) not in _STAMPS:
        _STAMPS[id(under)] = (under, identity(under))
    return _STAMPS[id(under)][1]


def decide(
    item: ContentItem,
    action: str,
    labels: dict[str, str] | None = None,
    rule_ids: list[str] | None = None,
    pathway: str = "rules",
    under: Policy | None = None,
    **fields,
) -> Decision:
    stamp = stamp_of(under or policy())
    return Decision(
        item_id=item.id,
        pathway=pathway,
        policy_id=stamp.id,
        policy_version=stamp.version,
        policy_hash=stamp.hash,
        labels=labels or {},
        rule_ids=rule_ids or [],
        action=action,
        decided_at=fields.pop("decided_at", DECIDED),
        **fields,
    )
