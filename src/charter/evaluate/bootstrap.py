"""Poisson bootstrap over aggregated cells: resample millions of items without copying them.

In a Poisson bootstrap every item gets an independent Poisson(1) count per resample. Items that
agree on everything a statistic reads (score bin, gold label, prediction, weight group) form a
cell, and the sum of Poisson(1) counts over a cell of c items is Poisson(c). So a resample is a
Poisson draw per cell: memory O(cells) per resample, whatever the number of items, and resamples
are drawn in fixed-size chunks so memory does not grow with the number of resamples either.

Approximations, both documented in the results' `BootstrapInfo`:
- scores: when there are more distinct scores than `n_bins`, scores are grouped into `n_bins`
  equal-width bins of [0, 1]; AP and ROC-AUC in resamples are then exact up to bin resolution
  (ties within a bin). With few distinct scores (golden sets) every distinct score is kept.
- weights: items are grouped by exact weight when there are few distinct weights (stratified
  samples); otherwise by weight quantile, each group resampled at its mean weight.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


DEFAULT_BINS = 10_000
CHUNK_ELEMENTS = 1 << 20
DENSE_KEY_LIMIT = 1 << 22
_KEY_LIMIT = 1 << 62


@dataclass(frozen=True)
class Cells:
    """Items aggregated by a few integer fields: items per cell, mean weight, field values."""

    count: np.ndarray
    weight: np.ndarray | None
    fields: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.count)


def aggregate(fields: Sequence[tuple[str, np.ndarray, int]], weight: np.ndarray | None = None) -> Cells:
    """Cells of items sharing every field value; each field is (name, codes in [0, cardinality), cardinality)."""
    n = len(fields[0][1])
    key = np.zeros(n, dtype=np.int64)
    space = 1
    compressed = False
    for _, codes, card in fields:
        if space * card >= _KEY_LIMIT:
            _, key = np.unique(key, return_inverse=True)
            space = int(key.max()) + 1
            compressed = True
        key *= card
        key += codes
        space *= card
    first = None
    if not compressed and space <= DENSE_KEY_LIMIT:
        counts = np.bincount(key, minlength=space)
        cell_key = np.flatnonzero(counts)
        count = counts[cell_key].astype(np.float64)
        wsum = None if weight is None else np.bincount(key, weights=weight, minlength=space)[cell_key]
    else:
        cell_key, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
        count = counts.astype(np.float64)
        wsum = None if weight is None else np.bincount(inverse, weights=weight, minlength=len(cell_key))
    decoded: dict[str, np.ndarray] = {}
    if first is not None and compressed:
        decoded = {name: np.asarray(codes)[first] for name, codes, _ in fields}
    else:
        rest = cell_key.copy()
        for name, _, card in reversed(fields):
            decoded[name] = rest % card
            rest //= card
    mean_weight = None if wsum is None else wsum / count
    return Cells(count, mean_weight, {name: decoded[name] for name, _, _ in fields})


def resample_sums(
    cells: Cells, columns: sp.csr_array, n_resamples: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Stream resampled column sums: chunks of shape (resamples, columns) = Poisson draws @ columns."""
    width = max(len(cells), columns.shape[1], 1)
    chunk = max(1, CHUNK_ELEMENTS // width)
    for start in range(0, n_resamples, chunk):
        m = min(chunk, n_resamples - start)
        draws = rng.poisson(cells.count, size=(m, len(cells))).astype(np.float64)
        if cells.weight is not None:
            draws *= cells.weight
        yield draws @ columns


def indicator(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> sp.csr_array:
    """Sparse 0/1 matrix mapping cells (rows) to the sums they feed (columns)."""
    return sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n_rows, n_cols))


@dataclass(frozen=True)
class ScoreGroups:
    """Each item's score group, numbered from the highest score (0) down."""

    codes: np.ndarray
    n_groups: int
    exact: bool
    n_bins: int | None


def score_groups(score: np.ndarray, distinct: np.ndarray | None, n_bins: int) -> ScoreGroups:
    """Exact groups when `distinct` (every distinct score, descending) is given, else equal-width bins."""
    if distinct is not None:
        codes = len(distinct) - 1 - np.searchsorted(distinct[::-1], score)
        return ScoreGroups(codes.astype(np.int32), len(distinct), True, None)
    codes = (score * n_bins).astype(np.int32)
    np.minimum(codes, n_bins - 1, out=codes)
    np.subtract(n_bins - 1, codes, out=codes)
    return ScoreGroups(codes, n_bins, False, n_bins)
