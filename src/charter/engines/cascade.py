"""The cascade: cheap, certain stages first; each later, costlier stage sees only what the
earlier ones could not settle.

Per item, category by category:

1. **normalization** (once, shared by every stage; the transformations that fired are kept);
2. **rules**: a matcher that acts alone decides its category (violating, or needs_review in
   its queue); other hits are signals;
3. **classifier** (per category the model scores, thresholds by market as the bundle says):
   score ≥ auto_action → the category's auto action; score < review → allowed, unless a rules
   signal fired for the category; otherwise uncertain;
4. **LLM** for the uncertain categories only, and only for items no earlier stage already
   restricts (an action outranks review, so the LLM could only raise the action);
5. **human review** for: needs_review outcomes of the tree, LLM verdicts below the
   confidence bar, LLM failures (never allowed), the uncertain band when no LLM is
   configured, and any machine verdict that applies a rule whose severity `requires_human`
   (see docs/policy-format.md), in the queue the tree, matcher or category names.

The item's action then combines the category verdicts as routing does
(`charter.engines.verdicts.combine`). `extra["decided_by"]` names the stage whose verdict set
the action (rules, classifier, llm, or human for an escalation), or for an allowed item the
last stage that had to be asked; `extra["detected_by"]` names the machine stage that flagged
what a human will decide. `extra["stages"]` keeps what every stage saw and said.

Categories: rules always apply to every category; the classifier and LLM stages cover
`categories` (default: the model's categories, or every category without a model), plus any
category a rules signal flagged.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from charter.compile.loader import LoadedBundle
from charter.engines.base import Engine
from charter.engines.classifier.artifact import check_policy
from charter.engines.classifier.model import TrainedClassifier
from charter.engines.llm.backend import Backend
from charter.engines.llm.engine import LLMEngine
from charter.engines.normalize import Normalized, normalize_batch
from charter.engines.routing import REVIEW, VERDICTS, VIOLATING
from charter.engines.rules import Hit, RulesMatcher, category_verdicts, rules_and_routing
from charter.engines.verdicts import CategoryVerdict, combine
from charter.errors import CharterError
from charter.policy.spec import Thresholds
from charter.records import ContentItem, Decision

LLM_OPTIONS = {"samples", "max_tokens", "temperature", "seed", "logprobs", "review_below", "concurrency",
               "price_in_per_1k", "price_out_per_1k"}  # fmt: skip
OPTIONS = {"categories", "thresholds", "allow_policy_mismatch", "llm_options", "name"}


@dataclass
class _Item:
    """One item's state as it moves down the cascade."""

    item: ContentItem
    normalized: Normalized
    hits: list[Hit]
    verdicts: dict[str, CategoryVerdict] = field(default_factory=dict)
    signals: dict[str, str] = field(default_factory=dict)  # category -> the signal matcher that fired
    uncertain: dict[str, str] = field(default_factory=dict)  # category -> why it is not settled
    flagged_by: dict[str, str] = field(default_factory=dict)  # category -> the machine stage that flagged it
    scores: dict[str, float] = field(default_factory=dict)
    classifier_labels: dict[str, str] = field(default_factory=dict)
    llm: dict[str, Decision] = field(default_factory=dict)
    latency_ms: float = 0.0


