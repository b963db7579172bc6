"""Threshold tuning meets its targets when they are attainable and says so when they are not."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from charter.errors import CharterError
from charter.evaluate import (
    TierTargets,
    policy_thresholds,
    threshold_for_cost,
    threshold_for_precision,
    threshold_for_recall,
    tier_thresholds,
    tune_thresholds,
)

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scored(draw):
    n = draw(st.integers(3, 50))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    s = np.array(draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))) / 20
    w = np.array(draw(st.lists(st.floats(0.2, 3.0), min_size=n, max_size=n))) if draw(st.booleans()) else None
    return y, s, w


def _at(y, s, w, t):
    """(precision, recall) when flagging score >= t, by brute force."""
    w = np.ones(len(y)) if w is None else w
    flagged = s >= t
    tp = w[flagged & (y == 1)].sum()
    precision = tp / w[flagged].sum() if flagged.any() else 0.0
    return precision, tp / w[y == 1].sum() if y.any() else 0.0


@FAST
@given(scored(), st.sampled_from([0.5, 0.8, 0.95]))
def test_precision_target_is_met_with_the_best_recall(case, target):
    y, s, w = case
    choice = threshold_for_precision(y, s, target, sample_weight=w)
    feasible = [t for t in np.unique(s) if (s >= t).any() and _at(y, s, w, t)[0] >= target - 1e-12]
    if not y.any():
        assert not choice.attainable and choice.message == "no positives in y_true"
        return
    assert choice.attainable == bool(feasible)
    if not feasible:
        assert "no threshold reaches precision" in choice.message
        return
    precision, recall = _at(y, s, w, choice.threshold)
    assert precision >= target - 1e-12
    assert (choice.precision, choice.recall) == pytest.approx((precision, recall))
    assert recall == pytest.approx(max(_at(y, s, w, t)[1] for t in feasible))


@FAST
@given(scored(), st.sampled_from([0.3, 0.7, 1.0]))
def test_recall_target_is_met_with_the_best_precision(case, target):
    y, s, w = case
    choice = threshold_for_recall(y, s, target, sample_weight=w)
    if not y.any():
        assert not choice.attainable
        return
    precision, recall = _at(y, s, w, choice.threshold)
    assert choice.attainable and recall >= target - 1e-12
    best = max(_at(y, s, w, t)[0] for t in np.unique(s) if _at(y, s, w, t)[1] >= target - 1e-12)
    assert precision == pytest.approx(best)


def test_lower_bound_is_stricter_and_unattainable_targets_are_flagged():
    rng = np.random.default_rng(0)
    n = 3000
    y = (rng.random(n) < 0.1).astype(int)
    s = np.clip(rng.beta(2, 6, n) + 0.5 * y, 0, 1)
    point = threshold_for_precision(y, s, 0.9)
    bound = threshold_for_precision(y, s, 0.9, use_lower_bound=True)
    assert point.attainable and bound.attainable
    assert bound.threshold >= point.threshold and bound.precision_low >= 0.9
    assert bound.recall <= point.recall
    noisy = rng.random(n)  # scores carry no signal: precision stays near prevalence
    miss = threshold_for_precision(y, noisy, 0.9, use_lower_bound=True)
    assert not miss.attainable and "no threshold reaches precision lower bound 0.9" in miss.message
    assert miss.threshold is not None  # best effort is still reported


def test_cost_thresholds_match_brute_force():
    rng = np.random.default_rng(1)
    n = 300
    y = (rng.random(n) < 0.2).astype(int)
    s = np.round(np.clip(rng.beta(2, 5, n) + 0.4 * y, 0, 1), 2)
    cuts = np.r_[np.unique(s), 1.01]

    def cost(auto, review, c_fp=1.0, c_fn=4.0, c_rev=0.3):
        fp = ((s >= auto) & (y == 0)).sum()
        fn = ((s < review) & (y == 1)).sum()
        return c_fp * fp + c_fn * fn + c_rev * ((s >= review) & (s < auto)).sum()

    single = threshold_for_cost(y, s, cost_fp=1.0, cost_fn=4.0)
    assert single.expected_cost == pytest.approx(min(cost(t, t, c_rev=0) for t in cuts))
    assert single.review_threshold is None
    tiered = threshold_for_cost(y, s, cost_fp=1.0, cost_fn=4.0, cost_review=0.3)
    best = min(cost(a, r) for a in cuts for r in cuts if r <= a)
    assert tiered.expected_cost == pytest.approx(best)
    assert tiered.expected_cost == pytest.approx(cost(tiered.auto_action_threshold, tiered.review_threshold))
    assert tiered.review_threshold <= tiered.auto_action_threshold
    assert tiered.expected_cost <= single.expected_cost
    nothing = threshold_for_cost(y, s, cost_fp=100.0, cost_fn=0.0)
    assert nothing.auto_actioned == 0 and nothing.auto_action_threshold > s.max()
    with pytest.raises(CharterError, match="cost_fn must be a finite number"):
        threshold_for_cost(y, s, cost_fp=1.0, cost_fn=-1.0)


def test_tiers_and_policy_thresholds():
    rng = np.random.default_rng(2)
    n = 5000
    y = (rng.random(n) < 0.1).astype(int)
    s = np.clip(rng.beta(2, 6, n) + 0.6 * y * rng.random(n), 0, 1)
    tiers = tier_thresholds(y, s, TierTargets(auto_action_precision=0.95, review_precision=0.6))
    assert tiers.auto_action.attainable and tiers.review.attainable
    assert tiers.review.threshold <= tiers.auto_action.threshold
    assert tiers.review_band == pytest.approx(tiers.review.flagged - tiers.auto_action.flagged)
    spec = policy_thresholds(tiers)
    assert (spec.auto_action, spec.review) == (tiers.auto_action.threshold, tiers.review.threshold)
    by_recall = tier_thresholds(y, s, TierTargets(review_precision=None, review_recall=0.01))
    assert by_recall.review.threshold == by_recall.auto_action.threshold
    assert "review band is empty" in by_recall.message
    hopeless = tier_thresholds(y, rng.random(n), TierTargets(use_lower_bound=True))
    assert not hopeless.auto_action.attainable
    with pytest.raises(CharterError, match="cannot set policy thresholds"):
        policy_thresholds(hopeless)
    with pytest.raises(ValidationError):
        TierTargets(review_precision=0.6, review_recall=0.9)


def test_tune_thresholds_per_category_with_overrides():
    rng = np.random.default_rng(3)
    n = 2000
    y = (rng.random((n, 2)) < 0.1).astype(float)
    s = np.clip(rng.beta(2, 6, (n, 2)) + 0.6 * y * rng.random((n, 2)), 0, 1)
    y[:300, 1] = np.nan
    plans = tune_thresholds(
        y, s, {"hate": TierTargets(auto_action_precision=0.99)}, categories=["hate", "spam_scams"]
    )
    assert plans["hate"].auto_action.target == 0.99
    assert plans["spam_scams"].auto_action.target == 0.95
    assert plans["spam_scams"].auto_action.confusion.tp + plans["spam_scams"].auto_action.confusion.fn == (
        pytest.approx(np.nansum(y[300:, 1]))
    )
    with pytest.raises(CharterError, match="no scores for categories"):
        tune_thresholds({"hate": y[:, 0], "spam": y[:, 1]}, {"hate": s[:, 0]})
    with pytest.raises(CharterError, match="category 'spam': sample_weight has 2000 items but y_true has 10"):
        tune_thresholds(
            {"hate": y[:, 0], "spam": y[:10, 1]}, {"hate": s[:, 0], "spam": s[:10, 1]}, sample_weight=np.ones(n)
        )


def test_one_class_gold_gives_no_tier_thresholds_and_says_why():
    from charter.evaluate import tier_thresholds

    scores = np.linspace(0.05, 0.95, 40)
    no_violations = tier_thresholds(np.zeros(40), scores)
    assert not no_violations.auto_action.attainable and not no_violations.review.attainable
    assert no_violations.message == "no violating items in the gold labels to tune on"
    # all violating: every cut-off has precision 1, which says nothing about wrongful removals
    all_violating = tier_thresholds(np.ones(40), scores)
    assert not all_violating.auto_action.attainable and not all_violating.review.attainable
    assert "no allowed items" in all_violating.message
