"""Paired comparisons and rater agreement match statsmodels, scikit-learn and krippendorff."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from charter.errors import CharterError
from charter.evaluate import category_agreement, cohen_kappa, compare, fleiss_kappa, krippendorff_alpha


def _systems(seed: int, n: int = 4000):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.15).astype(float)
    sa = np.clip(rng.beta(2, 5, n) + 0.3 * y, 0, 1)
    sb = np.clip(sa + 0.15 * y * rng.random(n) - 0.05 * (1 - y) * rng.random(n), 0, 1)
    return y, sa, sb


def test_compare_matches_mcnemar_and_sklearn_and_lists_flips():
    y, sa, sb = _systems(0)
    y[:40] = np.nan
    a, b = (sa >= 0.5).astype(int), (sb >= 0.5).astype(int)
    result = compare(y, a, b, score_a=sa, score_b=sb, n_boot=300)
    kept = ~np.isnan(y)
    yk, ak, bk = y[kept], a[kept], b[kept]
    ca, cb = ak == yk, bk == yk
    table = [[(ca & cb).sum(), (ca & ~cb).sum()], [(~ca & cb).sum(), (~ca & ~cb).sum()]]
    m = result.mcnemar
    assert [[m.both_correct, m.only_a_correct], [m.only_b_correct, m.both_wrong]] == table
    assert m.p_value_exact == pytest.approx(mcnemar(table, exact=True).pvalue)
    assert m.p_value_midp <= m.p_value_exact
    assert result.f1.a == pytest.approx(f1_score(yk, ak)) and result.f1.b == pytest.approx(f1_score(yk, bk))
    assert result.f1.interval.low <= result.f1.difference <= result.f1.interval.high
    assert result.auprc.difference > 0 and result.auprc.interval.low > 0 and result.auprc.p_value < 0.05
    changed = np.flatnonzero(a != b)
    assert sorted(result.fixed + result.broken + result.flipped_unlabelled) == changed.tolist()
    assert all(b[i] == y[i] for i in result.fixed) and all(a[i] == y[i] for i in result.broken)
    assert all(i < 40 for i in result.flipped_unlabelled)
    assert (result.n, result.n_dropped) == (len(yk), 40)


def test_compare_identical_systems_and_bad_input():
    y, sa, _ = _systems(1, 500)
    a = (sa >= 0.5).astype(int)
    same = compare(y, a, a, n_boot=200)
    assert same.mcnemar.p_value_exact == 1.0 and same.f1.difference == 0.0
    assert same.f1.p_value == 1.0 and same.fixed == [] and same.broken == []
    assert same.auprc is None
    with pytest.raises(CharterError, match="give both score_a and score_b"):
        compare(y, a, a, score_a=sa)
    with pytest.raises(CharterError, match="pred_b has 3 items"):
        compare(y, a, a[:3])


def test_paired_bootstrap_p_value_detects_a_real_difference_only():
    rng = np.random.default_rng(2)
    n = 3000
    y = (rng.random(n) < 0.3).astype(int)
    a = np.where(rng.random(n) < 0.8, y, 1 - y)
    better = np.where(rng.random(n) < 0.5, y, a)  # fixes about half of a's errors
    peer = np.where(rng.random(n) < 0.8, y, 1 - y)  # as good as a, different errors
    assert compare(y, a, better, n_boot=400).f1.p_value < 0.01
    assert compare(y, a, peer, n_boot=400).f1.p_value > 0.05


RATINGS = [
    ["v", "v", "v", "a"],
    ["a", "a", "a", "a"],
    ["v", "a", "v", "v"],
    ["a", "a", "v", "a"],
    ["v", "v", "v", "v"],
    ["a", "v", "a", "a"],
]


def test_cohen_and_fleiss_match_reference_implementations():
    r = np.array(RATINGS)
    assert cohen_kappa(r[:, 0], r[:, 1]).value == pytest.approx(cohen_kappa_score(r[:, 0], r[:, 1]))
    ordinal_a, ordinal_b = [0, 1, 2, 2, 1, 0, 2], [0, 2, 2, 1, 1, 0, 1]
    assert cohen_kappa(ordinal_a, ordinal_b, weights="quadratic").value == pytest.approx(
        cohen_kappa_score(ordinal_a, ordinal_b, weights="quadratic")
    )
    codes = (r == "v").astype(int)
    table, _ = aggregate_raters(codes)
    result = fleiss_kappa(r)
    assert result.value == pytest.approx(sm_fleiss(table, method="fleiss"))
    assert (result.n_items, result.n_raters, result.n_dropped) == (6, 4, 0)


def test_krippendorff_alpha_matches_the_package_with_missing_ratings():
    # Krippendorff (2011) "Computing Krippendorff's alpha-reliability", nominal example: 4 coders, 12 units
    reliability_data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
        [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
    ]
    expected = krippendorff.alpha(reliability_data=reliability_data, level_of_measurement="nominal")
    result = krippendorff_alpha(np.array(reliability_data).T)
    assert result.value == pytest.approx(expected) and result.value == pytest.approx(0.743, abs=1e-3)
    assert result.n_dropped == 1  # unit 12 has a single rating
    fleiss = fleiss_kappa(np.array(reliability_data).T)
    assert fleiss.n_dropped == 4 and fleiss.n_items == 8


def test_agreement_undefined_cases_and_per_category():
    assert cohen_kappa(["v", "v"], ["v", "v"]).undefined.startswith("every rating is the same label")
    assert cohen_kappa(["v", None], [None, "a"]).undefined == "no item was rated by both raters"
    assert fleiss_kappa([["v"], ["a"]]).undefined == "agreement needs at least two raters"
    assert krippendorff_alpha([["v", None], [None, "a"]]).undefined == "no item has two or more ratings"
    per = category_agreement({"hate": np.array(RATINGS)[:, :2], "spam_scams": np.array(RATINGS)})
    assert per["hate"].cohen_kappa is not None and per["spam_scams"].cohen_kappa is None
    assert per["spam_scams"].fleiss_kappa.value == pytest.approx(fleiss_kappa(RATINGS).value)
    with pytest.raises(CharterError, match="2-D matrix"):
        fleiss_kappa(["v", "a"])
