"""Metrics for every category of a policy on the same items, with micro and macro averages.

Micro averages pool (item, category) decisions; because one item's decisions on different
categories are not independent, their intervals come from an item-level Poisson bootstrap
(items aggregated by their joint gold/prediction pattern across categories), not from Wilson
intervals alone, which would treat the pooled decisions as independent. A percentile bootstrap,
though, undercovers on small counts near 0 or 1 (3 of 3 correct gives [1, 1]). So the pooled
proportions (precision, recall, FPR, accuracy) get a Wilson interval whose effective n is divided
by the design effect the bootstrap measures (its variance over the binomial variance, at least 1):
correlation widens the interval, small counts keep Wilson's coverage. Pooled F1 keeps the
percentile interval. The same resamples give the macro-average intervals.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from charter.errors import CharterError
from charter.evaluate import bootstrap as bs
from charter.evaluate.counts import RATIOS, Counts, f1_from, ratio_metrics
from charter.evaluate.inputs import BinaryData, Weights, category_arrays, prepare_binary
from charter.evaluate.intervals import percentile, wilson_bounds
from charter.evaluate.metrics import check_settings, metrics_for
from charter.evaluate.models import BinaryMetrics, BootstrapInfo, CategoryReport, Interval, MacroAverage, MicroAverage

MACRO_METRICS = ("precision", "recall", "f1", "fpr", "accuracy", "auprc", "roc_auc")
POOLED_METRICS = ("precision", "recall", "f1", "fpr", "accuracy")
UNKNOWN_GOLD = 4  # joint-pattern code of an item whose gold label is unknown for a category


def evaluate_categories(
    y_true: Any,
    y_pred: Any = None,
    y_score: Any = None,
    *,
    categories: Sequence[str] | None = None,
    threshold: float | Mapping[str, float] = 0.5,
    sample_weight: Any = None,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    n_bins: int = bs.DEFAULT_BINS,
) -> CategoryReport:
    """Per-category metrics plus micro/macro averages for items judged on several categories.

    `y_true`, `y_pred`, `y_score` are each a mapping category -> array, a DataFrame, or a 2-D
    array (items x categories) with `categories` naming the columns. Every category needs
    predictions or scores (predictions win; otherwise `score >= threshold`, where `threshold`
    may differ per category). Unknown gold (NaN) is dropped per category.
    """
    check_settings(n_boot, confidence, n_bins)
    gold = category_arrays(y_true, "y_true", categories)
    if not gold:
        raise CharterError("no categories to evaluate: y_true is empty")
    names = list(gold)
    preds = _optional_columns(y_pred, "y_pred", names)
    scores = _optional_columns(y_score, "y_score", names)
    n = len(np.asarray(gold[names[0]]))
    if n == 0:
        raise CharterError("no items to evaluate: y_true is empty")
    weights = Weights.build(sample_weight, n)
    data: dict[str, BinaryData] = {}
    for name in names:
        column = np.asarray(gold[name])
        if len(column) != n:
            raise CharterError(f"category {name!r}: y_true has {len(column)} items but {names[0]!r} has {n}")
        if name not in preds and name not in scores:
            raise CharterError(f"category {name!r}: no predictions or scores; give y_pred or y_score for it")
        data[name] = prepare_binary(
            column,
            preds.get(name),
            scores.get(name),
            threshold=_threshold_for(threshold, name),
            known=None,
            context=f"category {name!r}",
            prepared_weights=weights,
        )
    streams = np.random.SeedSequence(seed).spawn(len(names) + 1)
    per_category = {
        name: metrics_for(
            data[name], n_boot=n_boot, seed=seed, confidence=confidence, n_bins=n_bins,
            rng=np.random.default_rng(streams[i]),
        )
        for i, name in enumerate(names)
    }
    pooled = functools.reduce(operator.add, (Counts.of(d.y, d.pred, d.weight) for d in data.values()))
    micro_values, micro_wilson, micro_undefined = ratio_metrics(pooled, confidence, with_intervals=n_boot > 0)
    macro = _macro(per_category)
    info = None
    if n_boot > 0:
        draws = _joint_bootstrap(data, n, weights, n_boot, np.random.default_rng(streams[-1]))
        micro_intervals = {m: percentile(draws["micro_" + m], confidence) for m in POOLED_METRICS}
        micro_intervals.update(
            {m: _design_effect_wilson(pooled, m, draws["micro_" + m], iv, confidence) for m, iv in micro_wilson.items()}
        )
        macro_intervals = {
            m: percentile(_macro_draw(draws, m, per_category), confidence) for m in POOLED_METRICS
        }
        info = BootstrapInfo(
            n_resamples=n_boot, seed=seed, score_resolution="none",
            weights_grouped=weights is not None and not weights.exact,
        )
    else:
        micro_intervals, macro_intervals = {}, {}
    micro = MicroAverage(
        confusion=pooled.confusion(),
        **micro_values,
        intervals=_kept(micro_intervals, micro_values),
        undefined=micro_undefined,
    )
    macro = macro.model_copy(update={"intervals": _kept(macro_intervals, macro.model_dump())})
    return CategoryReport(n_items=n, categories=per_category, micro=micro, macro=macro, bootstrap=info)


def _design_effect_wilson(
    pooled: Counts, metric: str, draws: np.ndarray, wilson_iv: Interval, confidence: float
) -> Interval:
    """Wilson interval of a pooled proportion, its effective n shrunk by the bootstrap's design effect."""
    num, den, _ = RATIOS[metric]
    successes, total = pooled.total(num), pooled.total(den)
    n_eff = float(wilson_iv.effective_n or 0.0)
    p = successes / total
    valid = draws[np.isfinite(draws)]
    binomial_var = p * (1.0 - p) / n_eff if n_eff > 0 else 0.0
    deff = 1.0
    if binomial_var > 0 and len(valid) > 1:
        deff = max(1.0, float(np.var(valid, ddof=1)) / binomial_var)
    n_adj = n_eff / deff
    low, high, _ = wilson_bounds(p * n_adj, n_adj, n_adj, confidence)
    return Interval(
        low=float(low), high=float(high), method="wilson_design_effect", confidence=confidence,
        effective_n=n_adj, n_resamples=int(len(valid)),
    )


