"""Statements of reasons for a whole decision log, as Transparency Database API batches.

All or nothing, like the batch endpoint: every statement is generated and validated, and
puids are checked to be unique, before the first batch is handed out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from charter.dsa.config import PlatformConfig
from charter.dsa.generate import InvalidStatement, statement_for
from charter.dsa.model import StatementOfReasons
from charter.errors import CharterError, Location, Problem
from charter.policy.hashing import policy_hash
from charter.policy.spec import Policy
from charter.records import ContentItem, Decision

BATCH_SIZE = 100
MAX_PROBLEMS = 20


@dataclass
class Export:
    """The statements of one export and the decisions that needed none (action → count)."""

    statements: list[StatementOfReasons]
    skipped: Counter = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        """Counts by category, decision, ground and automation, for a person and for JSON."""
        count: dict[str, Counter] = {k: Counter() for k in ("category", "decision", "ground", "automation", "detection")}
        for s in self.statements:
            count["category"][s.category] += 1
            for value in [*(s.decision_visibility or []), s.decision_account, s.decision_provision, s.decision_monetary]:
                if value:
                    count["decision"][value] += 1
            count["ground"][s.decision_ground] += 1
            count["automation"][s.automated_decision] += 1
            count["detection"][s.automated_detection] += 1
        return {
            "statements": len(self.statements),
            "batches": -(-len(self.statements) // BATCH_SIZE),
            "without_statement": dict(sorted(self.skipped.items())),
            **{f"by_{k}": dict(v.most_common()) for k, v in count.items()},
        }


def build_statements(
    decisions: Iterable[Decision],
    items: Sequence[ContentItem] | Mapping[str, ContentItem],
    policy: Policy,
    config: PlatformConfig,
) -> Export:
    """Every restrictive decision's statement; CharterError listing every problem if any fails."""
    by_id = items if isinstance(items, Mapping) else {item.id: item for item in items}
    expected = policy_hash(policy)
    statements: list[StatementOfReasons] = []
    skipped: Counter = Counter()
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    failed = 0
    for decision in decisions:
        where = Location(path=f"decision for item {decision.item_id}")
        item = by_id.get(decision.item_id)
        try:
            if decision.policy_hash != expected:
                raise CharterError(
                    f"made under {decision.policy_id} {decision.policy_version} ({decision.policy_hash[:12]}), "
                    f"not the bundle's {policy.id} {policy.version} ({expected[:12]}); its rules may differ"
                )
            if item is None:
                raise CharterError("the item is not in the items file")
            statement = statement_for(decision, item, policy, platform_config=config)
        except InvalidStatement as exc:
            failed += 1
            problems += [Problem(f"{exc.puid}: {p.message}", where) for p in exc.problems]
            continue
        except CharterError as exc:
            failed += 1
            problems.append(Problem(exc.message, where))
            continue
        if statement is None:
            skipped[decision.action] += 1
            continue
        if statement.puid in seen:
            failed += 1
            problems.append(
                Problem(f"puid {statement.puid} is also the puid of the decision on item {seen[statement.puid]}", where)
            )
            continue
        seen[statement.puid] = decision.item_id
        statements.append(statement)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(Problem(f"... and {len(problems) - MAX_PROBLEMS} more problems"))
        raise CharterError(
            f"{failed} decision(s) cannot be exported as valid statements of reasons; nothing was exported", shown
        )
    return Export(statements, skipped)


def batches(statements: Sequence[StatementOfReasons], size: int = BATCH_SIZE) -> Iterator[dict[str, Any]]:
    """API bodies {"statements": [...]} of at most `size` (the endpoint takes 1 to 100)."""
    if not 1 <= size <= BATCH_SIZE:
        raise CharterError(f"batch size must be between 1 and {BATCH_SIZE}, not {size}")
    for start in range(0, len(statements), size):
        yield {"statements": [s.wire() for s in statements[start : start + size]]}


def export_statements(
    decisions: Iterable[Decision],
    items: Sequence[ContentItem] | Mapping[str, ContentItem],
    policy: Policy,
    config: PlatformConfig,
) -> Iterator[dict[str, Any]]:
    """Validated API batch bodies for every restrictive decision (all validated before the first)."""
    yield from batches(build_statements(decisions, items, policy, config).statements)
