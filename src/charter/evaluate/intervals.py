"""Confidence intervals: Wilson for proportions (Kish-weighted), percentiles for bootstrap draws."""

from __future__ import annotations

import numpy as np
from statsmodels.stats.proportion import proportion_confint

from charter.evaluate.models import Interval


def kish_effective_n(total_weight: np.ndarray | float, total_sq_weight: np.ndarray | float) -> np.ndarray:
    """Kish's effective sample size (sum w)^2 / sum w^2; equals the count when weights are all 1."""
    tw = np.asarray(total_weight, dtype=np.float64)
    tsq = np.asarray(total_sq_weight, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(tsq > 0, tw * tw / np.where(tsq > 0, tsq, 1.0), 0.0)


def wilson_bounds(
    successes: np.ndarray | float,
    total: np.ndarray | float,
    total_sq: np.ndarray | float,
    confidence: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised Wilson bounds of successes/total with weights, via the Kish effective n.

    With weights the observed proportion is kept and the number of trials is replaced by the
    effective n, the usual design-effect adjustment for weighted samples.
    """
    s = np.asarray(successes, dtype=np.float64)
    t = np.asarray(total, dtype=np.float64)
    n_eff = kish_effective_n(t, total_sq)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(t > 0, s / np.where(t > 0, t, 1.0), 0.0)
    safe_n = np.where(n_eff > 0, n_eff, 1.0)
    low, high = proportion_confint(np.clip(p, 0.0, 1.0) * safe_n, safe_n, alpha=1.0 - confidence, method="wilson")
    return np.clip(np.asarray(low, dtype=np.float64), 0.0, 1.0), np.clip(np.asarray(high, dtype=np.float64), 0.0, 1.0), n_eff


def wilson(successes: float, total: float, total_sq: float, confidence: float) -> Interval:
    """Wilson interval of one (weighted) proportion; callers ensure total > 0."""
    low, high, n_eff = wilson_bounds(successes, total, total_sq, confidence)
    return Interval(
        low=float(low), high=float(high), method="wilson", confidence=confidence, effective_n=float(n_eff)
    )


def percentile(draws: np.ndarray, confidence: float) -> Interval | None:
    """Percentile interval of bootstrap draws, ignoring resamples where the metric was undefined."""
    valid = draws[np.isfinite(draws)]
    if len(valid) == 0:
        return None
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(valid, [tail, 1.0 - tail])
    return Interval(
        low=float(low),
        high=float(high),
        method="bootstrap_percentile",
        confidence=confidence,
        n_resamples=int(len(valid)),
    )
