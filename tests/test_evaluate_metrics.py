"""Binary, per-category, per-slice metrics and curves agree with scikit-learn and say why gaps exist."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from charter.errors import CharterError
from charter.evaluate import (
    binary_metrics,
    evaluate_categories,
    pr_curve,
    roc_curve,
    slice_metrics,
)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def binary_case(draw, weighted=None):
    n = draw(st.integers(2, 60))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    grid = draw(st.sampled_from([None, 4, 20]))  # coarse grids make ties
    if grid is None:
        s = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    else:
        s = np.array(draw(st.lists(st.integers(0, grid), min_size=n, max_size=n))) / grid
    use_w = draw(st.booleans()) if weighted is None else weighted
    w = np.array(draw(st.lists(st.floats(0.1, 5.0), min_size=n, max_size=n))) if use_w else None
    return y, s, w


def close(a, b, tol=1e-9):
    return a is not None and abs(a - b) <= tol


@FAST
@given(binary_case(), st.sampled_from([0.3, 0.5, 0.75]))
def test_point_metrics_match_sklearn(case, threshold):
    y, s, w = case
    pred = (s >= threshold).astype(int)
    m = binary_metrics(y, y_score=s, threshold=threshold, sample_weight=w, n_boot=0)
    cm = skm.confusion_matrix(y, pred, labels=[0, 1], sample_weight=w)
    assert np.allclose([m.confusion.tn, m.confusion.fp, m.confusion.fn, m.confusion.tp], cm.ravel())
    if pred.any():
        assert close(m.precision, skm.precision_score(y, pred, sample_weight=w))
    else:
        assert m.precision is None and m.undefined["precision"] == "no predicted positives"
    if y.any():
        assert close(m.recall, skm.recall_score(y, pred, sample_weight=w))
        assert close(m.f1, skm.f1_score(y, pred, sample_weight=w))
        assert close(m.auprc, skm.average_precision_score(y, s, sample_weight=w))
    else:
        assert m.recall is None and m.auprc is None
    if 0 < y.sum() < len(y):
        assert close(m.roc_auc, skm.roc_auc_score(y, s, sample_weight=w))
    else:
        assert m.roc_auc is None and m.undefined["roc_auc"] == "only one class present in y_true"
    assert close(m.accuracy, skm.accuracy_score(y, pred, sample_weight=w))


@FAST
@given(binary_case())
def test_best_f1_threshold_is_the_best_cut(case):
    y, s, w = case
    m = binary_metrics(y, y_score=s, sample_weight=w, n_boot=0)
    if not y.any():
        assert m.best_f1 is None
        return
    candidates = [skm.f1_score(y, (s >= t).astype(int), sample_weight=w) for t in np.unique(s)]
    assert m.best_f1 == pytest.approx(max(candidates))
    achieved = skm.f1_score(y, (s >= m.best_f1_threshold).astype(int), sample_weight=w)
    assert achieved == pytest.approx(m.best_f1)


def test_binned_bootstrap_curve_metrics_agree_with_sklearn():
    rng = np.random.default_rng(3)
    n = 60_000
    y = (rng.random(n) < 0.05).astype(int)
    s = np.where(y == 1, rng.beta(4, 2, n), rng.beta(2, 4, n))
    m = binary_metrics(y, y_score=s, n_boot=200, n_bins=2000)
    assert m.bootstrap.score_resolution == "binned" and m.bootstrap.n_bins == 2000
    ap, auc = skm.average_precision_score(y, s), skm.roc_auc_score(y, s)
    assert m.auprc == pytest.approx(ap, abs=1e-12)
    assert m.roc_auc == pytest.approx(auc, abs=1e-12)
    # the binned bootstrap is centred on the exact value: its interval covers it, and is tight
    for name, exact in (("auprc", ap), ("roc_auc", auc)):
        iv = m.intervals[name]
        assert iv.low <= exact <= iv.high
        assert iv.high - iv.low < 0.05


def test_binned_curve_metrics_are_close_to_exact_at_the_bin_resolution():
    from charter.evaluate.bootstrap import aggregate, score_groups
    from charter.evaluate.ranking import curve_stats, rank

    rng = np.random.default_rng(4)
    n = 100_000
    y = (rng.random(n) < 0.08).astype(np.int8)
    s = np.where(y == 1, rng.beta(3, 2, n), rng.beta(2, 3, n))
    groups = score_groups(s, rank(y, s, keep_distinct=10_000).distinct, 10_000)
    cells = aggregate([("score", groups.codes, groups.n_groups), ("y", y, 2)])
    tp = np.zeros(groups.n_groups)
    fp = np.zeros(groups.n_groups)
    pos = cells.fields["y"] == 1
    np.add.at(tp, cells.fields["score"][pos], cells.count[pos])
    np.add.at(fp, cells.fields["score"][~pos], cells.count[~pos])
    binned = curve_stats(tp, fp)
    assert float(binned.auprc) == pytest.approx(skm.average_precision_score(y, s), abs=1e-3)
    assert float(binned.roc_auc) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-4)


def test_unknown_gold_is_dropped_and_counted():
    y = np.array([1, 0, np.nan, 1, np.nan, 0])
    pred = np.array([1, 1, 1, 0, 0, 0])
    m = binary_metrics(y, pred, n_boot=0)
    assert (m.n, m.n_dropped) == (4, 2)
    assert m.confusion.model_dump() == {"tp": 1.0, "fp": 1.0, "fn": 1.0, "tn": 1.0}
    masked = binary_metrics([1, 0, 1, 1, 0, 0], pred, known=~np.isnan(y), n_boot=0)
    assert masked.confusion == m.confusion and masked.n_dropped == 2


def test_undefined_metrics_have_reasons_and_serialise():
    m = binary_metrics([0, 0, 0], y_score=[0.1, 0.2, 0.3], n_boot=50)
    assert m.precision is None and m.recall is None and m.f1 is None
    assert m.undefined["recall"] == "no positives in y_true"
    assert m.undefined["roc_auc"] == "only one class present in y_true"
    assert m.fpr == 0.0 and m.accuracy == 1.0
    assert "f1" not in m.intervals
    text = m.model_dump_json()
    assert "NaN" not in text and json.loads(text)["roc_auc"] is None
    no_scores = binary_metrics([1, 0], [1, 0], n_boot=0)
    assert no_scores.auprc is None and no_scores.undefined["auprc"] == "no scores (y_score) given"
    all_unknown = binary_metrics([np.nan, np.nan], [1, 0], n_boot=10)
    assert all_unknown.n == 0 and all_unknown.n_dropped == 2
    assert all_unknown.accuracy is None and all_unknown.bootstrap is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(y_true=[], y_pred=[]), "y_true is empty"),
        (dict(y_true=[1, 0, 1], y_pred=[1, 0]), "y_pred has 2 items but y_true has 3"),
        (dict(y_true=[1, 0], y_score=[0.1, 0.2, 0.3]), "y_score has 3 items but y_true has 2"),
        (dict(y_true=[1, 2], y_pred=[1, 0]), "y_true[1] = "),
        (dict(y_true=[1, 0], y_score=[0.5, 1.5]), "y_score[1] = 1.5 is outside [0, 1]"),
        (dict(y_true=[1, 0], y_score=[0.5, np.nan]), "y_score[1] = nan"),
        (dict(y_true=[1, 0], y_pred=[1, 0], sample_weight=[1, -1]), "sample_weight[1] = -1.0"),
        (dict(y_true=[1, 0]), "give y_pred"),
        (dict(y_true=[[1, 0]], y_pred=[[1, 0]]), "one-dimensional"),
    ],
)
def test_user_mistakes_raise_charter_error(kwargs, message):
    with pytest.raises(CharterError) as err:
        binary_metrics(**kwargs, n_boot=0)
    assert message in str(err.value)


def test_bootstrap_is_seeded_and_chunk_independent(monkeypatch):
    from charter.evaluate import bootstrap

    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.2).astype(int)
    s = np.clip(rng.random(3000) * 0.7 + 0.3 * y, 0, 1)
    a = binary_metrics(y, y_score=s, n_boot=300, seed=7)
    b = binary_metrics(y, y_score=s, n_boot=300, seed=7)
    c = binary_metrics(y, y_score=s, n_boot=300, seed=8)
    assert a.intervals == b.intervals and a.intervals != c.intervals
    assert a.bootstrap.score_resolution == "exact"
    width = a.intervals["f1"].high - a.intervals["f1"].low
    monkeypatch.setattr(bootstrap, "CHUNK_ELEMENTS", 5000)  # many small chunks
    d = binary_metrics(y, y_score=s, n_boot=300, seed=7)
    assert d.intervals["f1"].high - d.intervals["f1"].low == pytest.approx(width, rel=0.35)


def test_weighted_bootstrap_groups_weights():
    rng = np.random.default_rng(1)
    y = (rng.random(4000) < 0.3).astype(int)
    pred = np.where(rng.random(4000) < 0.8, y, 1 - y)
    strata = binary_metrics(y, pred, sample_weight=rng.choice([1.0, 4.0, 10.0], 4000), n_boot=200)
    assert strata.bootstrap.weights_grouped is False
    continuous = binary_metrics(y, pred, sample_weight=rng.uniform(0.5, 2.0, 4000), n_boot=200)
    assert continuous.bootstrap.weights_grouped is True
    assert continuous.intervals["f1"].low < continuous.f1 < continuous.intervals["f1"].high
    # Kish: the effective n of unequal weights is below the item count
    assert strata.effective_n < strata.n


CATS = ["hate", "spam_scams", "self_harm"]


def _multi(seed=0, n=3000):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 3)) < [0.1, 0.2, 0.05]).astype(float)
    s = np.clip(rng.beta(2, 5, (n, 3)) + 0.4 * y, 0, 1)
    return y, s


def test_categories_micro_macro_match_sklearn():
    y, s = _multi()
    pred = (s >= 0.5).astype(int)
    report = evaluate_categories(y, y_score=s, categories=CATS, n_boot=100)
    assert list(report.categories) == CATS and report.n_items == 3000
    assert report.micro.f1 == pytest.approx(skm.f1_score(y, pred, average="micro"))
    assert report.micro.precision == pytest.approx(skm.precision_score(y, pred, average="micro"))
    assert report.macro.f1 == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert report.macro.recall == pytest.approx(skm.recall_score(y, pred, average="macro"))
    assert report.macro.auprc == pytest.approx(skm.average_precision_score(y, s, average="macro"))
    for metric in ("precision", "recall", "f1", "fpr", "accuracy"):
        iv = report.micro.intervals[metric]
        assert iv.low <= getattr(report.micro, metric) <= iv.high
        assert report.macro.intervals[metric].n_resamples == 100
    as_dict = evaluate_categories(
        {c: y[:, j] for j, c in enumerate(CATS)}, y_score={c: s[:, j] for j, c in enumerate(CATS)}, n_boot=100
    )
    assert as_dict.model_dump() == report.model_dump()


def test_categories_unknown_gold_thresholds_and_exclusions():
    y, s = _multi(1, 500)
    y[:, 1] = np.nan  # a spam dataset says nothing about hate... here: nothing about spam
    y[:100, 0] = np.nan
    report = evaluate_categories(
        y, y_score=s, categories=CATS, threshold={"hate": 0.4}, n_boot=50
    )
    assert report.categories["spam_scams"].n == 0 and report.categories["spam_scams"].n_dropped == 500
    assert report.categories["hate"].n_dropped == 100 and report.categories["hate"].threshold == 0.4
    assert report.categories["self_harm"].threshold == 0.5
    assert report.macro.excluded["f1"] == ["spam_scams"]
    kept = ~np.isnan(y[:, 0])
    assert report.categories["hate"].recall == pytest.approx(
        skm.recall_score(y[kept, 0], s[kept, 0] >= 0.4)
    )


def test_categories_input_errors():
    y, s = _multi(2, 50)
    with pytest.raises(CharterError, match="pass categories"):
        evaluate_categories(y, y_score=s)
    with pytest.raises(CharterError, match="no predictions or scores"):
        evaluate_categories({"a": y[:, 0], "b": y[:, 1]}, y_score={"a": s[:, 0]})
    with pytest.raises(CharterError, match="category 'b': y_true has 10 items"):
        evaluate_categories({"a": y[:, 0], "b": y[:10, 1]}, y_pred={"a": y[:, 0], "b": y[:10, 1]})
    with pytest.raises(CharterError, match="category 'a': y_score\\[0\\]"):
        evaluate_categories({"a": y[:, 0]}, y_score={"a": s[:, 0] + 2})


def test_slices_guard_small_slices():
    rng = np.random.default_rng(5)
    n = 1000
    lang = rng.choice(["en", "de", "fr"], n, p=[0.7, 0.28, 0.02])
    lang = lang.astype(object)
    lang[:5] = None
    y = (rng.random(n) < 0.3).astype(int)
    pred = np.where(rng.random(n) < 0.85, y, 1 - y)
    report = slice_metrics(y, pred, slices=lang, column="language", min_support=30, n_boot=50)
    by = {s.value: s for s in report.slices}
    assert [s.n for s in report.slices] == sorted((s.n for s in report.slices), reverse=True)
    assert by["fr"].status == "insufficient support" and by["fr"].metrics is None
    assert "min_support 30" in by["fr"].reason
    assert by["<missing>"].n == 5
    en = (lang == "en")
    assert by["en"].metrics.f1 == pytest.approx(skm.f1_score(y[en], pred[en]))
    with pytest.raises(CharterError, match="slices has 3 items"):
        slice_metrics(y, pred, slices=["en", "de", "fr"])


def test_curves_are_downsampled_points_of_sklearns_curves():
    rng = np.random.default_rng(6)
    n = 5000
    y = (rng.random(n) < 0.1).astype(int)
    s = np.clip(rng.beta(2, 5, n) + 0.3 * y, 0, 1)
    pr = pr_curve(y, s, max_points=100)
    assert len(pr.recall) <= 100 and pr.recall[0] <= pr.recall[-1] == 1.0
    precision, recall, thresholds = skm.precision_recall_curve(y, s)
    lookup = dict(zip(thresholds, zip(precision, recall)))
    for p, r, t in zip(pr.precision, pr.recall, pr.thresholds):
        assert lookup[t] == pytest.approx((p, r))
    assert pr.auprc == pytest.approx(skm.average_precision_score(y, s))
    roc = roc_curve(y, s, max_points=100)
    assert (roc.fpr[0], roc.tpr[0], roc.thresholds[0]) == (0.0, 0.0, None)
    assert roc.fpr[-1] == roc.tpr[-1] == 1.0
    fpr, tpr, thr = skm.roc_curve(y, s, drop_intermediate=False)
    full = dict(zip(thr[1:], zip(fpr[1:], tpr[1:])))
    for f, t, th in zip(roc.fpr[1:], roc.tpr[1:], roc.thresholds[1:]):
        assert full[th] == pytest.approx((f, t))
    assert np.trapezoid(roc.tpr, roc.fpr) == pytest.approx(roc.roc_auc, abs=0.01)
    assert pr_curve([0, 0], [0.1, 0.2]).undefined == "no positives in y_true"
