"""Choose score cut-offs: best recall at a precision target, best precision at a recall target,
least expected cost, and the auto-action / review tier pair a policy's thresholds need.

Every search runs over all distinct scores at once (one sort, cumulative sums); "flag" means
score >= threshold. With `use_lower_bound` the precision constraint is applied to the Wilson
lower bound (Kish-weighted), so a target is only met where the data show it with confidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from charter.errors import CharterError
from charter.evaluate.inputs import BinaryData, Weights, category_arrays, prepare_binary
from charter.evaluate.intervals import wilson_bounds
from charter.evaluate.models import Confusion, CostThresholds, ThresholdChoice, TierThresholds
from charter.evaluate.ranking import Ranked, rank
from charter.policy.spec import Thresholds


class TierTargets(BaseModel):
    """Targets for the two tiers: auto-action needs high precision; review a lower precision or a recall."""

    model_config = ConfigDict(extra="forbid")

    auto_action_precision: float = Field(default=0.95, gt=0.0, le=1.0)
    review_precision: float | None = Field(default=0.6, gt=0.0, le=1.0)
    review_recall: float | None = Field(default=None, gt=0.0, le=1.0)
    use_lower_bound: bool = False
    confidence: float = Field(default=0.95, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _one_review_target(self) -> TierTargets:
        if (self.review_precision is None) == (self.review_recall is None):
            raise ValueError("set exactly one of review_precision and review_recall")
        return self


class _Curve:
    """Cumulative counts for flagging every distinct score down to each threshold."""

    def __init__(self, data: BinaryData):
        if data.score is None:
            raise CharterError("threshold tuning needs scores: pass y_score (scores in [0, 1])")
        self.ranked: Ranked = rank(data.y, data.score, data.weight)
        self.tps = np.cumsum(self.ranked.tp)
        self.fps = np.cumsum(self.ranked.fp)
        self.w2 = np.cumsum(self.ranked.w2)
        self.positives = float(self.tps[-1])
        self.negatives = float(self.fps[-1])
        flagged = self.tps + self.fps
        with np.errstate(divide="ignore", invalid="ignore"):
            self.precision = np.where(flagged > 0, self.tps / np.where(flagged > 0, flagged, 1.0), np.nan)
            self.recall = self.tps / self.positives if self.positives > 0 else np.full(len(flagged), np.nan)

    def precision_low(self, confidence: float) -> np.ndarray:
        low, _, _ = wilson_bounds(self.tps, self.tps + self.fps, self.w2, confidence)
        return np.where(self.tps + self.fps > 0, low, np.nan)

    def choice(self, k: int, **fields: Any) -> ThresholdChoice:
        """The result of flagging down to distinct score k."""
        tp, fp = float(self.tps[k]), float(self.fps[k])
        return ThresholdChoice(
            threshold=float(self.ranked.thresholds[k]),
            precision=_maybe(self.precision[k]),
            recall=_maybe(self.recall[k]),
            fpr=fp / self.negatives if self.negatives > 0 else None,
            flagged=tp + fp,
            confusion=Confusion(tp=tp, fp=fp, fn=self.positives - tp, tn=self.negatives - fp),
            **fields,
        )


def _maybe(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _prepare(y_true: Any, y_score: Any, sample_weight: Any, known: Any, context: str = "",
             weights: Weights | None = None) -> _Curve:
    data = prepare_binary(y_true, None, y_score, sample_weight=sample_weight, known=known, context=context,
                          prepared_weights=weights)
    if data.n == 0:
        raise CharterError(f"{context + ': ' if context else ''}no items with a known gold label to tune on")
    return _Curve(data)


def _check_target(target: float, name: str) -> None:
    if not 0.0 < target <= 1.0:
        raise CharterError(f"{name} must be in (0, 1], got {target}")


def threshold_for_precision(
    y_true: Any,
    y_score: Any,
    target: float,
    *,
    sample_weight: Any = None,
    known: Any = None,
    use_lower_bound: bool = False,
    confidence: float = 0.95,
) -> ThresholdChoice:
    """The threshold with the highest recall whose precision (or its Wilson lower bound) >= target."""
    _check_target(target, "precision target")
    return _for_precision(_prepare(y_true, y_score, sample_weight, known), target, use_lower_bound, confidence)


def _for_precision(curve: _Curve, target: float, use_lower_bound: bool, confidence: float) -> ThresholdChoice:
    base = dict(objective="max_recall_at_precision", target=target, use_lower_bound=use_lower_bound)
    if curve.positives <= 0:
        return ThresholdChoice(**base, attainable=False, threshold=None, message="no positives in y_true")
    low = curve.precision_low(confidence)
    measured = low if use_lower_bound else curve.precision
    feasible = np.flatnonzero(np.nan_to_num(measured, nan=-1.0) >= target - 1e-12)
    label = "precision lower bound" if use_lower_bound else "precision"
    if len(feasible) == 0:
        best = int(np.nanargmax(measured))
        return curve.choice(
            best, **base, attainable=False, precision_low=_maybe(low[best]),
            message=f"no threshold reaches {label} {target:g}; the best is {measured[best]:.4g} "
            f"at threshold {curve.ranked.thresholds[best]:.6g}",
        )
    best_tp = curve.tps[feasible].max()
    k = int(feasible[np.argmax(curve.tps[feasible] >= best_tp)])
    return curve.choice(k, **base, attainable=True, precision_low=_maybe(low[k]))


def threshold_for_recall(
    y_true: Any,
    y_score: Any,
    target: float,
    *,
    sample_weight: Any = None,
    known: Any = None,
    confidence: float = 0.95,
) -> ThresholdChoice:
    """The threshold with the highest precision whose recall >= target."""
    _check_target(target, "recall target")
    return _for_recall(_prepare(y_true, y_score, sample_weight, known), target, confidence)


def _for_recall(curve: _Curve, target: float, confidence: float) -> ThresholdChoice:
    base = dict(objective="max_precision_at_recall", target=target)
    if curve.positives <= 0:
        return ThresholdChoice(**base, attainable=False, threshold=None, message="no positives in y_true")
    feasible = np.flatnonzero(curve.recall >= target - 1e-12)
    precision = curve.precision[feasible]
    k = int(feasible[np.argmax(precision >= np.nanmax(precision))])
    return curve.choice(k, **base, attainable=True, precision_low=_maybe(curve.precision_low(confidence)[k]))


def threshold_for_cost(
    y_true: Any,
    y_score: Any,
    *,
    cost_fp: float,
    cost_fn: float,
    cost_review: float | None = None,
    sample_weight: Any = None,
    known: Any = None,
) -> CostThresholds:
    """Thresholds minimising expected cost = cost_fp*FP + cost_fn*FN (+ cost_review per reviewed item).

    Without a review cost there is one cut-off. With one, items between the review and the
    auto-action threshold go to human review (assumed correct, at cost_review each) and only
    violations below the review threshold are missed; both cut-offs are optimised jointly.
    """
    for name, value in (("cost_fp", cost_fp), ("cost_fn", cost_fn), ("cost_review", cost_review)):
        if value is not None and not (np.isfinite(value) and value >= 0):
            raise CharterError(f"{name} must be a finite number >= 0, got {value}")
    curve = _prepare(y_true, y_score, sample_weight, known)
    # index 0 = flag nothing; index k = flag the k highest distinct scores
    tps = np.concatenate([[0.0], curve.tps])
    fps = np.concatenate([[0.0], curve.fps])
    flagged = tps + fps
    if cost_review is None:
        cost = cost_fp * fps + cost_fn * (curve.positives - tps)
        a = r = int(np.argmin(cost))
    else:
        auto_part = cost_fp * fps - cost_review * flagged
        review_part = cost_review * flagged + cost_fn * (curve.positives - tps)
        # for each auto index a, the best review index r >= a (a lower or equal threshold)
        suffix_min = np.minimum.accumulate(review_part[::-1])[::-1]
        a = int(np.argmin(auto_part + suffix_min))
        r = a + int(np.argmin(review_part[a:]))
    expected = cost_fp * fps[a] + cost_fn * (curve.positives - tps[r])
    if cost_review is not None:
        expected += cost_review * (flagged[r] - flagged[a])
    total_weight = curve.positives + curve.negatives
    return CostThresholds(
        cost_fp=cost_fp,
        cost_fn=cost_fn,
        cost_review=cost_review,
        auto_action_threshold=_cut(curve, a),
        review_threshold=None if cost_review is None else _cut(curve, r),
        expected_cost=float(expected),
        cost_per_item=float(expected / total_weight) if total_weight > 0 else 0.0,
        auto_actioned=float(flagged[a]),
        reviewed=float(flagged[r] - flagged[a]),
        false_positives=float(fps[a]),
        false_negatives=float(curve.positives - tps[r]),
        precision=float(tps[a] / flagged[a]) if flagged[a] > 0 else None,
        recall=float(tps[r] / curve.positives) if curve.positives > 0 else None,
    )


def _cut(curve: _Curve, index: int) -> float:
    """Threshold that flags exactly the `index` highest distinct scores (0 = just above the top score)."""
    if index == 0:
        return float(np.nextafter(curve.ranked.thresholds[0], np.inf))
    return float(curve.ranked.thresholds[index - 1])


def tier_thresholds(
    y_true: Any,
    y_score: Any,
    targets: TierTargets | None = None,
    *,
    sample_weight: Any = None,
    known: Any = None,
) -> TierThresholds:
    """Auto-action and review thresholds for one category (review never above auto-action)."""
    return _tiers(_prepare(y_true, y_score, sample_weight, known), targets or TierTargets())


def _tiers(curve: _Curve, targets: TierTargets) -> TierThresholds:
    auto = _for_precision(curve, targets.auto_action_precision, targets.use_lower_bound, targets.confidence)
    if targets.review_precision is not None:
        review = _for_precision(curve, targets.review_precision, targets.use_lower_bound, targets.confidence)
    else:
        review = _for_recall(curve, targets.review_recall, targets.confidence)  # type: ignore[arg-type]
    messages = []
    if curve.positives <= 0:
        messages.append("no violating items in the gold labels to tune on")
    elif curve.negatives <= 0:
        messages.append("no allowed items in the gold labels: any threshold looks perfect, so none is chosen")
        auto = auto.model_copy(update={"attainable": False, "message": messages[-1]})
        review = review.model_copy(update={"attainable": False, "message": messages[-1]})
    else:
        if not auto.attainable:
            messages.append("auto_action target not attainable: no automatic action is supported by the data")
        if not review.attainable:
            messages.append("review target not attainable")
    if auto.attainable and review.attainable and review.threshold > auto.threshold:  # type: ignore[operator]
        messages.append("the auto_action tier already meets the review target; the review band is empty")
        review = review.model_copy(update={"threshold": auto.threshold, "precision": auto.precision,
                                           "recall": auto.recall, "fpr": auto.fpr, "flagged": auto.flagged,
                                           "confusion": auto.confusion, "precision_low": auto.precision_low})
    auto_flagged = auto.flagged if auto.attainable else 0.0
    band = max(0.0, review.flagged - auto_flagged) if review.attainable else 0.0
    return TierThresholds(auto_action=auto, review=review, review_band=band, message="; ".join(messages) or None)


def policy_thresholds(tiers: TierThresholds) -> Thresholds:
    """The policy spec's `thresholds` block for a category; only when both targets are attainable."""
    if not (tiers.auto_action.attainable and tiers.review.attainable):
        raise CharterError(f"cannot set policy thresholds: {tiers.message}")
    return Thresholds(auto_action=tiers.auto_action.threshold, review=tiers.review.threshold)


