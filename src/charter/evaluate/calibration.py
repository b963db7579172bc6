"""Calibration: reliability-diagram data, ECE/MCE/Brier, and isotonic or sigmoid (Platt) calibrators.

Calibrators are fit with scikit-learn and stored as plain numbers (isotonic's breakpoints,
the sigmoid's coefficient and intercept), so a bundle can ship them as JSON and an engine can
apply them without scikit-learn or pickles.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

from charter.errors import CharterError
from charter.evaluate.inputs import BinaryData, prepare_binary, scores
from charter.evaluate.models import Reliability, ReliabilityBin


def _labelled(y_true: Any, y_score: Any, sample_weight: Any, known: Any) -> BinaryData:
    if y_score is None:
        raise CharterError("calibration needs scores: pass y_score (scores in [0, 1])")
    data = prepare_binary(y_true, None, y_score, sample_weight=sample_weight, known=known)
    if data.n == 0:
        raise CharterError("no items with a known gold label")
    return data


def reliability(
    y_true: Any,
    y_score: Any,
    *,
    n_bins: int = 10,
    strategy: Literal["uniform", "quantile"] = "uniform",
    sample_weight: Any = None,
    known: Any = None,
) -> Reliability:
    """Per-bin mean score vs observed positive rate, with ECE, MCE and the Brier score.

    `uniform` bins split [0, 1] evenly; `quantile` bins hold about equal numbers of items.
    """
    if n_bins < 1:
        raise CharterError(f"n_bins must be >= 1, got {n_bins}")
    if strategy not in ("uniform", "quantile"):
        raise CharterError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")
    data = _labelled(y_true, y_score, sample_weight, known)
    score = data.score
    assert score is not None
    w = np.ones(data.n) if data.weight is None else data.weight
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.unique(np.quantile(score, np.linspace(0.0, 1.0, n_bins + 1)))
        edges[0], edges[-1] = 0.0, 1.0
    inner = edges[1:-1]
    b = np.searchsorted(inner, score, side="right")
    k = len(edges) - 1
    count = np.bincount(b, minlength=k)
    weight = np.bincount(b, weights=w, minlength=k)
    predicted = np.bincount(b, weights=w * score, minlength=k)
    observed = np.bincount(b, weights=w * data.y, minlength=k)
    total = weight.sum()
    bins, gaps = [], []
    for i in range(k):
        mean_pred = predicted[i] / weight[i] if weight[i] > 0 else None
        obs = observed[i] / weight[i] if weight[i] > 0 else None
        if mean_pred is not None and obs is not None:
            gaps.append((weight[i], abs(obs - mean_pred)))
        bins.append(ReliabilityBin(
            lower=float(edges[i]), upper=float(edges[i + 1]), count=int(count[i]), weight=float(weight[i]),
            mean_predicted=None if mean_pred is None else float(mean_pred),
            observed=None if obs is None else float(obs),
        ))
    if total <= 0:
        raise CharterError("all sample weights are 0: calibration is undefined")
    ece = sum(wt * gap for wt, gap in gaps) / total
    mce = max(gap for _, gap in gaps)
    brier = brier_score_loss(data.y, score, sample_weight=data.weight)
    return Reliability(
        strategy=strategy, n=data.n, n_dropped=data.n_dropped, bins=bins,
        ece=float(ece), mce=float(mce), brier=float(brier),
    )


class _Calibrator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    n_fit: int = Field(description="items the calibrator was fit on")


class IsotonicCalibrator(_Calibrator):
    """A monotone step-linear map through isotonic regression's breakpoints (clipped at the ends)."""

    method: Literal["isotonic"] = "isotonic"
    x_thresholds: list[float] = Field(min_length=1)
    y_thresholds: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _same_length(self) -> IsotonicCalibrator:
        if len(self.x_thresholds) != len(self.y_thresholds):
            raise ValueError("x_thresholds and y_thresholds must have the same length")
        return self

    def apply(self, y_score: Any) -> np.ndarray:
        """Calibrated probabilities for scores in [0, 1] (same as IsotonicRegression.predict)."""
        return np.interp(scores(y_score, "y_score"), self.x_thresholds, self.y_thresholds)


class SigmoidCalibrator(_Calibrator):
    """Platt scaling: p = 1 / (1 + exp(-(coef * score + intercept)))."""

    method: Literal["sigmoid"] = "sigmoid"
    coef: float
    intercept: float

    def apply(self, y_score: Any) -> np.ndarray:
        """Calibrated probabilities for scores in [0, 1]."""
        z = self.coef * scores(y_score, "y_score") + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


Calibrator = Annotated[IsotonicCalibrator | SigmoidCalibrator, Field(discriminator="method")]
_CALIBRATOR = TypeAdapter(Calibrator)


def fit_calibrator(
    y_true: Any,
    y_score: Any,
    method: Literal["isotonic", "sigmoid"] = "isotonic",
    *,
    sample_weight: Any = None,
    known: Any = None,
    regularization: float = 1e4,
) -> IsotonicCalibrator | SigmoidCalibrator:
    """Fit a calibrator on held-out labelled scores.

    Isotonic needs plenty of data (scikit-learn's guidance: avoid it well below ~1000 items);
    sigmoid is the safer choice on small sets. `regularization` is LogisticRegression's C:
    large (nearly unpenalised) but finite, so perfectly separated scores still give a model.
    """
    data = _labelled(y_true, y_score, sample_weight, known)
    score = data.score
    assert score is not None
    if len(np.unique(data.y)) < 2:
        raise CharterError("calibration needs both positive and negative gold labels")
    if method == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(score, data.y, sample_weight=data.weight)
        return IsotonicCalibrator(
            x_thresholds=iso.X_thresholds_.tolist(), y_thresholds=iso.y_thresholds_.tolist(), n_fit=data.n
        )
    if method == "sigmoid":
        lr = LogisticRegression(C=regularization)
        lr.fit(score.reshape(-1, 1), data.y, sample_weight=data.weight)
        return SigmoidCalibrator(coef=float(lr.coef_[0, 0]), intercept=float(lr.intercept_[0]), n_fit=data.n)
    raise CharterError(f"method must be 'isotonic' or 'sigmoid', got {method!r}")


def load_calibrator(source: str | bytes | dict[str, Any]) -> IsotonicCalibrator | SigmoidCalibrator:
    """A calibrator from its JSON text (or parsed dict), as written by `model_dump_json()`."""
    try:
        if isinstance(source, dict):
            return _CALIBRATOR.validate_python(source)
        return _CALIBRATOR.validate_json(source)
    except ValidationError as exc:
        raise CharterError(f"not a valid calibrator: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}") from None
