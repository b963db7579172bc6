"""Items grouped by distinct score (highest first): the sufficient statistics of every curve metric.

One sort per category gives, for each distinct score, the (weighted) positives and negatives
scoring exactly that; cumulative sums of those give the PR and ROC curves, average precision,
ROC-AUC, the best-F1 threshold and every threshold search. The same formulas run on a 2-D
matrix of resampled group counts (one row per bootstrap resample), so the bootstrap reuses them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


BOUNDARY_CHUNK = 1 << 20


@dataclass(frozen=True)
class Ranked:
    """Per distinct score (or run of scores, see `merge_negative_runs`), descending.

    `tp`/`fp` are the weighted positives/negatives per group; `sq_weights` the per-group sums
    of squared weights (for Kish effective sizes), None when unweighted (it equals the group
    size). `n_distinct` counts distinct scores; `distinct` lists them (descending) when a
    caller asked to keep them and there are few.
    """

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    sq_weights: np.ndarray | None
    n_distinct: int
    distinct: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.thresholds)

    @property
    def w2(self) -> np.ndarray:
        return self.tp + self.fp if self.sq_weights is None else self.sq_weights


def rank(
    y: np.ndarray,
    score: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    merge_runs: bool = False,
    keep_distinct: int = 0,
) -> Ranked:
    """Group items by distinct score, highest first (one sort; callers ensure len(y) > 0).

    `merge_runs` merges runs of groups without positives (exact for AP, ROC-AUC, best F1;
    see `merge_negative_runs`); `keep_distinct` keeps the distinct scores when there are at
    most that many.
    """
    if weight is None:
        return _rank_unweighted(y, score, merge_runs, keep_distinct)
    order = np.argsort(score)[::-1]
    s = score[order]
    starts = np.flatnonzero(np.concatenate([[True], s[1:] != s[:-1]]))
    thresholds = s[starts]
    del s
    ws = weight[order]
    pos = y[order].astype(bool)
    tp = np.add.reduceat(np.where(pos, ws, 0.0), starts)
    fp = np.add.reduceat(np.where(pos, 0.0, ws), starts)
    w2 = np.add.reduceat(ws * ws, starts)
    distinct = thresholds if len(thresholds) <= keep_distinct else None
    ranked = Ranked(thresholds, tp, fp, w2, len(thresholds), distinct)
    return merge_negative_runs(ranked) if merge_runs else ranked


def _rank_unweighted(y: np.ndarray, score: np.ndarray, merge_runs: bool, keep_distinct: int) -> Ranked:
    """The label rides in the lowest bit of the score's bit pattern.

    Doubles in [0, 2) order like their integer bits and have their top two bits 0, so one
    in-place integer sort (of the negated keys, for descending order) replaces an argsort
    plus gathers, and run merging works on item ranges without per-group float arrays.
    """
    key = (score + 0.0).view(np.int64)  # + 0.0 turns -0.0 into 0.0
    key <<= 1
    key |= y
    np.negative(key, out=key)
    key.sort()
    np.negative(key, out=key)
    starts = _score_boundaries(key)
    label = np.empty(len(key), dtype=np.int8)
    np.bitwise_and(key, 1, out=label, casting="unsafe")
    n_distinct = len(starts)
    distinct = (key[starts] >> 1).view(np.float64) if n_distinct <= keep_distinct else None
    if merge_runs:
        has_pos = np.maximum.reduceat(label, starts) > 0
        keep = has_pos.copy()
        keep[0] = True
        keep[1:] |= has_pos[:-1]
        starts = starts[keep]
    thresholds = (key[starts] >> 1).view(np.float64)
    del key
    fp = np.diff(starts, append=len(label)).astype(np.float64)
    tp = np.add.reduceat(label, starts, dtype=np.float64)
    fp -= tp
    return Ranked(thresholds, tp, fp, None, n_distinct, distinct)


def _score_boundaries(key: np.ndarray) -> np.ndarray:
    """Where a new score starts in sorted keys (keys differ above the label bit), in chunks
    so no per-item temporary wider than a bool is needed."""
    new = np.empty(len(key), dtype=bool)
    new[0] = True
    for i in range(0, len(key) - 1, BOUNDARY_CHUNK):
        j = min(i + BOUNDARY_CHUNK, len(key) - 1)
        np.greater(key[i + 1 : j + 1] ^ key[i:j], 1, out=new[i + 1 : j + 1])
    return np.flatnonzero(new)


def merge_negative_runs(ranked: Ranked) -> Ranked:
    """Merge consecutive groups without positives: AP, ROC-AUC and best F1 are unchanged.

    Between two groups holding positives the cumulative positives are constant, so those
    groups add to AP nothing, to ROC-AUC the same area in one step, and cannot hold the best
    F1; with rare positives this shrinks the arrays the curve formulas run over many-fold.
    Each run keeps the threshold of its highest score.
    """
    has_pos = ranked.tp > 0
    keep = has_pos.copy()
    keep[0] = True
    keep[1:] |= has_pos[:-1]
    if keep.all():
        return ranked
    run = np.cumsum(keep) - 1
    size = int(run[-1]) + 1
    return Ranked(
        ranked.thresholds[keep],
        np.bincount(run, weights=ranked.tp, minlength=size),
        np.bincount(run, weights=ranked.fp, minlength=size),
        None if ranked.sq_weights is None else np.bincount(run, weights=ranked.sq_weights, minlength=size),
        ranked.n_distinct,
        ranked.distinct,
    )


@dataclass(frozen=True)
class CurveStats:
    """Curve summaries, one value per row of the input (NaN where undefined)."""

    auprc: np.ndarray
    roc_auc: np.ndarray
    best_f1: np.ndarray | None
    best_index: np.ndarray | None


def curve_stats(tp: np.ndarray, fp: np.ndarray, best_f1: bool = True) -> CurveStats:
    """AP, ROC-AUC and (optionally) best F1 from per-group counts in descending score order (last axis).

    AP = sum_k (tp_k / P) * precision_k (scikit-learn's step-wise definition); ROC-AUC is the
    trapezoidal area, so tied scores count one half, as in scikit-learn.
    """
    tps = np.cumsum(tp, axis=-1)
    fps = np.cumsum(fp, axis=-1)
    p = tps[..., -1]
    n = fps[..., -1]
    flagged = tps + fps
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(flagged > 0, tps / np.where(flagged > 0, flagged, 1.0), 0.0)
        auprc = np.where(p > 0, (tp * precision).sum(axis=-1) / np.where(p > 0, p, 1.0), np.nan)
        area = (fp * (2.0 * tps - tp)).sum(axis=-1)
        pn = 2.0 * p * n
        roc_auc = np.where(pn > 0, area / np.where(pn > 0, pn, 1.0), np.nan)
        if not best_f1:
            return CurveStats(auprc, roc_auc, None, None)
        f1 = 2.0 * tps / (flagged + p[..., None])
    f1 = np.where(p[..., None] > 0, f1, -1.0)
    best_index = np.argmax(f1, axis=-1)
    best = np.take_along_axis(f1, best_index[..., None], axis=-1)[..., 0]
    return CurveStats(auprc, roc_auc, np.where(p > 0, best, np.nan), best_index)


