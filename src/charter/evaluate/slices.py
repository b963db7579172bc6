"""Metrics per slice of any column (language, market, surface, a metadata field...).

Small slices give intervals too wide to act on and invite over-reading, so slices with fewer
than `min_support` labelled items are listed with their size but no metrics.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from charter.errors import CharterError
from charter.evaluate import bootstrap as bs
from charter.evaluate.inputs import as_1d, check_length, prepare_binary
from charter.evaluate.metrics import check_settings, metrics_for
from charter.evaluate.models import INSUFFICIENT_SUPPORT, SliceMetrics, SliceReport

MISSING = "<missing>"


def slice_metrics(
    y_true: Any,
    y_pred: Any = None,
    y_score: Any = None,
    *,
    slices: Any,
    column: str | None = None,
    min_support: int = 30,
    threshold: float = 0.5,
    sample_weight: Any = None,
    known: Any = None,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    n_bins: int = bs.DEFAULT_BINS,
) -> SliceReport:
    """Binary metrics for each distinct value of `slices` (one value per item; None/NaN -> "<missing>").

    `min_support` is the minimum number of labelled items in a slice; smaller slices get
    status "insufficient support" and no metrics. Slices are listed largest first.
    """
    check_settings(n_boot, confidence, n_bins)
    if min_support < 1:
        raise CharterError(f"min_support must be >= 1, got {min_support}")
    data = prepare_binary(
        y_true, y_pred, y_score, threshold=threshold, sample_weight=sample_weight, known=known
    )
    values = _slice_values(slices)
    check_length(values, "slices", data.n + data.n_dropped)
    values = values[data.positions()]
    names, codes = np.unique(values, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    streams = np.random.SeedSequence(seed).spawn(len(names))
    out: list[SliceMetrics] = []
    for j, name in enumerate(names):
        part = data.take(order[bounds[j] : bounds[j + 1]])
        support = float(part.y.sum() if part.weight is None else part.weight[part.y == 1].sum())
        if part.n < min_support:
            out.append(SliceMetrics(
                value=str(name), n=part.n, support=support, status=INSUFFICIENT_SUPPORT,
                reason=f"{INSUFFICIENT_SUPPORT}: {part.n} labelled items < min_support {min_support}",
            ))
            continue
        metrics = metrics_for(
            part, n_boot=n_boot, seed=seed, confidence=confidence, n_bins=n_bins,
            rng=np.random.default_rng(streams[j]),
        )
        out.append(SliceMetrics(value=str(name), n=part.n, support=support, status="ok", metrics=metrics))
    out.sort(key=lambda s: (-s.n, s.value))
    return SliceReport(column=column, min_support=min_support, n_dropped=data.n_dropped, slices=out)


def _slice_values(slices: Any) -> np.ndarray:
    """Slice values as strings, with None and NaN mapped to one "<missing>" slice."""
    arr = as_1d(slices, "slices")
    if arr.dtype.kind in "fc":
        missing = np.isnan(arr)
    elif arr.dtype == object:
        missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in arr], dtype=bool)
    else:
        return arr.astype(str)
    text = arr.astype(str).astype(object)
    text[missing] = MISSING
    return text.astype(str)
