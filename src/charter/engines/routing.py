"""From per-category scores to labels, one action and a review queue, as the compiled bundle says.

Thresholds, auto actions and market overrides come from the bundle's classifier.json and the
queues and action kinds from its routing.json, so every score-producing engine routes the
same way, and the evaluation core can swap in re-tuned thresholds (`with_thresholds`).

Per category: score ≥ auto_action → violating (the category's auto action); review ≤ score <
auto_action → needs_review; else allowed. The item's action is the strongest auto action among
its violating categories (policy order breaks ties); with none, any needs_review sends it to
the policy's escalate action (a policy without one leaves the action at allow, the labels
still say needs_review) and the most urgent queue among those categories (policy order
breaks ties); otherwise it is allowed. An auto action outranks review: an item already
removed for one category does not wait in a queue for another (its labels still say so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from charter.compile.classifier import classifier_config
from charter.compile.loader import LoadedBundle
from charter.compile.routing import routing_table
from charter.errors import CharterError
from charter.policy.hashing import PolicyIdentity, identity
from charter.policy.spec import ACTION_STRENGTH, ActionKind, Policy, Thresholds

ALLOWED, REVIEW, VIOLATING = 0, 1, 2
VERDICTS = ("allowed", "needs_review", "violating")


@dataclass(frozen=True)
class CategoryRoute:
    """One category's cut-offs, its auto action and where its reviews go."""

    auto_action: float
    review: float
    action: str
    queue: str | None


@dataclass(frozen=True)
class Routed:
    """Routing of a batch: per-category verdict codes (0/1/2) and one action/queue per item."""

    codes: dict[str, np.ndarray]
    actions: list[str]
    queues: list[str | None]

    def labels(self, row: int) -> dict[str, str]:
        return {c: VERDICTS[int(codes[row])] for c, codes in self.codes.items()}


