"""Tune a bundle's classifier thresholds from scored decisions with gold labels, and write
them back into the bundle with provenance, so a threshold always says where it came from.

Two ways to choose: precision/recall targets per action tier (`tune_bundle`), or the least
expected cost of wrong removals, missed violations and human reviews (`tune_bundle_for_cost`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from charter.compile import Bundle, load_bundle, update_thresholds
from charter.errors import CharterError
import numpy as np
import pandas as pd

from charter.evaluate import CostThresholds, TierTargets, TierThresholds, threshold_for_cost, tune_thresholds
from charter.evaluate.joined import join_decisions
from charter.records import ContentItem, Decision, Label


@dataclass
class TuningResult:
    category: str
    tiers: TierThresholds
    applied: bool
    previous: dict[str, float]
    reason: str | None = None


@dataclass
class CostTuningResult:
    category: str
    costs: CostThresholds | None
    applied: bool
    previous: dict[str, float]
    reason: str | None = None


def _scored(bundle_dir: Path, decisions: Sequence[Decision], items: Sequence[ContentItem], labels: Sequence[Label]
            ) -> tuple[Bundle, pd.DataFrame, list[str]]:
    """The bundle, the joined frame and the categories with scores, for decisions made under this bundle's policy."""
    bundle = load_bundle(bundle_dir)
    stamps = {d.policy_hash for d in decisions}
    if stamps != {bundle.identity.hash}:
        raise CharterError(
            f"the decisions were made under policy hash(es) {', '.join(sorted(h[:12] for h in stamps))}, "
            f"the bundle is {bundle.identity.hash[:12]}: thresholds tuned under other rules do not carry over"
        )
    joined = join_decisions(decisions, items, labels)
    frame = joined.frame
    scored = [c for c in joined.categories if f"score:{c}" in frame and frame[f"score:{c}"].notna().all()]
    if not scored:
        raise CharterError("threshold tuning needs scores, and these decisions carry none for the gold categories")
    return bundle, frame, scored


def _current(bundle: Bundle, category: str, market: str | None) -> dict[str, float]:
    if market:
        markets = bundle.classifier["markets"]
        if market not in markets:
            raise CharterError(f"bundle has no market {market!r} (markets: {', '.join(markets) or 'none'})")
        return dict(markets[market]["categories"][category]["thresholds"])
    return dict(bundle.classifier["categories"][category]["thresholds"])


def tune_bundle_for_cost(
    bundle_dir: Path,
    decisions: Sequence[Decision],
    items: Sequence[ContentItem],
    labels: Sequence[Label],
    *,
    cost_fp: float,
    cost_fn: float,
    cost_review: float,
    source: dict[str, str],
    apply: bool = True,
    market: str | None = None,
) -> list[CostTuningResult]:
    """Per category: the auto-action and review thresholds of least expected cost, written with provenance.

    Costs are per item: a wrongful automatic action (`cost_fp`), a violation neither actioned
    nor reviewed (`cost_fn`), a human review (`cost_review`). A category whose gold labels hold
    one class, or whose cheapest choice is to never act automatically while some score is 1.0
    (no threshold in [0, 1] says "never"), keeps its thresholds and says why.
    """
    bundle, frame, scored = _scored(bundle_dir, decisions, items, labels)
    results = []
    for category in scored:
        previous = _current(bundle, category, market)
        gold = frame[f"gold:{category}"].to_numpy(dtype=float)
        known = ~np.isnan(gold)
        if not known.any() or gold[known].min() == gold[known].max():
            results.append(CostTuningResult(category, None, False, previous, "the gold labels hold only one class"))
            continue
        costs = threshold_for_cost(
            gold, frame[f"score:{category}"].to_numpy(dtype=float), cost_fp=cost_fp, cost_fn=cost_fn, cost_review=cost_review
        )
        result = CostTuningResult(category, costs, applied=False, previous=previous)
        if costs.review_threshold is None or costs.auto_action_threshold > 1.0 or costs.review_threshold > 1.0:
            result.reason = "cheapest is to never act (or never review) here, which no threshold in [0, 1] can say"
        elif apply:
            provenance = {
                "source": "tuned_for_cost",
                **source,
                "date": dt.date.today().isoformat(),
                "policy_hash": bundle.identity.hash,
                "costs": {"false_positive": cost_fp, "false_negative": cost_fn, "review": cost_review},
                "n": int(known.sum()),
                "expected_cost_per_item": costs.cost_per_item,
                "auto_action": {"precision": costs.precision},
                "review": {"recall": costs.recall},
            }
            update_thresholds(
                bundle_dir,
                category,
                {"auto_action": costs.auto_action_threshold, "review": costs.review_threshold},
                provenance,
                market=market,
            )
            result.applied = True
        results.append(result)
    return results


def tune_bundle(
    bundle_dir: Path,
    decisions: Sequence[Decision],
    items: Sequence[ContentItem],
    labels: Sequence[Label],
    *,
    targets: TierTargets,
    source: dict[str, str],
    apply: bool = True,
    market: str | None = None,
) -> list[TuningResult]:
    """Per category: thresholds that meet `targets`; written into the bundle when attainable.

    A category whose targets cannot be met keeps its thresholds (and the result says why):
    an unattainable precision target must not silently become a looser threshold.
    """
    bundle, frame, scored = _scored(bundle_dir, decisions, items, labels)
    gold = {c: frame[f"gold:{c}"].to_numpy(dtype=float) for c in scored}
    scores = {c: frame[f"score:{c}"].to_numpy(dtype=float) for c in scored}
    tiers = tune_thresholds(gold, scores, targets, categories=scored)
    results = []
    for category, tier in tiers.items():
        ok = tier.auto_action.attainable and tier.review.attainable
        result = TuningResult(category, tier, applied=False, previous=_current(bundle, category, market),
                              reason=None if ok else tier.message)
        if ok and apply:
            provenance = {
                "source": "tuned",
                **source,
                "date": dt.date.today().isoformat(),
                "policy_hash": bundle.identity.hash,
                "targets": targets.model_dump(),
                "n": int((~frame[f"gold:{category}"].isna()).sum()),
                "auto_action": {"precision": tier.auto_action.precision, "recall": tier.auto_action.recall},
                "review": {"precision": tier.review.precision, "recall": tier.review.recall},
            }
            update_thresholds(
                bundle_dir,
                category,
                {"auto_action": tier.auto_action.threshold, "review": tier.review.threshold},
                provenance,
                market=market,
            )
            result.applied = True
        results.append(result)
    return results