class CascadeEngine(Engine):
    """Rules → classifier → LLM → human review under one bundle (see the module docstring).

    `model` may be None (rules and LLM only) and so may `llm` (the uncertain band goes to
    human review). `llm_options` go to each category's LLMEngine (samples, max_tokens,
    review_below, concurrency, prices...). `thresholds` re-tunes the classifier cut-offs.
    """

    pathway = "cascade"

    def __init__(
        self,
        bundle: LoadedBundle,
        model: TrainedClassifier | None = None,
        llm: Backend | None = None,
        *,
        llm_mode: str = "single",
        categories: Sequence[str] | None = None,
        thresholds: Mapping[str, Thresholds | Mapping[str, float]] | None = None,
        allow_policy_mismatch: bool = False,
        llm_options: Mapping[str, Any] | None = None,
        name: str | None = None,
    ):
        routing, rules = rules_and_routing(bundle)
        if routing.escalate_action is None:
            raise CharterError(
                f"policy {bundle.policy.id} has no action of kind escalate: the cascade needs one to send what "
                "it cannot settle to human review"
            )
        self.bundle = bundle
        self.routing = routing.with_thresholds(thresholds) if thresholds else routing
        self.identity = bundle.identity
        self.matcher = RulesMatcher(rules)
        self.model = model
        self.policy_mismatch = (
            check_policy(model.card, self.identity, self.routing.categories, allow_policy_mismatch=allow_policy_mismatch)
            if model is not None
            else None
        )
        self.categories = self._categories(categories)
        self.backend = llm
        self.llm_mode = llm_mode
        unknown = set(llm_options or {}) - LLM_OPTIONS
        if unknown:
            raise CharterError(f"unknown LLM option(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(LLM_OPTIONS))}")
        self.llm_options = dict(llm_options or {})
        self._llm_engines: dict[str, LLMEngine] = {}
        if llm is not None:  # build one now, so a bad mode or option fails here, not mid-batch
            self._llm_engine(self.categories[0] if self.categories else bundle.policy.category_ids()[0])
        stages = ["rules"] + (["classifier"] if model else []) + (["llm"] if llm else []) + ["human"]
        self.name = name or "cascade:" + "+".join(stages)

    def _categories(self, requested: Sequence[str] | None) -> list[str]:
        policy_ids = self.bundle.policy.category_ids()
        if requested:
            unknown = [c for c in requested if c not in policy_ids]
            if unknown:
                raise CharterError(f"unknown categories {', '.join(unknown)} (the policy has {', '.join(policy_ids)})")
            return [c for c in policy_ids if c in requested]
        if self.model is not None:
            return [c for c in policy_ids if c in self.model.categories]
        return policy_ids

    def _llm_engine(self, category: str) -> LLMEngine:
        if category not in self._llm_engines:
            assert self.backend is not None
            self._llm_engines[category] = LLMEngine(
                self.backend, self.bundle, mode=self.llm_mode, categories=[category], **self.llm_options  # type: ignore[arg-type]
            )
        return self._llm_engines[category]

    # ------------------------------------------------------------------ the stages

    def decide(self, items: Sequence[ContentItem]) -> list[Decision]:
        items = list(items)
        if not items:
            return []
        started = time.perf_counter()
        normalized = normalize_batch(item.text for item in items)
        states = [_Item(item, n, self.matcher.match(n, item.market)) for item, n in zip(items, normalized)]
        for state in states:
            state.verdicts = category_verdicts(state.hits, self.routing)
            for hit in state.hits:
                if not hit.spec.acts_alone and hit.spec.category not in state.verdicts:
                    state.signals.setdefault(hit.spec.category, hit.spec.id)
        self._classify(states)
        self._flag_uncovered(states)
        shared = (time.perf_counter() - started) * 1000.0 / len(items)
        for state in states:
            state.latency_ms = shared
        self._ask_llm(states)
        self._send_rest_to_humans(states)
        return [self._decision(state) for state in states]

    def _classify(self, states: list[_Item]) -> None:
        if self.model is None:
            return
        covered = [c for c in self.categories if c in self.model.categories]
        if not covered:
            return
        scored = self.model.score_normalized([s.normalized for s in states])
        scores = {c: np.asarray(scored[c]) for c in covered}
        routed = self.routing.route(scores, [s.item.market for s in states])
        for row, state in enumerate(states):
            for category in covered:
                score = float(scores[category][row])
                code = int(routed.codes[category][row])
                state.scores[category] = score
                state.classifier_labels[category] = VERDICTS[code]
                if category in state.verdicts:
                    continue  # the rules decided it
                route = self.routing.categories[category]
                if code == VIOLATING:
                    state.verdicts[category] = CategoryVerdict(
                        "violating", "classifier", action=route.action, reason=f"score {score:.3f} ≥ auto_action"
                    )
                elif code == REVIEW:
                    state.uncertain[category] = f"score {score:.3f} in the review band"
                    state.flagged_by[category] = "classifier"
                elif category in state.signals:
                    state.uncertain[category] = f"score {score:.3f} below review, but matcher {state.signals[category]} fired"
                    state.flagged_by[category] = "rules"
                else:
                    state.verdicts[category] = CategoryVerdict("allowed", "classifier", reason=f"score {score:.3f} < review")

    def _flag_uncovered(self, states: list[_Item]) -> None:
        """Categories the classifier did not score: uncertain if the cascade covers them or a
        rules signal flagged them."""
        for state in states:
            for category in self.routing.categories:
                if category in state.verdicts or category in state.uncertain:
                    continue
                if category in state.signals:
                    state.uncertain[category] = f"matcher {state.signals[category]} fired"
                    state.flagged_by[category] = "rules"
                elif category in self.categories:
                    state.uncertain[category] = "no classifier covers this category"

    def _ask_llm(self, states: list[_Item]) -> None:
        if self.backend is None:
            return
        for category in self.routing.categories:
            waiting = [s for s in states if category in s.uncertain and not self._restricted(s)]
            if not waiting:
                continue
            asked = [s.item if not s.normalized.fired else s.item.model_copy(update={"text": s.normalized.text}) for s in waiting]
            try:
                decisions = self._llm_engine(category).decide(asked)
            except Exception as exc:  # noqa: BLE001 - any LLM failure escalates; it must never allow
                for state in waiting:
                    state.verdicts[category] = self._human(state, category, f"LLM stage failed ({type(exc).__name__}: {exc})")
                continue
            for state, decision in zip(waiting, decisions):
                state.llm[category] = decision
                state.latency_ms += decision.latency_ms or 0.0
                state.verdicts[category] = self._llm_verdict(state, category, decision)

    def _restricted(self, state: _Item) -> bool:
        return any(v.label == "violating" for v in state.verdicts.values())

    def _llm_verdict(self, state: _Item, category: str, decision: Decision) -> CategoryVerdict:
        label = decision.labels.get(category, "needs_review")
        detail = decision.extra.get("llm", {}).get("categories", {}).get(category, {})
        if label == "allowed":
            return CategoryVerdict("allowed", "llm", reason=f"LLM: allowed (confidence {detail.get('confidence')})")
        if label == "violating":
            held = [r for r in decision.rule_ids if r in self.matcher.human_only.get(category, set())]
            if held:
                return CategoryVerdict(
                    "needs_review", "human", queue=self.routing.categories[category].queue, rule_ids=list(decision.rule_ids),
                    detected_by="llm",
                    reason=f"LLM proposes {decision.action} under {', '.join(held)}, which only a human may enforce",
                )
            return CategoryVerdict("violating", "llm", action=decision.action, rule_ids=list(decision.rule_ids),
                                   reason=f"LLM: outcome {detail.get('outcome')}")  # fmt: skip
        queue = decision.escalation_queue or self.routing.categories[category].queue
        if "outcome" in detail:  # a verdict: the tree escalates it, or its confidence is too low
            return CategoryVerdict("needs_review", "human", queue=queue, detected_by="llm",
                                   reason=f"LLM: {detail.get('reason') or 'the tree sends it to review'}")  # fmt: skip
        return CategoryVerdict("needs_review", "human", queue=queue, detected_by=state.flagged_by.get(category),
                               reason=f"LLM failed: {detail.get('reason', 'no verdict')}")  # fmt: skip

    def _human(self, state: _Item, category: str, reason: str) -> CategoryVerdict:
        return CategoryVerdict("needs_review", "human", queue=self.routing.categories[category].queue,
                               detected_by=state.flagged_by.get(category), reason=reason)  # fmt: skip

    def _send_rest_to_humans(self, states: list[_Item]) -> None:
        for state in states:
            for category, why in state.uncertain.items():
                if category in state.verdicts:
                    continue
                if self.backend is None:
                    reason = f"uncertain ({why}); no LLM configured"
                else:
                    reason = f"uncertain ({why}); not sent to the LLM because another category already restricts the item"
                state.verdicts[category] = self._human(state, category, reason)

    # ------------------------------------------------------------------ the decision

    def _decided_by(self, state: _Item, winner: str | None) -> str:
        if winner is not None:
            return state.verdicts[winner].stage
        stages = {v.stage for v in state.verdicts.values()}
        return next((s for s in ("llm", "classifier") if s in stages), "rules")

    def _decision(self, state: _Item) -> Decision:
        combined = combine(state.verdicts, self.routing)
        decided_by = self._decided_by(state, combined.category)
        order = [c for c in self.routing.categories if c in state.verdicts]
        violating = [c for c in order if state.verdicts[c].label == "violating"]
        rule_ids = list(dict.fromkeys(r for c in violating for r in state.verdicts[c].rule_ids))
        scores = dict(state.scores)
        for category, decision in state.llm.items():
            if category not in scores and category in decision.scores:
                scores[category] = decision.scores[category]
        extra: dict[str, Any] = {"decided_by": decided_by}
        if decided_by == "human" and combined.category is not None:
            detector = state.verdicts[combined.category].detected_by
            if detector:
                extra["detected_by"] = detector
        extra["stages"] = self._stages(state, combined.queue)
        extra["categories"] = {c: state.verdicts[c].as_dict() for c in order}
        if state.normalized.fired:
            extra["evasion"] = state.normalized.fired
        llm = list(state.llm.values())
        tokens_in = sum(d.tokens_in or 0 for d in llm)
        tokens_out = sum(d.tokens_out or 0 for d in llm)
        return self.stamped(
            state.item.id,
            scores=scores,
            labels={c: state.verdicts[c].label for c in order},
            rule_ids=rule_ids,
            action=combined.action,
            escalation_queue=combined.queue,
            tree_path=[p for d in llm for p in d.tree_path],
            rationale=" | ".join(f"{c}: {state.verdicts[c].reason}" for c in order if state.verdicts[c].reason) or None,
            model_version=self._model_version(decided_by),
            latency_ms=state.latency_ms,
            cost_usd=sum(d.cost_usd or 0.0 for d in llm) if self.backend is not None else None,
            tokens_in=tokens_in if self.backend is not None else None,
            tokens_out=tokens_out if self.backend is not None else None,
            extra=extra,
        )

    def _model_version(self, decided_by: str) -> str | None:
        if decided_by == "classifier" and self.model is not None:
            return self.model.card.model_id
        if decided_by == "llm" and self.backend is not None:
            return self.backend.model
        return None

    def _stages(self, state: _Item, queue: str | None) -> dict[str, Any]:
        stages: dict[str, Any] = {
            "normalize": {"fired": list(state.normalized.fired)},
            "rules": {"hits": [h.as_dict() for h in state.hits]},
        }
        if self.model is not None:
            stages["classifier"] = {"model": self.model.card.model_id, "scores": dict(state.scores),
                                    "labels": dict(state.classifier_labels)}  # fmt: skip
        if state.llm:
            stages["llm"] = {
                "model": self.backend.model if self.backend else None,
                "mode": self.llm_mode,
                "asked": list(state.llm),
                "labels": {c: d.labels.get(c) for c, d in state.llm.items()},
                "calls": sum(d.extra.get("llm", {}).get("calls", 0) for d in state.llm.values()),
                "categories": {c: d.extra.get("llm", {}).get("categories", {}).get(c) for c, d in state.llm.items()},
            }
        review = {c: v.reason for c, v in state.verdicts.items() if v.label == "needs_review"}
        if review:
            stages["human"] = {"queue": queue, "categories": review}
        return stages

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(
            stages=self.name.removeprefix("cascade:").split("+"),
            categories=self.categories,
            model_id=self.model.card.model_id if self.model else None,
            policy_mismatch=self.policy_mismatch,
            llm={"backend": self.backend.name, "model": self.backend.model, "mode": self.llm_mode, **self.llm_options}
            if self.backend
            else None,
            thresholds=self.routing.thresholds(),
        )
        return info


def build_cascade(
    bundle: LoadedBundle,
    model: TrainedClassifier | None,
    llm_backend: Backend | None,
    *,
    llm_mode: str = "single",
    **options: Any,
) -> CascadeEngine:
    """The cascade for a verified bundle, a trained classifier and an LLM backend (either may
    be None). Options: categories, thresholds, allow_policy_mismatch, name, and the LLM
    engine's options (samples, max_tokens, temperature, seed, logprobs, review_below,
    concurrency, price_in_per_1k, price_out_per_1k) given directly."""
    unknown = set(options) - OPTIONS - LLM_OPTIONS - {"llm_options"}
    if unknown:
        known = ", ".join(sorted((OPTIONS | LLM_OPTIONS) - {"llm_options"}))
        raise CharterError(f"unknown cascade option(s) {', '.join(sorted(unknown))}; known: {known}")
    llm_options = {k: options.pop(k) for k in list(options) if k in LLM_OPTIONS}
    llm_options.update(options.pop("llm_options", None) or {})
    return CascadeEngine(bundle, model, llm_backend, llm_mode=llm_mode, llm_options=llm_options, **options)
