"""Agreement between raters (humans, classifiers, LLMs alike): Cohen's kappa, Fleiss' kappa, Krippendorff's alpha.

Ratings are a matrix of shape (items, raters) holding any labels ("violating", 1, ...), with
None or NaN where a rater did not rate an item. Krippendorff's alpha uses every available
rating; Fleiss' kappa needs complete rows, so items with a missing rating are dropped and counted.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Literal

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from charter.errors import CharterError
from charter.evaluate.models import Agreement, CategoryAgreement

SINGLE_LABEL = "every rating is the same label, so chance agreement is 1 and the statistic is undefined"


def _codes(ratings: Any, name: str = "ratings") -> np.ndarray:
    """Ratings (items x raters) as float codes 0..k-1 with NaN for missing."""
    arr = np.asarray(ratings, dtype=object)
    if arr.ndim != 2:
        raise CharterError(f"{name} must be a 2-D matrix (items x raters), got shape {arr.shape}")
    flat = arr.ravel()
    missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in flat], dtype=bool)
    present = flat[~missing]
    codes = np.full(len(flat), np.nan)
    if len(present):
        numeric = all(isinstance(v, (int, float, np.integer, np.floating, bool, np.bool_)) for v in present)
        keys = present.astype(np.float64) if numeric else present.astype(str)
        _, inverse = np.unique(keys, return_inverse=True)
        codes[~missing] = inverse
    return codes.reshape(arr.shape)


def cohen_kappa(
    rater_a: Any, rater_b: Any, *, weights: Literal["linear", "quadratic"] | None = None
) -> Agreement:
    """Cohen's kappa between two raters on the items both rated (scikit-learn's cohen_kappa_score)."""
    a = np.asarray(rater_a, dtype=object)
    b = np.asarray(rater_b, dtype=object)
    if a.ndim != 1 or b.ndim != 1 or len(a) != len(b):
        raise CharterError(f"rater_a and rater_b must be 1-D with the same length, got {a.shape} and {b.shape}")
    codes = _codes(np.stack([a, b], axis=1)) if len(a) else np.zeros((0, 2))
    both = ~np.isnan(codes).any(axis=1)
    pairs = codes[both]
    base = dict(statistic="cohen_kappa", n_items=int(both.sum()), n_raters=2, n_dropped=int((~both).sum()))
    if len(pairs) == 0:
        return Agreement(**base, value=None, undefined="no item was rated by both raters")
    if len(np.unique(pairs)) < 2:
        return Agreement(**base, value=None, undefined=SINGLE_LABEL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(cohen_kappa_score(pairs[:, 0], pairs[:, 1], weights=weights))
    if not np.isfinite(value):
        return Agreement(**base, value=None, undefined=SINGLE_LABEL)
    return Agreement(**base, value=value)


def fleiss_kappa(ratings: Any) -> Agreement:
    """Fleiss' kappa across raters (statsmodels), on items rated by every rater."""
    codes = _codes(ratings)
    complete = ~np.isnan(codes).any(axis=1)
    rows = codes[complete]
    base = dict(statistic="fleiss_kappa", n_items=int(complete.sum()), n_raters=int(codes.shape[1]),
                n_dropped=int((~complete).sum()))
    if codes.shape[1] < 2:
        return Agreement(**base, value=None, undefined="agreement needs at least two raters")
    if len(rows) == 0:
        return Agreement(**base, value=None, undefined="no item was rated by every rater")
    if len(np.unique(rows)) < 2:
        return Agreement(**base, value=None, undefined=SINGLE_LABEL)
    table, _ = aggregate_raters(rows.astype(np.int64), n_cat=int(np.nanmax(codes)) + 1)
    return Agreement(**base, value=float(sm_fleiss_kappa(table, method="fleiss")))


def krippendorff_alpha(
    ratings: Any, *, level: Literal["nominal", "ordinal", "interval", "ratio"] = "nominal"
) -> Agreement:
    """Krippendorff's alpha (the `krippendorff` package); missing ratings are allowed.

    Items with fewer than two ratings cannot be paired and are counted in `n_dropped`.
    Non-nominal levels read the labels' sort order, so use numeric labels with them.
    """
    codes = _codes(ratings)
    pairable = (~np.isnan(codes)).sum(axis=1) >= 2
    base = dict(statistic="krippendorff_alpha", n_items=int(pairable.sum()), n_raters=int(codes.shape[1]),
                n_dropped=int((~pairable).sum()))
    if not pairable.any():
        return Agreement(**base, value=None, undefined="no item has two or more ratings")
    used = codes[pairable]
    if len(np.unique(used[~np.isnan(used)])) < 2:
        return Agreement(**base, value=None, undefined=SINGLE_LABEL)
    value = krippendorff.alpha(reliability_data=used.T, level_of_measurement=level)
    return Agreement(**base, value=float(value))


def category_agreement(ratings: Mapping[str, Any]) -> dict[str, CategoryAgreement]:
    """Agreement per category; each value is that category's (items x raters) ratings."""
    out = {}
    for category, matrix in ratings.items():
        codes = np.asarray(matrix, dtype=object)
        if codes.ndim != 2:
            raise CharterError(f"category {category!r}: ratings must be a 2-D matrix (items x raters)")
        out[str(category)] = CategoryAgreement(
            cohen_kappa=cohen_kappa(codes[:, 0], codes[:, 1]) if codes.shape[1] == 2 else None,
            fleiss_kappa=fleiss_kappa(codes),
            krippendorff_alpha=krippendorff_alpha(codes),
        )
    return out