def _optional_columns(values: Any, name: str, names: list[str]) -> dict[str, Any]:
    """Columns of an optional multi-category input; a mapping may cover only some categories."""
    if values is None:
        return {}
    two_d = not isinstance(values, Mapping) and not hasattr(values, "columns")
    columns = category_arrays(values, name, names if two_d else None)
    extra = sorted(set(columns) - set(names))
    if extra:
        raise CharterError(f"{name} has categories {extra} that y_true does not have")
    return columns


def _threshold_for(threshold: float | Mapping[str, float], name: str) -> float:
    if isinstance(threshold, Mapping):
        return float(threshold.get(name, 0.5))
    return float(threshold)


def _kept(intervals: dict[str, Interval | None], values: Mapping[str, Any]) -> dict[str, Interval]:
    """Intervals of metrics whose point estimate exists, in report order."""
    return {m: iv for m, iv in intervals.items() if iv is not None and values.get(m) is not None}


def _macro(per_category: dict[str, BinaryMetrics]) -> MacroAverage:
    values: dict[str, float | None] = {}
    excluded: dict[str, list[str]] = {}
    undefined: dict[str, str] = {}
    for metric in MACRO_METRICS:
        defined = [getattr(m, metric) for m in per_category.values() if getattr(m, metric) is not None]
        skipped = [c for c, m in per_category.items() if getattr(m, metric) is None]
        values[metric] = float(np.mean(defined)) if defined else None
        if skipped:
            excluded[metric] = skipped
        if not defined:
            undefined[metric] = "undefined in every category"
    return MacroAverage(**values, excluded=excluded, undefined=undefined)


def _joint_bootstrap(
    data: dict[str, BinaryData], n: int, weights: Weights | None, n_boot: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Item-level Poisson bootstrap of every category's confusion counts at once."""
    fields: list[tuple[str, np.ndarray, int]] = []
    for name, d in data.items():
        code = np.full(n, UNKNOWN_GOLD, dtype=np.int8)
        code[d.positions()] = 2 * d.y + d.pred
        fields.append((name, code, 5))
    if weights is not None:
        fields.append(("\0weight", weights.group, weights.n_groups))
    cells = bs.aggregate(fields, None if weights is None else weights.values)
    k = len(data)
    rows, cols = [], []
    for j, name in enumerate(data):
        code = cells.fields[name]
        for cell_code, col in ((3, 0), (1, 1), (2, 2), (0, 3)):  # tp, fp, fn, tn
            hit = np.flatnonzero(code == cell_code)
            rows.append(hit)
            cols.append(np.full(len(hit), 4 * j + col))
    columns = bs.indicator(np.concatenate(rows), np.concatenate(cols), len(cells), 4 * k)
    out = {f"micro_{m}": np.empty(n_boot) for m in POOLED_METRICS}
    out.update({f"cat_{m}": np.empty((n_boot, k)) for m in POOLED_METRICS})
    done = 0
    for sums in bs.resample_sums(cells, columns, n_boot, rng):
        m = len(sums)
        cube = sums.reshape(m, k, 4)
        tp, fp, fn, tn = (cube[:, :, i] for i in range(4))
        for prefix, (a, b, c, d) in (("cat_", (tp, fp, fn, tn)), ("micro_", (x.sum(axis=1) for x in (tp, fp, fn, tn)))):
            rates = _rates(a, b, c, d)
            for metric, value in rates.items():
                out[prefix + metric][done : done + m] = value
        done += m
    return out


def _rates(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> dict[str, np.ndarray]:
    cells = {"tp": tp, "fp": fp, "fn": fn, "tn": tn}
    out = {"f1": f1_from(tp, fp, fn)}
    with np.errstate(divide="ignore", invalid="ignore"):
        for metric, (num, den, _) in RATIOS.items():
            top = sum(cells[c] for c in num)
            bottom = sum(cells[c] for c in den)
            out[metric] = np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)
    return out


def _macro_draw(draws: dict[str, np.ndarray], metric: str, per_category: dict[str, BinaryMetrics]) -> np.ndarray:
    """Macro average per resample over the categories that the point estimate averages."""
    included = [j for j, m in enumerate(per_category.values()) if getattr(m, metric) is not None]
    if not included:
        return np.full(len(draws[f"cat_{metric}"]), np.nan)
    return draws[f"cat_{metric}"][:, included].mean(axis=1)