@dataclass(frozen=True)
class Routing:
    """What a compiled bundle says about turning scores into enforcement."""

    identity: PolicyIdentity
    categories: dict[str, CategoryRoute]
    markets: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    inherited: dict[str, set[str]] = field(default_factory=dict)
    action_strength: dict[str, int] = field(default_factory=dict)
    escalate_action: str | None = None
    queue_priority: dict[str, int] = field(default_factory=dict)

    # ----------------------------------------------------------------- construction

    @classmethod
    def from_configs(cls, classifier: Mapping[str, Any], routing: Mapping[str, Any]) -> Routing:
        """From the contents of a bundle's classifier.json and routing.json."""
        stamp = classifier["policy"]
        if routing.get("policy") != stamp:
            raise CharterError(
                f"classifier.json is stamped {stamp} but routing.json {routing.get('policy')}: "
                "the bundle mixes policy versions; recompile it"
            )
        defaults = {c: r["default_queue"] for c, r in routing["categories"].items()}
        categories = {
            c: CategoryRoute(
                auto_action=float(spec["thresholds"]["auto_action"]),
                review=float(spec["thresholds"]["review"]),
                action=spec["auto_action"],
                queue=defaults.get(c),
            )
            for c, spec in classifier["categories"].items()
        }
        markets = {
            m: {c: (float(o["thresholds"]["auto_action"]), float(o["thresholds"]["review"])) for c, o in spec["categories"].items()}
            for m, spec in classifier.get("markets", {}).items()
        }
        inherited = {
            m: {c for c, o in spec["categories"].items() if o.get("inherited")}
            for m, spec in classifier.get("markets", {}).items()
        }
        kinds = {a: ActionKind(spec["kind"]) for a, spec in routing["actions"].items()}
        return cls(
            identity=PolicyIdentity(**stamp),
            categories=categories,
            markets=markets,
            inherited=inherited,
            action_strength={a: ACTION_STRENGTH[k] for a, k in kinds.items()},
            escalate_action=next((a for a, k in kinds.items() if k is ActionKind.escalate), None),
            queue_priority={q: int(spec["priority"]) for q, spec in routing["queues"].items()},
        )

    @classmethod
    def from_bundle(cls, bundle: LoadedBundle) -> Routing:
        """From a verified bundle (`charter.compile.load_bundle`)."""
        return cls.from_configs(bundle.classifier, bundle.routing)

    @classmethod
    def from_policy(cls, policy: Policy) -> Routing:
        """As the bundle compiled from `policy` would say (no bundle directory needed)."""
        ident = identity(policy)
        return cls.from_configs(classifier_config(ident, policy), routing_table(ident, policy))

    def with_thresholds(self, thresholds: Mapping[str, Thresholds | Mapping[str, float]]) -> Routing:
        """A copy with re-tuned base thresholds; market entries that inherit follow them."""
        updated = dict(self.categories)
        for category, value in thresholds.items():
            if category not in self.categories:
                known = ", ".join(self.categories)
                raise CharterError(f"thresholds given for unknown category {category!r} (known: {known})")
            try:
                cut = value if isinstance(value, Thresholds) else Thresholds(**value)
            except (TypeError, ValueError) as exc:
                raise CharterError(f"thresholds for {category!r} are invalid: {exc}") from None
            if cut.review > cut.auto_action:
                raise CharterError(
                    f"thresholds for {category!r}: review ({cut.review}) is above auto_action ({cut.auto_action})"
                )
            updated[category] = replace(updated[category], auto_action=cut.auto_action, review=cut.review)
        markets = {
            m: {
                c: (updated[c].auto_action, updated[c].review) if c in self.inherited.get(m, set()) else cuts
                for c, cuts in overrides.items()
            }
            for m, overrides in self.markets.items()
        }
        return replace(self, categories=updated, markets=markets)

    def thresholds(self) -> dict[str, dict[str, float]]:
        return {c: {"auto_action": r.auto_action, "review": r.review} for c, r in self.categories.items()}

    # ----------------------------------------------------------------- routing

    def route(self, scores: Mapping[str, np.ndarray], markets: Sequence[str | None] | None = None) -> Routed:
        """Labels, action and queue for each row of `scores` (category → array of [0, 1])."""
        unknown = [c for c in scores if c not in self.categories]
        if unknown:
            raise CharterError(f"scores for categories the bundle does not know: {', '.join(unknown)}")
        n = len(next(iter(scores.values()))) if scores else len(markets or [])
        market_keys = np.asarray(markets if markets is not None else [None] * n, dtype=object)
        codes: dict[str, np.ndarray] = {}
        for category, values in scores.items():
            auto, review = self._cut_arrays(category, market_keys)
            values = np.asarray(values, dtype=np.float64)
            codes[category] = np.where(values >= auto, VIOLATING, np.where(values >= review, REVIEW, ALLOWED)).astype(np.int8)
        actions = np.full(n, "allow", dtype=object)
        best = np.full(n, -1)
        for category in self.categories:  # policy order breaks ties
            if category not in codes:
                continue
            route = self.categories[category]
            strength = self.action_strength.get(route.action, 0)
            wins = (codes[category] == VIOLATING) & (strength > best)
            actions[wins] = route.action
            best[wins] = strength
        queues = np.full(n, None, dtype=object)
        urgency = np.full(n, np.inf)
        for category in self.categories:
            if category not in codes:
                continue
            queue = self.categories[category].queue
            priority = self.queue_priority.get(queue, np.inf) if queue else np.inf
            takes = (codes[category] == REVIEW) & (best < 0) & (priority < urgency)
            queues[takes] = queue
            urgency[takes] = priority
            if self.escalate_action:
                actions[(codes[category] == REVIEW) & (best < 0)] = self.escalate_action
        return Routed(codes=codes, actions=actions.tolist(), queues=queues.tolist())

    def _cut_arrays(self, category: str, markets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        base = self.categories[category]
        auto = np.full(len(markets), base.auto_action)
        review = np.full(len(markets), base.review)
        for market, overrides in self.markets.items():
            if category in overrides:
                rows = markets == market
                auto[rows], review[rows] = overrides[category]
        return auto, review
