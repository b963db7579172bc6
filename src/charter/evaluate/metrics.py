"""Every metric of one binary task: counts, ratios, curve metrics, Wilson and bootstrap intervals."""

from __future__ import annotations

from typing import Any

import numpy as np

from charter.evaluate import bootstrap as bs
from charter.evaluate.counts import Counts, f1_from, ratio_metrics
from charter.evaluate.inputs import BinaryData, prepare_binary
from charter.evaluate.intervals import kish_effective_n, percentile
from charter.evaluate.models import BinaryMetrics, BootstrapInfo, Interval
from charter.evaluate.ranking import Ranked, curve_stats, rank
from charter.errors import CharterError

NO_SCORES = "no scores (y_score) given"
NO_POSITIVES = "no positives in y_true"
ONE_CLASS = "only one class present in y_true"
NO_ITEMS = "no items with a known gold label"


def binary_metrics(
    y_true: Any,
    y_pred: Any = None,
    y_score: Any = None,
    *,
    threshold: float = 0.5,
    sample_weight: Any = None,
    known: Any = None,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    n_bins: int = bs.DEFAULT_BINS,
) -> BinaryMetrics:
    """All metrics of one binary task; predictions default to `y_score >= threshold`.

    `y_true` is 0/1 with NaN (or `known=False`) for items whose gold label is unknown; they are
    dropped and counted in `n_dropped`. `n_boot=0` skips the bootstrap (no F1/AUPRC/ROC-AUC
    intervals). Undefined metrics are None with a reason in `undefined`.
    """
    check_settings(n_boot, confidence, n_bins)
    data = prepare_binary(
        y_true, y_pred, y_score, threshold=threshold, sample_weight=sample_weight, known=known
    )
    return metrics_for(data, n_boot=n_boot, seed=seed, confidence=confidence, n_bins=n_bins)


def check_settings(n_boot: int, confidence: float, n_bins: int) -> None:
    """Reject settings that would make intervals meaningless."""
    if n_boot < 0:
        raise CharterError(f"n_boot must be >= 0, got {n_boot}")
    if not 0.0 < confidence < 1.0:
        raise CharterError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")
    if n_bins < 2:
        raise CharterError(f"n_bins must be >= 2, got {n_bins}")


def metrics_for(
    data: BinaryData,
    *,
    n_boot: int,
    seed: int,
    confidence: float,
    n_bins: int,
    rng: np.random.Generator | None = None,
) -> BinaryMetrics:
    """Metrics of validated data; `rng` overrides `seed` when a caller splits one seed across tasks."""
    counts = Counts.of(data.y, data.pred, data.weight)
    values, intervals, undefined = ratio_metrics(counts, confidence)
    total = counts.total()
    support = counts.total(("tp", "fn"))
    curve: dict[str, float | None] = {"auprc": None, "roc_auc": None, "best_f1": None, "best_f1_threshold": None}
    ranked = None
    if data.score is None:
        undefined.update(auprc=NO_SCORES, roc_auc=NO_SCORES, best_f1=NO_SCORES, best_f1_threshold=NO_SCORES)
    elif data.n == 0:
        undefined.update(auprc=NO_ITEMS, roc_auc=NO_ITEMS, best_f1=NO_ITEMS, best_f1_threshold=NO_ITEMS)
    else:
        ranked = rank(data.y, data.score, data.weight, merge_runs=True, keep_distinct=n_bins)
        curve = _curve_values(ranked, undefined)
    info = None
    if n_boot > 0 and data.n > 0 and total > 0:
        rng = rng if rng is not None else np.random.default_rng(seed)
        boot, info = _bootstrap(data, ranked, n_boot, seed, n_bins, rng)
        for name in ("f1", "auprc", "roc_auc"):
            point = values.get(name, curve.get(name))
            interval = percentile(boot[name], confidence) if name in boot and point is not None else None
            if interval is not None:
                intervals[name] = interval
    return BinaryMetrics(
        n=data.n,
        n_dropped=data.n_dropped,
        weighted=data.weight is not None,
        total_weight=total,
        effective_n=float(kish_effective_n(total, counts.total_sq())),
        support=support,
        predicted_positive=counts.total(("tp", "fp")),
        prevalence=support / total if total > 0 else None,
        threshold=data.threshold,
        confusion=counts.confusion(),
        precision=values["precision"],
        recall=values["recall"],
        f1=values["f1"],
        fpr=values["fpr"],
        accuracy=values["accuracy"],
        auprc=curve["auprc"],
        roc_auc=curve["roc_auc"],
        best_f1=curve["best_f1"],
        best_f1_threshold=curve["best_f1_threshold"],
        intervals=_ordered(intervals),
        undefined=undefined,
        bootstrap=info,
    )


