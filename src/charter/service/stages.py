"""What settled a run of cascade decisions, in numbers and in words: the share each stage
decided (and, for human review, each queue), and a one-line account of one decision (the
rule that acted, or the score against the threshold it crossed, or the queue it waits in),
so a person can check a decision against the policy without reading its JSON."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from charter.engines.routing import Routing
from charter.records import Decision
from charter.service.log import decided_by

STAGES = ("rules", "classifier", "llm", "human")
ALLOW = "allow"


@dataclass(frozen=True)
class StageCounts:
    """How many decisions each stage settled, each human queue received (None: no queue
    named), each action took."""

    total: int
    stages: Counter[str] = field(default_factory=Counter)
    queues: Counter[str | None] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)

    def share(self, count: int) -> float:
        return count / self.total if self.total else 0.0


def count_stages(decisions: Sequence[Decision]) -> StageCounts:
    stages = Counter(decided_by(d) for d in decisions)
    queues = Counter(d.escalation_queue for d in decisions if decided_by(d) == "human")
    return StageCounts(len(decisions), stages, queues, Counter(d.action for d in decisions))


@dataclass(frozen=True)
class Account:
    """Why a decision came out as it did: the stage, the category that set the action (None
    for an allowed item), and one line naming the rule, the score and threshold, or the queue."""

    stage: str
    category: str | None
    why: str


def _cuts(routing: Routing, category: str, market: str | None) -> tuple[float, float]:
    """(auto_action, review) thresholds for `category` in `market` (the base ones elsewhere)."""
    route = routing.categories[category]
    return routing.markets.get(market or "", {}).get(category, (route.auto_action, route.review))


def _matcher(decision: Decision, category: str) -> dict[str, Any] | None:
    hits = decision.extra.get("stages", {}).get("rules", {}).get("hits", [])
    return next((h for h in hits if h.get("category") == category and h.get("acts_alone")), None)


def _evidence(hit: dict[str, Any] | None) -> str:
    if not hit or not hit.get("evidence"):
        return ""
    text = " ".join(str(hit["evidence"]).split())
    return f' on "{text[:60]}{"…" if len(text) > 60 else ""}"'


def _distinct(score: float, threshold: float) -> tuple[str, str]:
    """Both numbers to 3 decimals, or to as many more as it takes to tell them apart."""
    for digits in range(3, 10):
        pair = f"{score:.{digits}f}", f"{threshold:.{digits}f}"
        if pair[0] != pair[1]:
            return pair
    return pair


def explain(decision: Decision, routing: Routing, market: str | None = None) -> Account:
    """One decision's account (see `Account`), from its `extra["categories"]` verdicts."""
    stage = decided_by(decision)
    verdicts: dict[str, dict[str, Any]] = decision.extra.get("categories", {})
    scores = decision.scores
    if decision.action == ALLOW:
        scored = [c for c in verdicts if c in scores and c in routing.categories]
        if not scored:
            return Account(stage, None, f"{stage}: nothing flagged")
        top = max(scored, key=lambda c: scores[c] - _cuts(routing, c, market)[1])
        score, cut = _distinct(scores[top], _cuts(routing, top, market)[1])
        return Account(stage, None, f"{stage}: every score below its review threshold; closest: {top} {score} < {cut}")
    if stage == "human":
        category = next((c for c, v in verdicts.items() if v.get("label") == "needs_review"
                         and v.get("queue") == decision.escalation_queue), None)  # fmt: skip
        if category is None:
            return Account(stage, None, f"human review in {decision.escalation_queue}")
        verdict = verdicts[category]
        flagged = f"flagged by {verdict['detected_by']}; " if verdict.get("detected_by") else ""
        if verdict.get("detected_by") == "classifier" and category in scores and category in routing.categories:
            auto, review = _cuts(routing, category, market)
            why = f"{category} score {scores[category]:.3f} in the review band [{review:.3f}, {auto:.3f})"
        else:
            why = f"{category}: {verdict.get('reason', 'needs review')}"
        return Account(stage, category, f"human review in {decision.escalation_queue} ({flagged}{why})")
    category = next((c for c, v in verdicts.items() if v.get("label") == "violating" and v.get("stage") == stage
                     and v.get("action") == decision.action), None)  # fmt: skip
    if category is None:
        return Account(stage, None, f"{stage}: {decision.action}")
    verdict = verdicts[category]
    if stage == "rules":
        hit = _matcher(decision, category)
        rules = ", ".join(verdict.get("rule_ids", [])) or "a rule"
        return Account(stage, category, f"rules: {rules} (matcher {hit['matcher'] if hit else '?'}{_evidence(hit)}) "
                                        f"→ {decision.action}")  # fmt: skip
    if stage == "classifier" and category in scores:
        auto, _ = _cuts(routing, category, market)
        return Account(stage, category, f"classifier: {category} score {scores[category]:.3f} ≥ auto_action "
                                        f"{auto:.3f} → {decision.action}")  # fmt: skip
    return Account(stage, category, f"{stage}: {category}: {verdict.get('reason', 'violating')} → {decision.action}")


def pick_examples(decisions: Sequence[Decision], n: int = 5, *, seed: int = 0) -> list[Decision]:
    """Up to `n` decisions that show each stage at work, drawn in a seeded order: one the rules
    settled, one the classifier actioned, one the LLM settled, one for the busiest human queue,
    one allowed, then one for each further human queue."""
    order = np.random.default_rng(seed).permutation(len(decisions))
    shuffled = [decisions[i] for i in order]

    def first(stage: str, *, allowed: bool = False, queue: str | None = None) -> Decision | None:
        return next((d for d in shuffled if decided_by(d) == stage and (d.action == ALLOW) == allowed
                     and (stage != "human" or d.escalation_queue == queue)), None)  # fmt: skip

    queues = [q for q, _ in count_stages(decisions).queues.most_common()]
    wanted = [first("rules"), first("classifier"), first("llm")]
    wanted += [first("human", queue=q) for q in queues[:1]]
    wanted += [first("classifier", allowed=True) or first("llm", allowed=True) or first("rules", allowed=True)]
    wanted += [first("human", queue=q) for q in queues[1:]]
    return [d for d in wanted if d is not None][:n]


@dataclass(frozen=True)
class GoldRouting:
    """Where one category's gold-labelled items went: of the violating ones, how many were
    actioned automatically, sent to human review, or let through; of the allowed ones, how many
    were actioned anyway or sent to review. This is what a cascade's review band buys (the
    violations a reviewer still gets to see) and what it costs (allowed items in the queue)."""

    category: str
    violating: Counter[str]
    allowed: Counter[str]


def route_of(decision: Decision, category: str) -> str:
    """`actioned`, `review` or `allowed`: the category's own verdict in `decision`."""
    label = decision.extra.get("categories", {}).get(category, {}).get("label")
    return {"violating": "actioned", "needs_review": "review"}.get(label, "allowed")


def gold_routing(decisions: Sequence[Decision], labels: Sequence[Decision], categories: Sequence[str]) -> list[GoldRouting]:
    """`GoldRouting` per category, over the items whose gold label for it is violating or allowed."""
    gold = {label.item_id: label.labels for label in labels}
    out = []
    for category in categories:
        counts: dict[str, Counter[str]] = {"violating": Counter(), "allowed": Counter()}
        for decision in decisions:
            verdict = gold.get(decision.item_id, {}).get(category)
            if verdict in counts:
                counts[verdict][route_of(decision, category)] += 1
        out.append(GoldRouting(category, counts["violating"], counts["allowed"]))
    return out
