"""Validate caller arrays once, so every metric can trust its inputs and users get one clear error.

Gold labels may be unknown for some items (a spam dataset says nothing about hate): give them as
NaN in `y_true` or pass a `known` mask; such items are dropped and counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from charter.errors import CharterError

MAX_WEIGHT_GROUPS = 16


def _fail(context: str, message: str) -> CharterError:
    return CharterError(f"{context}: {message}" if context else message)


def as_1d(values: Any, name: str, context: str = "", dtype: Any = None) -> np.ndarray:
    """A 1-D numpy array, or a CharterError naming the argument."""
    try:
        arr = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise _fail(context, f"{name} could not be read as numbers ({exc})") from None
    if arr.ndim != 1:
        raise _fail(context, f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def _first_bad(bad: np.ndarray, arr: np.ndarray, name: str, context: str, expected: str) -> CharterError:
    i = int(np.flatnonzero(bad)[0])
    return _fail(context, f"{name}[{i}] = {_plain(arr[i])!r} {expected}")


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value a user typed (1.5, not np.float64(1.5))."""
    return value.item() if isinstance(value, np.generic) else value


def gold_labels(values: Any, context: str = "", known: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Gold labels as int8 0/1 plus the mask of known ones (None when all are known)."""
    arr = as_1d(values, "y_true", context)
    if arr.dtype == object:
        arr = as_1d(np.where(np.equal(arr, None), np.nan, arr), "y_true", context, dtype=np.float64)
    mask = None
    if arr.dtype.kind == "f":
        unknown = np.isnan(arr)
        if unknown.any():
            mask = ~unknown
    if known is not None:
        known_arr = as_1d(known, "known", context)
        if known_arr.dtype != bool:
            raise _fail(context, f"known must be a boolean mask, got dtype {known_arr.dtype}")
        if len(known_arr) != len(arr):
            raise _fail(context, f"known has {len(known_arr)} items but y_true has {len(arr)}")
        mask = known_arr if mask is None else mask & known_arr
    checked = arr if mask is None else arr[mask]
    if checked.dtype != bool:
        bad = (checked != 0) & (checked != 1)
        if bad.any():
            where = np.flatnonzero(mask) if mask is not None else None
            i = int(np.flatnonzero(bad)[0])
            idx = int(where[i]) if where is not None else i
            raise _fail(context, f"y_true[{idx}] = {_plain(arr[idx])!r}; gold labels must be 0 or 1 (NaN for unknown)")
    labels = np.zeros(len(arr), dtype=np.int8)
    np.copyto(labels, arr, casting="unsafe", where=mask if mask is not None else True)
    return labels, mask


def binary_predictions(values: Any, name: str, context: str = "") -> np.ndarray:
    """Predictions as int8 0/1; a missing prediction is an error, not a silent 'allow'."""
    arr = as_1d(values, name, context)
    if arr.dtype == bool:
        return arr.view(np.int8)
    if arr.dtype.kind not in "iuf":
        raise _fail(context, f"{name} must hold 0/1 predictions, got dtype {arr.dtype}")
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        raise _first_bad(bad, arr, name, context, "is not 0 or 1")
    return arr.astype(np.int8, copy=False)


def scores(values: Any, name: str, context: str = "") -> np.ndarray:
    """Scores as float64 in [0, 1]; NaN or out-of-range values are errors."""
    arr = as_1d(values, name, context, dtype=np.float64)
    if len(arr) and not (arr.min() >= 0.0 and arr.max() <= 1.0):
        bad = ~((arr >= 0.0) & (arr <= 1.0))
        raise _first_bad(bad, arr, name, context, "is outside [0, 1] (mark the gold label unknown to skip an unscored item)")
    return arr


def weights(values: Any, context: str = "") -> np.ndarray:
    """Sample weights as finite non-negative float64."""
    arr = as_1d(values, "sample_weight", context, dtype=np.float64)
    if len(arr) and not (arr.min() >= 0.0 and np.isfinite(arr.max())):
        bad = ~(np.isfinite(arr) & (arr >= 0.0))
        raise _first_bad(bad, arr, "sample_weight", context, "must be finite and >= 0")
    return arr


def weight_groups(w: np.ndarray, max_groups: int = MAX_WEIGHT_GROUPS) -> tuple[np.ndarray, int, bool]:
    """Group items by weight for the bootstrap: (codes, number of groups, grouping is exact).

    Stratified samples have a few distinct weights and are grouped exactly; otherwise weights
    are cut at quantiles into `max_groups` groups and each group is resampled at its mean weight.
    """
    distinct = np.unique(w[: 1 << 16])
    if len(distinct) <= max_groups:
        codes = np.searchsorted(distinct, w)
        codes = np.minimum(codes, len(distinct) - 1)
        if np.array_equal(distinct[codes], w):
            return codes.astype(np.int64), len(distinct), True
    edges = np.unique(np.quantile(w, np.linspace(0, 1, max_groups + 1)[1:-1]))
    codes = np.searchsorted(edges, w, side="right").astype(np.int64)
    return codes, len(edges) + 1, False


def check_length(arr: np.ndarray, name: str, n: int, context: str = "") -> None:
    if len(arr) != n:
        raise _fail(context, f"{name} has {len(arr)} items but y_true has {n}")


@dataclass(frozen=True)
class BinaryData:
    """One binary task's validated input with unknown gold removed."""

    y: np.ndarray
    pred: np.ndarray
    score: np.ndarray | None
    weight: np.ndarray | None
    weight_group: np.ndarray | None
    n_weight_groups: int
    weights_exact: bool
    n_dropped: int
    threshold: float | None
    index: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.y)

    def positions(self) -> np.ndarray:
        """Positions of the kept items in the caller's arrays."""
        return np.arange(self.n) if self.index is None else self.index

    def take(self, idx: np.ndarray) -> BinaryData:
        """The subset at positions `idx` (into this data), keeping caller positions."""

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[idx]

        return replace(
            self,
            y=self.y[idx],
            pred=self.pred[idx],
            score=pick(self.score),
            weight=pick(self.weight),
            weight_group=pick(self.weight_group),
            index=self.positions()[idx],
        )


