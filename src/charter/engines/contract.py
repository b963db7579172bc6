"""The conformance check every Engine must pass, like scikit-learn's `check_estimator`.

`check_engine(engine, items, policy)` runs every check and raises `ContractViolation`
listing all failures; `CHECKS` exposes them one by one so a test suite can parametrize over
(engine, check) pairs and report each failure by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import get_args

from charter.engines.base import Engine
from charter.policy.hashing import policy_hash
from charter.policy.spec import Policy
from charter.records import ContentItem, Decision, Pathway

Check = Callable[[Engine, Sequence[ContentItem], Policy], list[str]]

# Fields that legitimately differ between two runs of the same engine on the same items.
VOLATILE_FIELDS = {"decision_id", "decided_at", "latency_ms"}
SCORE_TOLERANCE = 1e-6


class ContractViolation(AssertionError):
    """An engine broke the Engine contract; `failures` names each broken check."""

    def __init__(self, engine: Engine, failures: list[str]):
        self.failures = failures
        listing = "\n".join(f"  - {f}" for f in failures)
        super().__init__(f"engine {engine.name!r} breaks the Engine contract:\n{listing}")


def _decide(engine: Engine, items: Sequence[ContentItem]) -> list[Decision]:
    decisions = engine.decide(list(items))
    if not isinstance(decisions, list) or not all(isinstance(d, Decision) for d in decisions):
        raise ContractViolation(engine, ["decide() must return a list of Decision"])
    return decisions


def check_one_per_item(engine: Engine, items: Sequence[ContentItem], policy: Policy) -> list[str]:
    """Exactly one Decision per item, in input order, with the item's id."""
    decisions = _decide(engine, items)
    if len(decisions) != len(items):
        return [f"one decision per item: got {len(decisions)} decisions for {len(items)} items"]
    return [
        f"decision {i} is for item {d.item_id!r}, expected {item.id!r} (order and ids must be kept)"
        for i, (item, d) in enumerate(zip(items, decisions))
        if d.item_id != item.id
    ]


def check_order_follows_input(engine: Engine, items: Sequence[ContentItem], policy: Policy) -> list[str]:
    """A reversed batch gives the reversed decisions: a verdict depends on its item alone."""
    forward = _decide(engine, items)
    backward = _decide(engine, list(reversed(items)))[::-1]
    return [
        f"item {a.item_id!r}: verdict changes with its position in the batch"
        for a, b in zip(forward, backward)
        if not _same_verdict(a, b)
    ]


def check_stamp(engine: Engine, items: Sequence[ContentItem], policy: Policy) -> list[str]:
    """Pathway and policy id/version/hash are stamped and match the engine and the policy."""
    expected_hash = policy_hash(policy)
    problems = []
    if engine.pathway not in get_args(Pathway):
        problems.append(f"engine pathway {engine.pathway!r} is not one of {get_args(Pathway)}")
    if (engine.policy_id, engine.policy_version, engine.policy_hash) != (policy.id, policy.version, expected_hash):
        problems.append(
            f"engine is stamped {engine.policy_id}@{engine.policy_version} ({engine.policy_hash[:12]}), "
            f"the policy is {policy.id}@{policy.version} ({expected_hash[:12]})"
        )
    for d in _decide(engine, items):
        if d.pathway != engine.pathway:
            problems.append(f"item {d.item_id!r}: pathway {d.pathway!r}, engine says {engine.pathway!r}")
        if (d.policy_id, d.policy_version, d.policy_hash) != (policy.id, policy.version, expected_hash):
            problems.append(f"item {d.item_id!r}: decision is not stamped with the policy's id, version and hash")
    return problems


def check_scores(engine: Engine, items: Sequence[ContentItem], policy: Policy) -> list[str]:
    """Scores only for policy categories, each a finite number in [0, 1]."""
    known = set(policy.category_ids())
    problems = []
    for d in _decide(engine, items):
        for category, score in d.scores.items():
            if category not in known:
                problems.append(f"item {d.item_id!r}: score for unknown category {category!r}")
            elif not (math.isfinite(score) and 0.0 <= score <= 1.0):
                problems.append(f"item {d.item_id!r}: score {score!r} for {category!r} is outside [0, 1]")
    return problems


