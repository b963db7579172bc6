"""LLMEngine: the chain-of-thought pathway. Asks a model about each item, one category at a
time, in single-shot or tree-walk mode (optionally with few-shot examples chosen per item, and
several samples, majority-voted), and turns the validated verdicts into one Decision per item.
A category whose reply cannot be validated after one repair, whose backend fails, or whose
question fails in any other way is escalated to its review queue with the reason and raw
replies kept: never allowed, and never lost from the batch."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any, Literal

from charter.compile import LoadedBundle
from charter.engines.base import Engine
from charter.engines.llm.backend import Backend
from charter.engines.llm.cache import CachedBackend
from charter.engines.llm.exchange import ExchangeFailed, Sampling, Usage
from charter.engines.llm.fewshot import FewShotSelector, Shot
from charter.engines.llm.modes import CategoryPrompts, CategoryResult, single_shot, tree_walk, vote
from charter.engines.routing import Routing
from charter.errors import CharterError
from charter.records import ContentItem, Decision

Mode = Literal["single", "tree"]
MODES = {"single": single_shot, "tree": tree_walk}
REVIEW_SCORE = 0.5


class LLMEngine(Engine):
    """Moderates items with `backend` under the policy of `bundle`.

    `samples` > 1 turns on self-consistency (sampled at `temperature`, seeds seed..seed+n-1).
    A verdict whose confidence is below `review_below` goes to human review, as the prompts
    promise the model. `few_shot` adds the labelled examples nearest to each item to its
    prompts. `price_in_per_1k` / `price_out_per_1k` price non-cached tokens in USD. A
    `CachedBackend` is scoped to the bundle's policy hash.
    """

    pathway = "llm"

    def __init__(
        self,
        backend: Backend,
        bundle: LoadedBundle,
        mode: Mode = "single",
        categories: Sequence[str] | None = None,
        samples: int = 1,
        *,
        temperature: float | None = None,
        max_tokens: int = 512,
        seed: int = 0,
        logprobs: bool = False,
        review_below: float = 0.5,
        concurrency: int = 4,
        price_in_per_1k: float = 0.0,
        price_out_per_1k: float = 0.0,
        few_shot: FewShotSelector | None = None,
    ):
        if mode not in MODES:
            raise CharterError(f"unknown LLM mode {mode!r}: choose single or tree")
        if samples < 1:
            raise CharterError(f"samples must be at least 1, got {samples}")
        policy = bundle.policy
        chosen = list(categories) if categories else policy.category_ids()
        unknown = [c for c in chosen if policy.category(c) is None]
        if unknown:
            raise CharterError(f"unknown categories {', '.join(unknown)} (the bundle has {', '.join(policy.category_ids())})")
        self.routing = Routing.from_bundle(bundle)
        if self.routing.escalate_action is None:
            raise CharterError(
                f"policy {policy.id} has no action of kind escalate: the LLM pathway needs one to send "
                "verdicts it cannot trust to human review"
            )
        self.bundle = bundle
        self.backend = backend.scoped(bundle.identity.hash) if isinstance(backend, CachedBackend) else backend
        self.few_shot = few_shot
        self.mode = mode
        self.samples = samples
        self.identity = bundle.identity
        self.name = f"llm-{mode}" + (f"-sc{samples}" if samples > 1 else "")
        self.categories = [c for c in policy.category_ids() if c in chosen]
        self.prompts = {c: CategoryPrompts.from_bundle(bundle, c) for c in self.categories}
        self.sampling = Sampling(
            temperature=temperature if temperature is not None else (0.7 if samples > 1 else 0.0),
            max_tokens=max_tokens,
            seed=seed,
            logprobs=logprobs,
        )
        self.review_below = review_below
        self.concurrency = max(1, concurrency)
        self.prices = (price_in_per_1k, price_out_per_1k)

    # ------------------------------------------------------------------ asking

    def _ask(self, item: ContentItem, category: str, shots: list[Shot]) -> CategoryResult:
        ask = MODES[self.mode]
        if self.samples == 1:
            return ask(self.backend, self.prompts[category], item, self.sampling, shots)
        runs = []
        for i in range(self.samples):
            sampling = Sampling(**{**asdict(self.sampling), "seed": self.sampling.seed + i})  # type: ignore[operator]
            runs.append(ask(self.backend, self.prompts[category], item, sampling, shots))
        return vote(runs)

    def _category(self, item: ContentItem, category: str, shots: list[Shot]) -> tuple[CategoryResult, float, float]:
        """The result with the task's start and end time; any failure becomes an escalation."""
        started = time.perf_counter()
        try:
            result = self._ask(item, category, shots)
        except Exception as exc:  # a bug or an unforeseen error must not drop the batch or allow
            result = CategoryResult(failure=ExchangeFailed(f"unexpected error: {type(exc).__name__}: {exc}"))
        return result, started, time.perf_counter()

    def decide(self, items: Sequence[ContentItem]) -> list[Decision]:
        items = list(items)
        if not items:
            return []
        shots = self.few_shot.select(items, self.categories) if self.few_shot else [{} for _ in items]
        tasks = [(item, c, shots[i].get(c, [])) for i, item in enumerate(items) for c in self.categories]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            results = list(pool.map(lambda task: self._category(*task), tasks))
        per_item = len(self.categories)
        decisions = []
        for i, item in enumerate(items):
            mine = results[i * per_item:(i + 1) * per_item]
            latency_ms = (max(end for _, _, end in mine) - min(start for _, start, _ in mine)) * 1000.0
            by_category = {c: result for c, (result, _, _) in zip(self.categories, mine)}
            decisions.append(self._decision(item, by_category, shots[i], latency_ms))
        return decisions

    # ------------------------------------------------------------------ deciding

    def _route(self, category: str, result: CategoryResult) -> tuple[str, str, str | None, dict[str, Any]]:
        """(label, action, queue, detail) for one category."""
        spec = self.prompts[category].category
        default_queue = self.bundle.routing["categories"][category]["default_queue"]
        escalate = self.routing.escalate_action
        verdict = result.verdict
        if verdict is None:
            failure = result.failure
            detail = {
                "escalated": True,
                "reason": failure.reason if failure else "no verdict",
                "raw": failure.raw if failure else [],
                "tree_path": [s.node for s in result.partial],
                "steps": [asdict(s) for s in result.partial],
            }
            return "needs_review", escalate, default_queue, detail  # type: ignore[return-value]
        detail: dict[str, Any] = {
            "outcome": verdict.outcome,
            "confidence": verdict.confidence,
            "tree_path": verdict.tree_path,
        }
        if verdict.steps:
            detail["steps"] = [asdict(s) for s in verdict.steps]
        if verdict.market_step:
            detail["market_check"] = asdict(verdict.market_step)
        if result.votes is not None:
            detail["votes"] = result.votes
        if result.probability is not None:
            detail["label_probability"] = result.probability  # the score came from token logprobs
        tree_outcome = spec.tree.outcomes.get(verdict.outcome) if verdict.outcome else None
        label = verdict.label
        if label != "needs_review" and verdict.confidence < self.review_below:
            detail.update(escalated=True, reason=f"low confidence {verdict.confidence:.2f} < {self.review_below}", model_label=label)
            label = "needs_review"
        if label == "allowed":
            return label, "allow", None, detail
        if label == "needs_review":
            queue = tree_outcome.escalate.queue if tree_outcome and tree_outcome.escalate else default_queue
            return label, escalate, queue, detail  # type: ignore[return-value]
        actions = [tree_outcome.action or spec.auto_action] if tree_outcome and tree_outcome.label == "violating" else []
        rule_actions = self.bundle.routing["categories"][category]["rules"]
        actions += [rule_actions[r]["action"] for r in verdict.rule_ids if r in rule_actions]
        action = max(actions or [spec.auto_action], key=lambda a: self.routing.action_strength.get(a, 0))
        return label, action, None, detail

    def _decision(
        self, item: ContentItem, results: dict[str, CategoryResult], shots: dict[str, list[Shot]], latency_ms: float
    ) -> Decision:
        """One Decision; `latency_ms` is the wall time from the item's first question to its last."""
        labels: dict[str, str] = {}
        scores: dict[str, float] = {}
        rule_ids: list[str] = []
        tree_path: list[str] = []
        rationales: list[str] = []
        details: dict[str, Any] = {}
        usage = Usage()
        best_action, best_strength = "allow", -1
        review_queue, review_priority = None, float("inf")
        for category, result in results.items():
            usage.merge(result.usage)
            label, action, queue, detail = self._route(category, result)
            if shots.get(category):
                detail["few_shot"] = [shot.id for shot in shots[category]]
            labels[category] = label
            details[category] = detail
            tree_path += [f"{category}/{node}" for node in detail["tree_path"]]
            verdict = result.verdict
            if verdict is not None:
                p = result.probability if result.probability is not None else verdict.confidence
                scores[category] = p if verdict.label == "violating" else 1.0 - p if verdict.label == "allowed" else REVIEW_SCORE
                rationales.append(f"{category}: {verdict.rationale}")
            else:
                rationales.append(f"{category}: escalated ({detail['reason']})")
            if label == "violating":
                rule_ids += [r for r in verdict.rule_ids if r not in rule_ids]  # type: ignore[union-attr]
                strength = self.routing.action_strength.get(action, 0)
                if strength > best_strength:
                    best_action, best_strength = action, strength
            elif label == "needs_review":
                priority = self.routing.queue_priority.get(queue or "", float("inf"))
                if review_queue is None or priority < review_priority:
                    review_queue, review_priority = queue, priority
        if best_strength >= 0:
            action, queue = best_action, None
        elif any(v == "needs_review" for v in labels.values()):
            action, queue = self.routing.escalate_action, review_queue
        else:
            action, queue = "allow", None
        price_in, price_out = self.prices
        return self.stamped(
            item.id,
            scores=scores,
            labels=labels,
            rule_ids=rule_ids,
            action=action,
            tree_path=tree_path,
            rationale=" | ".join(rationales) or None,
            model_version=self.backend.model,
            latency_ms=latency_ms,
            cost_usd=usage.tokens_in / 1000.0 * price_in + usage.tokens_out / 1000.0 * price_out,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            escalation_queue=queue,
            extra={
                "llm": {
                    "mode": self.mode,
                    "samples": self.samples,
                    "calls": usage.calls,
                    "model_ms": round(usage.latency_ms, 3),
                    "cached_tokens_in": usage.cached_tokens_in,
                    "cached_tokens_out": usage.cached_tokens_out,
                    "categories": details,
                }
            },
        )

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(mode=self.mode, samples=self.samples, backend=self.backend.name, model=self.backend.model,
                    categories=self.categories, few_shot=self.few_shot.k if self.few_shot else 0)
        return info
