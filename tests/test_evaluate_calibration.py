"""Reliability data is right, calibrators reduce ECE, and they survive a JSON round trip."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss

from charter.errors import CharterError
from charter.evaluate import IsotonicCalibrator, fit_calibrator, load_calibrator, reliability


def _miscalibrated(seed: int, n: int = 8000):
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    y = (rng.random(n) < p).astype(int)
    return y, p**3  # overconfident towards 0: true rate p, reported p^3


def test_reliability_bins_match_sklearn_calibration_curve():
    y, s = _miscalibrated(0, 3000)
    rel = reliability(y, s, n_bins=10)
    prob_true, prob_pred = calibration_curve(y, s, n_bins=10)
    filled = [b for b in rel.bins if b.count]
    assert [b.observed for b in filled] == pytest.approx(prob_true)
    assert [b.mean_predicted for b in filled] == pytest.approx(prob_pred)
    assert sum(b.count for b in rel.bins) == 3000
    gaps = [abs(b.observed - b.mean_predicted) for b in filled]
    assert rel.ece == pytest.approx(sum(b.count * g for b, g in zip(filled, gaps)) / 3000)
    assert rel.mce == pytest.approx(max(gaps))
    assert rel.brier == pytest.approx(brier_score_loss(y, s))
    quantile = reliability(y, s, n_bins=5, strategy="quantile")
    assert max(b.count for b in quantile.bins) - min(b.count for b in quantile.bins) <= 3


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibration_reduces_ece_on_held_out_data(method):
    y_fit, s_fit = _miscalibrated(1)
    y_test, s_test = _miscalibrated(2)
    before = reliability(y_test, s_test).ece
    calibrator = fit_calibrator(y_fit, s_fit, method)
    after = reliability(y_test, calibrator.apply(s_test)).ece
    assert before > 0.15
    assert after < before / 2


def test_calibrators_round_trip_through_json():
    y, s = _miscalibrated(3)
    iso = fit_calibrator(y, s, "isotonic")
    reference = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(s, y)
    probe = np.linspace(0, 1, 101)
    assert iso.apply(probe) == pytest.approx(reference.predict(probe))
    for fitted in (iso, fit_calibrator(y, s, "sigmoid")):
        loaded = load_calibrator(fitted.model_dump_json())
        assert type(loaded) is type(fitted)
        assert loaded.apply(probe) == pytest.approx(fitted.apply(probe))
        assert load_calibrator(fitted.model_dump()) == fitted
    sigmoid = load_calibrator('{"method": "sigmoid", "coef": 2.0, "intercept": -1.0, "n_fit": 10}')
    assert sigmoid.apply([0.5]) == pytest.approx([0.5])


def test_calibration_errors_are_user_errors():
    with pytest.raises(CharterError, match="not a valid calibrator"):
        load_calibrator('{"method": "isotonic", "x_thresholds": [0, 1], "y_thresholds": [0], "n_fit": 2}')
    with pytest.raises(CharterError, match="both positive and negative"):
        fit_calibrator([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(CharterError, match="y_score\\[0\\]"):
        IsotonicCalibrator(x_thresholds=[0, 1], y_thresholds=[0, 1], n_fit=2).apply([2.0])
    with pytest.raises(CharterError, match="method must be"):
        fit_calibrator([1, 0], [0.9, 0.1], "beta")  # type: ignore[arg-type]
