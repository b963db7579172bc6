"""The fast classifier as an Engine: calibrated scores routed by the bundle's thresholds."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from charter.compile.loader import LoadedBundle
from charter.engines.base import Engine
from charter.engines.classifier.artifact import check_policy
from charter.engines.classifier.model import TrainedClassifier
from charter.engines.routing import Routing
from charter.policy.spec import Thresholds
from charter.records import ContentItem, Decision


def extra_fields(fired: list[str], policy_mismatch: str | None) -> dict[str, Any]:
    """A decision's `extra`: the evasion transformations that fired, and the model/policy
    mismatch when one was allowed (so no log hides that its model was trained for other policy content)."""
    extra: dict[str, Any] = {}
    if fired:
        extra["evasion"] = fired
    if policy_mismatch:
        extra["policy_mismatch"] = policy_mismatch
    return extra


class ClassifierEngine(Engine):
    """Scores every category the model covers and routes them as the bundle says.

    `routing` is a verified bundle or a `Routing` (e.g. `Routing.from_policy`); the engine is
    stamped with its policy. `thresholds` (category → auto_action/review) replaces the
    bundle's, e.g. after tuning by the evaluation core. A model trained under other policy
    content is refused unless `allow_policy_mismatch`, and then the mismatch is kept in
    describe() and in every decision's `extra["policy_mismatch"]`. Latency is the batch's wall time shared equally among its items.
    """

    pathway = "classifier"

    def __init__(
        self,
        model: TrainedClassifier,
        routing: Routing | LoadedBundle,
        *,
        thresholds: Mapping[str, Thresholds | Mapping[str, float]] | None = None,
        allow_policy_mismatch: bool = False,
        name: str = "fast-classifier",
    ):
        self.model = model
        self.routing = routing if isinstance(routing, Routing) else Routing.from_bundle(routing)
        if thresholds:
            self.routing = self.routing.with_thresholds(thresholds)
        self.identity = self.routing.identity
        self.name = name
        self.policy_mismatch = check_policy(
            model.card, self.identity, self.routing.categories, allow_policy_mismatch=allow_policy_mismatch
        )

    def decide(self, items: Sequence[ContentItem]) -> list[Decision]:
        if not items:
            return []
        started = time.perf_counter()
        scored = self.model.score([item.text for item in items])
        routed = self.routing.route(scored.scores, [item.market for item in items])
        latency = (time.perf_counter() - started) * 1000.0 / len(items)
        model_version = self.model.card.model_id
        decisions = []
        for row, item in enumerate(items):
            fired = scored.fired[row]
            decisions.append(
                self.stamped(
                    item.id,
                    scores={c: float(values[row]) for c, values in scored.scores.items()},
                    labels=routed.labels(row),
                    action=routed.actions[row],
                    escalation_queue=routed.queues[row],
                    model_version=model_version,
                    latency_ms=latency,
                    extra=extra_fields(fired, self.policy_mismatch),
                )
            )
        return decisions

    def describe(self) -> dict[str, Any]:
        card = self.model.card
        info = super().describe()
        info.update(
            model_id=card.model_id,
            model_policy=card.policy.model_dump(),
            policy_mismatch=self.policy_mismatch,
            categories=card.categories,
            thresholds=self.routing.thresholds(),
            calibration={c: cal.method for c, cal in card.calibrators.items()},
        )
        return info
