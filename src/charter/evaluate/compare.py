"""Compare two prediction sets (two pathways, or two policy versions) on the same gold items.

McNemar's exact test asks whether the systems' error rates differ; a paired bootstrap gives
the F1 (and AUPRC) difference with an interval; the flipped items say what actually changed.
Both systems are resampled together (same items in every resample), which is what makes the
interval paired.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import binom
from statsmodels.stats.contingency_tables import mcnemar

from charter.errors import CharterError
from charter.evaluate import bootstrap as bs
from charter.evaluate.counts import f1_from
from charter.evaluate.inputs import Weights, binary_predictions, check_length, gold_labels, scores
from charter.evaluate.intervals import percentile
from charter.evaluate.metrics import check_settings
from charter.evaluate.models import BootstrapInfo, Comparison, Difference, McNemar
from charter.evaluate.ranking import curve_stats, rank

COMPARE_BINS = 1000


def compare(
    y_true: Any,
    pred_a: Any,
    pred_b: Any,
    *,
    score_a: Any = None,
    score_b: Any = None,
    sample_weight: Any = None,
    known: Any = None,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    n_bins: int = COMPARE_BINS,
) -> Comparison:
    """Compare system a (baseline) with system b (candidate); differences are b - a.

    McNemar counts items, unweighted (it tests paired items); the F1/AUPRC differences use
    `sample_weight`. Items with unknown gold only appear in `flipped_unlabelled`.
    """
    check_settings(n_boot, confidence, n_bins)
    y, mask = gold_labels(y_true, known=known)
    n_all = len(y)
    if n_all == 0:
        raise CharterError("no items to compare: y_true is empty")
    a = binary_predictions(pred_a, "pred_a")
    b = binary_predictions(pred_b, "pred_b")
    check_length(a, "pred_a", n_all)
    check_length(b, "pred_b", n_all)
    if (score_a is None) != (score_b is None):
        raise CharterError("give both score_a and score_b to compare AUPRC, or neither")
    sa = sb = None
    if score_a is not None:
        sa, sb = scores(score_a, "score_a"), scores(score_b, "score_b")
        check_length(sa, "score_a", n_all)
        check_length(sb, "score_b", n_all)
    weights = Weights.build(sample_weight, n_all)
    changed = a != b
    labelled = np.ones(n_all, bool) if mask is None else mask
    fixed = np.flatnonzero(changed & labelled & (b == y))
    broken = np.flatnonzero(changed & labelled & (a == y))
    unlabelled = np.flatnonzero(changed & ~labelled)
    keep = np.flatnonzero(labelled)
    y, a, b = y[keep], a[keep], b[keep]
    w = None if weights is None else weights.values[keep]
    if sa is not None and sb is not None:
        sa, sb = sa[keep], sb[keep]
    test = _mcnemar(y, a, b)
    f1_a, f1_b = (_f1(y, p, w) for p in (a, b))
    auprc = None
    boot = None
    info = None
    if n_boot > 0 and len(y) > 0:
        boot, info = _paired_bootstrap(y, a, b, sa, sb, w, weights, keep, n_boot, seed, n_bins)
    f1 = _difference("f1", f1_a, f1_b, None if boot is None else boot["f1"], confidence)
    if sa is not None and sb is not None:
        ap_a, ap_b = (_auprc(y, s, w) for s in (sa, sb))
        auprc = _difference("auprc", ap_a, ap_b, None if boot is None else boot.get("auprc"), confidence)
    return Comparison(
        n=len(y), n_dropped=n_all - len(y), mcnemar=test, f1=f1, auprc=auprc,
        fixed=fixed.tolist(), broken=broken.tolist(), flipped_unlabelled=unlabelled.tolist(), bootstrap=info,
    )


def _mcnemar(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> McNemar:
    ca, cb = a == y, b == y
    both, only_a = int((ca & cb).sum()), int((ca & ~cb).sum())
    only_b, neither = int((~ca & cb).sum()), int((~ca & ~cb).sum())
    discordant = only_a + only_b
    if discordant == 0:
        exact = midp = 1.0
    else:
        exact = float(mcnemar([[both, only_a], [only_b, neither]], exact=True).pvalue)
        midp = float(np.clip(exact - binom.pmf(min(only_a, only_b), discordant, 0.5), 0.0, 1.0))
    return McNemar(
        both_correct=both, only_a_correct=only_a, only_b_correct=only_b, both_wrong=neither,
        p_value_exact=exact, p_value_midp=midp,
    )


def _f1(y: np.ndarray, pred: np.ndarray, w: np.ndarray | None) -> float | None:
    weight = np.ones(len(y)) if w is None else w
    tp = float(weight[(y == 1) & (pred == 1)].sum())
    fp = float(weight[(y == 0) & (pred == 1)].sum())
    fn = float(weight[(y == 1) & (pred == 0)].sum())
    value = float(f1_from(tp, fp, fn))
    return None if np.isnan(value) else value


def _auprc(y: np.ndarray, s: np.ndarray, w: np.ndarray | None) -> float | None:
    if len(y) == 0:
        return None
    ranked = rank(y, s, w, merge_runs=True)
    value = float(curve_stats(ranked.tp, ranked.fp, best_f1=False).auprc)
    return None if np.isnan(value) else value


def _difference(
    metric: str, a: float | None, b: float | None, draws: np.ndarray | None, confidence: float
) -> Difference:
    if a is None or b is None:
        return Difference(metric=metric, a=a, b=b, difference=None,
                          undefined=f"{metric} is undefined for {'a' if a is None else 'b'}")
    if draws is None:
        return Difference(metric=metric, a=a, b=b, difference=b - a)
    valid = draws[np.isfinite(draws)]
    p_value = None
    if len(valid):
        # add-one so that finitely many resamples never claim p = 0
        tail = min(np.sum(valid <= 0), np.sum(valid >= 0))
        p_value = float(min(1.0, 2.0 * (tail + 1) / (len(valid) + 1)))
    return Difference(
        metric=metric, a=a, b=b, difference=b - a, interval=percentile(draws, confidence), p_value=p_value
    )


def _paired_bootstrap(
    y: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    sa: np.ndarray | None,
    sb: np.ndarray | None,
    w: np.ndarray | None,
    weights: Weights | None,
    keep: np.ndarray,
    n_boot: int,
    seed: int,
    n_bins: int,
) -> tuple[dict[str, np.ndarray], BootstrapInfo]:
    """Resample items once per resample for both systems; return draws of b - a."""
    fields: list[tuple[str, np.ndarray, int]] = [("y", y, 2), ("a", a, 2), ("b", b, 2)]
    groups = {}
    if sa is not None and sb is not None:
        for name, s in (("sa", sa), ("sb", sb)):
            groups[name] = bs.score_groups(s, rank(y, s, w, merge_runs=True, keep_distinct=n_bins).distinct, n_bins)
            fields.append((name, groups[name].codes, groups[name].n_groups))
    if weights is not None:
        fields.append(("w", weights.group[keep], weights.n_groups))
    cells = bs.aggregate(fields, w)
    cy, ca, cb = cells.fields["y"], cells.fields["a"], cells.fields["b"]
    rows, cols = [], []
    for offset, mask in enumerate((
        (cy == 1) & (ca == 1), (cy == 0) & (ca == 1), (cy == 1) & (ca == 0),
        (cy == 1) & (cb == 1), (cy == 0) & (cb == 1), (cy == 1) & (cb == 0),
    )):
        hit = np.flatnonzero(mask)
        rows.append(hit)
        cols.append(np.full(len(hit), offset))
    spans = {}
    start = 6
    for name in groups:
        _, col = np.unique(cells.fields[name], return_inverse=True)
        width = int(col.max()) + 1
        rows.append(np.arange(len(cells)))
        cols.append(start + np.where(cy == 1, col, width + col))
        spans[name] = (start, width)
        start += 2 * width
    columns = bs.indicator(np.concatenate(rows), np.concatenate(cols), len(cells), start)
    out = {"f1": np.empty(n_boot)}
    if groups:
        out["auprc"] = np.empty(n_boot)
    done = 0
    for sums in bs.resample_sums(cells, columns, n_boot, np.random.default_rng(seed)):
        m = len(sums)
        out["f1"][done : done + m] = f1_from(*(sums[:, i] for i in (3, 4, 5))) - f1_from(
            *(sums[:, i] for i in (0, 1, 2))
        )
        if groups:
            ap = {}
            for name, (first, width) in spans.items():
                ap[name] = curve_stats(
                    sums[:, first : first + width], sums[:, first + width : first + 2 * width], best_f1=False
                ).auprc
            out["auprc"][done : done + m] = ap["sb"] - ap["sa"]
        done += m
    exact = all(g.exact for g in groups.values())
    info = BootstrapInfo(
        n_resamples=n_boot, seed=seed,
        score_resolution="none" if not groups else ("exact" if exact else "binned"),
        n_bins=None if not groups or exact else n_bins,
        weights_grouped=weights is not None and not weights.exact,
    )
    return out, info