def check_labels(engine: Engine, items: Sequence[ContentItem], policy: Policy) -> list[str]:
    """Labels only for policy categories."""
    known = set(policy.category_ids())
    return [
        f"item {d.item_id!r}: label for unknown category {category!r}"
        for d in _decide(engine, items)
        for category in d.labels
        if category not in known
    ]


def check_actions(engine: Engine, items: Sequence[ContentItem], policy: Policy) -> list[str]:
    """The action is one of the policy's action ids (or allow); a queue is a policy queue."""
    actions = {a.id for a in policy.actions} | {"allow"}
    queues = {q.id for q in policy.queues}
    problems = []
    for d in _decide(engine, items):
        if d.action not in actions:
            problems.append(f"item {d.item_id!r}: action {d.action!r} is not an action of the policy")
        if d.escalation_queue is not None and d.escalation_queue not in queues:
            problems.append(f"item {d.item_id!r}: escalation queue {d.escalation_queue!r} is not a policy queue")
    return problems


def check_latency(engine: Engine, items: Sequence[ContentItem], policy: Policy) -> list[str]:
    """Every decision records a finite, non-negative latency."""
    return [
        f"item {d.item_id!r}: latency_ms is {d.latency_ms!r}"
        for d in _decide(engine, items)
        if d.latency_ms is None or not math.isfinite(d.latency_ms) or d.latency_ms < 0
    ]


def check_empty_batch(engine: Engine, items: Sequence[ContentItem], policy: Policy) -> list[str]:
    """An empty batch gives an empty list."""
    result = engine.decide([])
    return [] if result == [] else [f"decide([]) returned {result!r}, expected []"]


def check_deterministic(engine: Engine, items: Sequence[ContentItem], policy: Policy) -> list[str]:
    """Running the same batch twice gives the same verdicts."""
    first, second = _decide(engine, items), _decide(engine, items)
    return [f"item {a.item_id!r}: a second run gives a different verdict" for a, b in zip(first, second) if not _same_verdict(a, b)]


def check_describe(engine: Engine, items: Sequence[ContentItem], policy: Policy) -> list[str]:
    """describe() names the engine, its pathway and its policy stamp."""
    info = engine.describe()
    problems = [f"describe() lacks {key!r}" for key in ("name", "pathway", "policy") if key not in info]
    if not problems and info["policy"].get("hash") != engine.policy_hash:
        problems.append("describe()['policy']['hash'] differs from the engine's policy hash")
    return problems


def _same_verdict(a: Decision, b: Decision) -> bool:
    left, right = a.model_dump(exclude=VOLATILE_FIELDS), b.model_dump(exclude=VOLATILE_FIELDS)
    scores_a, scores_b = left.pop("scores"), right.pop("scores")
    if left != right or scores_a.keys() != scores_b.keys():
        return False
    return all(abs(scores_a[k] - scores_b[k]) <= SCORE_TOLERANCE for k in scores_a)


CHECKS: dict[str, Check] = {
    "one_per_item": check_one_per_item,
    "order_follows_input": check_order_follows_input,
    "stamp": check_stamp,
    "scores": check_scores,
    "labels": check_labels,
    "actions": check_actions,
    "latency": check_latency,
    "empty_batch": check_empty_batch,
    "deterministic": check_deterministic,
    "describe": check_describe,
}


def check_engine(engine: Engine, items: Sequence[ContentItem], policy: Policy) -> None:
    """Run every contract check on `items` (at least two, unique ids); raise on any failure."""
    ids = [item.id for item in items]
    if len(ids) < 2 or len(set(ids)) != len(ids):
        raise ValueError("check_engine needs at least two items with unique ids")
    failures = [f"{name}: {problem}" for name, check in CHECKS.items() for problem in check(engine, items, policy)]
    if failures:
        raise ContractViolation(engine, failures)
