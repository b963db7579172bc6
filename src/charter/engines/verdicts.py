"""Per-category verdicts and how they combine into one action and queue for an item.

The rules engine and the cascade decide category by category and then need one action for
the item; they combine exactly as `charter.engines.routing` does for scores: the strongest
action among violating categories (policy order breaks ties); with none, any needs_review
sends the item to the policy's escalate action and the most urgent of those categories'
queues (policy order breaks ties); otherwise it is allowed. An action outranks review.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from charter.engines.routing import Routing
from charter.records import Verdict


@dataclass
class CategoryVerdict:
    """One category's verdict, which stage gave it, and why.

    `stage` is the pathway that settled the category (a needs_review verdict is settled by a
    human, so its stage is "human" and `detected_by` names the machine stage that flagged it).
    """

    label: Verdict
    stage: str
    action: str | None = None
    queue: str | None = None
    rule_ids: list[str] = field(default_factory=list)
    detected_by: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = {"label": self.label, "stage": self.stage, "action": self.action, "queue": self.queue,
                "rule_ids": self.rule_ids, "detected_by": self.detected_by, "reason": self.reason}  # fmt: skip
        return {k: v for k, v in data.items() if v not in (None, [])}


@dataclass(frozen=True)
class Combined:
    """The item's action and queue, and the category whose verdict set them (None: allowed)."""

    action: str
    queue: str | None
    category: str | None


def combine(verdicts: Mapping[str, CategoryVerdict], routing: Routing) -> Combined:
    """One action and queue from per-category verdicts, as the module docstring says."""
    order = [c for c in routing.categories if c in verdicts]
    best, best_strength = None, -1
    for category in order:
        verdict = verdicts[category]
        if verdict.label == "violating" and verdict.action is not None:
            strength = routing.action_strength.get(verdict.action, 0)
            if strength > best_strength:
                best, best_strength = category, strength
    if best is not None:
        return Combined(verdicts[best].action, None, best)  # type: ignore[arg-type]
    review = [c for c in order if verdicts[c].label == "needs_review"]
    if review:
        chosen = min(review, key=lambda c: routing.queue_priority.get(verdicts[c].queue or "", float("inf")))
        return Combined(routing.escalate_action or "allow", verdicts[chosen].queue, chosen)
    return Combined("allow", None, None)