@dataclass(frozen=True)
class Weights:
    """Validated sample weights with their bootstrap grouping, computed once per call."""

    values: np.ndarray
    group: np.ndarray
    n_groups: int
    exact: bool

    @classmethod
    def build(cls, sample_weight: Any, n: int, context: str = "") -> Weights | None:
        if sample_weight is None:
            return None
        w = weights(sample_weight, context)
        check_length(w, "sample_weight", n, context)
        group, n_groups, exact = weight_groups(w)
        return cls(w, group, n_groups, exact)


def prepare_binary(
    y_true: Any,
    y_pred: Any = None,
    y_score: Any = None,
    *,
    threshold: float = 0.5,
    sample_weight: Any = None,
    known: Any = None,
    context: str = "",
    prepared_weights: Weights | None = None,
) -> BinaryData:
    """Validate one binary task; predictions default to `y_score >= threshold`."""
    y, mask = gold_labels(y_true, context, known)
    n = len(y)
    if n == 0:
        raise _fail(context, "no items to evaluate: y_true is empty")
    if y_pred is None and y_score is None:
        raise _fail(context, "give y_pred (0/1 decisions) or y_score (scores in [0, 1]) to evaluate")
    score = None if y_score is None else scores(y_score, "y_score", context)
    if score is not None:
        check_length(score, "y_score", n, context)
    used_threshold: float | None = None
    if y_pred is None:
        if not 0.0 <= threshold <= 1.0:
            raise _fail(context, f"threshold must be in [0, 1], got {threshold}")
        pred = (score >= threshold).view(np.int8)  # type: ignore[operator]
        used_threshold = float(threshold)
    else:
        pred = binary_predictions(y_pred, "y_pred", context)
        check_length(pred, "y_pred", n, context)
    w = prepared_weights or Weights.build(sample_weight, n, context)
    if w is not None:
        check_length(w.values, "sample_weight", n, context)
    data = BinaryData(
        y=y,
        pred=pred,
        score=score,
        weight=None if w is None else w.values,
        weight_group=None if w is None else w.group,
        n_weight_groups=1 if w is None else w.n_groups,
        weights_exact=True if w is None else w.exact,
        n_dropped=0,
        threshold=used_threshold,
    )
    if mask is None:
        return data
    kept = np.flatnonzero(mask)
    return replace(data.take(kept), n_dropped=n - len(kept))


def category_arrays(values: Any, name: str, categories: Sequence[str] | None) -> dict[str, Any]:
    """Multi-category input (mapping, DataFrame, or 2-D array + category names) as name -> column."""
    if values is None:
        return {}
    if hasattr(values, "columns") and hasattr(values, "__getitem__"):
        values = {str(c): np.asarray(values[c]) for c in values.columns}
    if isinstance(values, Mapping):
        cols = {str(k): v for k, v in values.items()}
        if categories is not None:
            missing = [c for c in categories if c not in cols]
            if missing:
                raise CharterError(f"{name} has no column for categories {missing}; it has {sorted(cols)}")
            return {c: cols[c] for c in categories}
        return cols
    arr = np.asarray(values)
    if arr.ndim != 2:
        raise CharterError(f"{name} must be a mapping of category -> array or a 2-D array (items x categories)")
    if categories is None:
        raise CharterError(f"{name} is a 2-D array: pass categories=[...] naming its {arr.shape[1]} columns")
    if arr.shape[1] != len(categories):
        raise CharterError(f"{name} has {arr.shape[1]} columns but {len(categories)} categories were named")
    return {c: arr[:, j] for j, c in enumerate(categories)}