def _ordered(intervals: dict[str, Interval]) -> dict[str, Interval]:
    order = ("precision", "recall", "f1", "fpr", "accuracy", "auprc", "roc_auc")
    return {k: intervals[k] for k in order if k in intervals}


def _curve_values(ranked: Ranked, undefined: dict[str, str]) -> dict[str, float | None]:
    stats = curve_stats(ranked.tp, ranked.fp)
    positives = float(ranked.tp.sum())
    negatives = float(ranked.fp.sum())
    out: dict[str, float | None] = {"auprc": None, "roc_auc": None, "best_f1": None, "best_f1_threshold": None}
    if positives > 0:
        out["auprc"] = float(stats.auprc)
        out["best_f1"] = float(stats.best_f1)
        out["best_f1_threshold"] = float(ranked.thresholds[int(stats.best_index)])
    else:
        undefined.update(auprc=NO_POSITIVES, best_f1=NO_POSITIVES, best_f1_threshold=NO_POSITIVES)
    if positives > 0 and negatives > 0:
        out["roc_auc"] = float(stats.roc_auc)
    else:
        undefined["roc_auc"] = ONE_CLASS
    return out


def _bootstrap(
    data: BinaryData,
    ranked: Ranked | None,
    n_boot: int,
    seed: int,
    n_bins: int,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], BootstrapInfo]:
    """Poisson-bootstrap F1 (at the given predictions) and, with scores, AUPRC and ROC-AUC."""
    fields: list[tuple[str, np.ndarray, int]] = []
    groups = None
    if ranked is not None and data.score is not None:
        groups = bs.score_groups(data.score, ranked.distinct, n_bins)
        fields.append(("score", groups.codes, groups.n_groups))
    fields += [("y", data.y, 2), ("pred", data.pred, 2)]
    if data.weight_group is not None:
        fields.append(("w", data.weight_group, data.n_weight_groups))
    cells = bs.aggregate(fields, data.weight)
    y, pred = cells.fields["y"], cells.fields["pred"]
    n_score = 0
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    if groups is not None:
        _, col = np.unique(cells.fields["score"], return_inverse=True)
        n_score = int(col.max()) + 1
        everything = np.arange(len(cells))
        rows.append(everything)
        cols.append(np.where(y == 1, col, n_score + col))
    base = 2 * n_score
    for offset, mask in enumerate(((y == 1) & (pred == 1), (y == 0) & (pred == 1), (y == 1) & (pred == 0))):
        hit = np.flatnonzero(mask)
        rows.append(hit)
        cols.append(np.full(len(hit), base + offset))
    columns = bs.indicator(np.concatenate(rows), np.concatenate(cols), len(cells), base + 3)
    out = {"f1": np.empty(n_boot)}
    if groups is not None:
        out["auprc"] = np.empty(n_boot)
        out["roc_auc"] = np.empty(n_boot)
    done = 0
    for sums in bs.resample_sums(cells, columns, n_boot, rng):
        m = len(sums)
        out["f1"][done : done + m] = f1_from(sums[:, base], sums[:, base + 1], sums[:, base + 2])
        if groups is not None:
            stats = curve_stats(sums[:, :n_score], sums[:, n_score:base], best_f1=False)
            out["auprc"][done : done + m] = stats.auprc
            out["roc_auc"][done : done + m] = stats.roc_auc
        done += m
    if groups is None:
        resolution = "none"
    else:
        resolution = "exact" if groups.exact else "binned"
    info = BootstrapInfo(
        n_resamples=n_boot,
        seed=seed,
        score_resolution=resolution,
        n_bins=None if groups is None else groups.n_bins,
        weights_grouped=not data.weights_exact,
    )
    return out, info
