"""PR and ROC curve points for plotting: exact curves from one sort, downsampled to a few hundred points."""

from __future__ import annotations

from typing import Any

import numpy as np

from charter.errors import CharterError
from charter.evaluate.inputs import BinaryData, prepare_binary
from charter.evaluate.models import PRCurve, ROCCurve
from charter.evaluate.ranking import Ranked, curve_stats, rank

DEFAULT_POINTS = 200


def _scored(y_true: Any, y_score: Any, sample_weight: Any, known: Any, max_points: int) -> BinaryData:
    if y_score is None:
        raise CharterError("a curve needs scores: pass y_score (scores in [0, 1])")
    if max_points < 2:
        raise CharterError(f"max_points must be >= 2, got {max_points}")
    return prepare_binary(y_true, None, y_score, sample_weight=sample_weight, known=known)


def _pick(n: int, axes: list[np.ndarray], max_points: int) -> np.ndarray:
    """Indices of at most max_points points: both ends, even steps along each axis and along the curve."""
    if n <= max_points:
        return np.arange(n)
    share = max(1, (max_points - 2) // (len(axes) + 1))
    chosen = [np.array([0, n - 1]), np.linspace(0, n - 1, share).round().astype(np.intp)]
    for axis in axes:
        grid = np.linspace(axis[0], axis[-1], share)
        chosen.append(np.minimum(np.searchsorted(axis, grid), n - 1))
    return np.unique(np.concatenate(chosen))[:max_points]


def _ranked_or_none(data: BinaryData) -> Ranked | None:
    return rank(data.y, data.score, data.weight) if data.n else None  # type: ignore[arg-type]


def pr_curve(
    y_true: Any, y_score: Any, *, sample_weight: Any = None, known: Any = None, max_points: int = DEFAULT_POINTS
) -> PRCurve:
    """Precision and recall at each distinct score (flag when score >= threshold), highest threshold first."""
    data = _scored(y_true, y_score, sample_weight, known, max_points)
    ranked = _ranked_or_none(data)
    if ranked is None or ranked.tp.sum() <= 0:
        return PRCurve(precision=[], recall=[], thresholds=[], auprc=None, prevalence=None if ranked is None else 0.0,
                       undefined="no positives in y_true")
    tps, fps = np.cumsum(ranked.tp), np.cumsum(ranked.fp)
    positives = tps[-1]
    flagged = tps + fps
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(flagged > 0, tps / np.where(flagged > 0, flagged, 1.0), 1.0)
    recall = tps / positives
    idx = _pick(len(ranked), [recall], max_points)
    return PRCurve(
        precision=precision[idx].tolist(),
        recall=recall[idx].tolist(),
        thresholds=ranked.thresholds[idx].tolist(),
        auprc=float(curve_stats(ranked.tp, ranked.fp, best_f1=False).auprc),
        prevalence=float(positives / flagged[-1]),
    )


def roc_curve(
    y_true: Any, y_score: Any, *, sample_weight: Any = None, known: Any = None, max_points: int = DEFAULT_POINTS
) -> ROCCurve:
    """False- and true-positive rates at each distinct score, from (0, 0) up to (1, 1)."""
    data = _scored(y_true, y_score, sample_weight, known, max_points)
    ranked = _ranked_or_none(data)
    if ranked is None or ranked.tp.sum() <= 0 or ranked.fp.sum() <= 0:
        return ROCCurve(fpr=[], tpr=[], thresholds=[], roc_auc=None, undefined="only one class present in y_true")
    tpr = np.concatenate([[0.0], np.cumsum(ranked.tp) / ranked.tp.sum()])
    fpr = np.concatenate([[0.0], np.cumsum(ranked.fp) / ranked.fp.sum()])
    idx = _pick(len(tpr), [fpr, tpr], max_points)
    thresholds: list[float | None] = [None if i == 0 else float(ranked.thresholds[i - 1]) for i in idx]
    return ROCCurve(
        fpr=fpr[idx].tolist(),
        tpr=tpr[idx].tolist(),
        thresholds=thresholds,
        roc_auc=float(curve_stats(ranked.tp, ranked.fp, best_f1=False).roc_auc),
    )