def tune_thresholds(
    y_true: Any,
    y_score: Any,
    targets: TierTargets | Mapping[str, TierTargets] | None = None,
    *,
    categories: Sequence[str] | None = None,
    sample_weight: Any = None,
) -> dict[str, TierThresholds]:
    """Tier thresholds for every category (multi-category input as in `evaluate_categories`).

    `targets` is one TierTargets for all categories or a mapping category -> TierTargets
    (categories it does not name use the defaults).
    """
    gold = category_arrays(y_true, "y_true", categories)
    if not gold:
        raise CharterError("no categories to tune: y_true is empty")
    two_d = not isinstance(y_score, Mapping) and not hasattr(y_score, "columns")
    scores = category_arrays(y_score, "y_score", list(gold) if two_d else None)
    missing = [c for c in gold if c not in scores]
    if missing:
        raise CharterError(f"y_score has no scores for categories {missing}")
    n = len(np.asarray(next(iter(gold.values()))))
    weights = Weights.build(sample_weight, n)
    out = {}
    for name in gold:
        if isinstance(targets, Mapping):
            target = targets.get(name) or TierTargets()
        else:
            target = targets or TierTargets()
        curve = _prepare(gold[name], scores[name], None, None, context=f"category {name!r}", weights=weights)
        out[name] = _tiers(curve, target)
    return out
