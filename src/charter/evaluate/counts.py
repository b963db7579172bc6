"""Confusion counts and the ratio metrics derived from them, with reasons when a ratio is undefined."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from charter.evaluate.intervals import wilson
from charter.evaluate.models import Confusion, Interval

# metric -> (numerator cells, denominator cells, why it is undefined when the denominator is 0)
RATIOS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "precision": (("tp",), ("tp", "fp"), "no predicted positives"),
    "recall": (("tp",), ("tp", "fn"), "no positives in y_true"),
    "fpr": (("fp",), ("fp", "tn"), "no negatives in y_true"),
    "accuracy": (("tp", "tn"), ("tp", "fp", "fn", "tn"), "no items with a known gold label and a non-zero weight"),
}
F1_UNDEFINED = "no positives in y_true and no predicted positives"
CELLS = ("tn", "fp", "fn", "tp")  # index = 2 * y + pred


@dataclass(frozen=True)
class Counts:
    """Weighted confusion counts plus sums of squared weights (for Kish effective sizes)."""

    w: dict[str, float]
    w2: dict[str, float]
    n: int

    @classmethod
    def of(cls, y: np.ndarray, pred: np.ndarray, weight: np.ndarray | None) -> Counts:
        code = y.astype(np.intp) * 2
        code += pred
        w = np.bincount(code, weights=weight, minlength=4)
        w2 = w if weight is None else np.bincount(code, weights=weight * weight, minlength=4)
        return cls(dict(zip(CELLS, map(float, w))), dict(zip(CELLS, map(float, w2))), len(y))

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            {c: self.w[c] + other.w[c] for c in CELLS},
            {c: self.w2[c] + other.w2[c] for c in CELLS},
            self.n + other.n,
        )

    def confusion(self) -> Confusion:
        return Confusion(**self.w)

    def total(self, cells: tuple[str, ...] = CELLS) -> float:
        return sum(self.w[c] for c in cells)

    def total_sq(self, cells: tuple[str, ...] = CELLS) -> float:
        return sum(self.w2[c] for c in cells)


def f1_from(tp: np.ndarray | float, fp: np.ndarray | float, fn: np.ndarray | float) -> np.ndarray:
    """F1 = 2tp / (2tp + fp + fn), NaN where nothing is positive in gold or prediction."""
    tp, fp, fn = (np.asarray(a, dtype=np.float64) for a in (tp, fp, fn))
    den = 2 * tp + fp + fn
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, 2 * tp / np.where(den > 0, den, 1.0), np.nan)


def ratio_metrics(
    counts: Counts, confidence: float, with_intervals: bool = True
) -> tuple[dict[str, float | None], dict[str, Interval], dict[str, str]]:
    """Precision, recall, FPR, accuracy (+ Wilson intervals) and F1, with reasons for undefined ones."""
    values: dict[str, float | None] = {}
    intervals: dict[str, Interval] = {}
    undefined: dict[str, str] = {}
    for name, (num, den, reason) in RATIOS.items():
        total = counts.total(den)
        if total > 0:
            values[name] = counts.total(num) / total
            if with_intervals:
                intervals[name] = wilson(counts.total(num), total, counts.total_sq(den), confidence)
        else:
            values[name] = None
            undefined[name] = reason
    f1 = float(f1_from(counts.w["tp"], counts.w["fp"], counts.w["fn"]))
    values["f1"] = None if np.isnan(f1) else f1
    if values["f1"] is None:
        undefined["f1"] = F1_UNDEFINED
    return values, intervals, undefined
