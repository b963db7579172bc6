"""Intervals mean what they say: simulated coverage of Wilson and bootstrap intervals, bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np

from charter.evaluate import binary_metrics

PREVALENCE, TRUE_RECALL, TRUE_FPR = 0.3, 0.7, 0.1
TRUE_PRECISION = PREVALENCE * TRUE_RECALL / (PREVALENCE * TRUE_RECALL + (1 - PREVALENCE) * TRUE_FPR)
TRUE_F1 = 2 * PREVALENCE * TRUE_RECALL / (
    2 * PREVALENCE * TRUE_RECALL + (1 - PREVALENCE) * TRUE_FPR + PREVALENCE * (1 - TRUE_RECALL)
)


def _draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = (rng.random(n) < PREVALENCE).astype(np.int8)
    pred = np.where(y == 1, rng.random(n) < TRUE_RECALL, rng.random(n) < TRUE_FPR).astype(np.int8)
    return y, pred


def _covers(interval, truth: float) -> bool:
    return interval.low <= truth <= interval.high


def test_wilson_intervals_cover_about_95_percent():
    rng = np.random.default_rng(2024)
    trials = 2000
    hits = {"recall": 0, "precision": 0}
    for _ in range(trials):
        y, pred = _draw(rng, 150)
        m = binary_metrics(y, pred, n_boot=0)
        hits["recall"] += _covers(m.intervals["recall"], TRUE_RECALL)
        hits["precision"] += _covers(m.intervals["precision"], TRUE_PRECISION)
    for metric, count in hits.items():
        assert 0.93 <= count / trials <= 0.97, (metric, count / trials)


def test_weighted_wilson_uses_kish_effective_n():
    """A stratified sample (rare positives oversampled) still covers the population recall."""
    rng = np.random.default_rng(7)
    trials = 1000
    hits = 0
    recall_by_stratum = {0: 0.5, 1: 0.9}
    # population: stratum 1 (high score) is 5% of items; weights undo oversampling it
    for _ in range(trials):
        stratum = np.r_[np.zeros(150, int), np.ones(150, int)]
        weight = np.where(stratum == 1, 0.05 / 0.5, 0.95 / 0.5)
        y = np.where(stratum == 1, rng.random(300) < 0.6, rng.random(300) < 0.1).astype(int)
        caught = np.where(stratum == 1, recall_by_stratum[1], recall_by_stratum[0])
        pred = ((y == 1) & (rng.random(300) < caught)).astype(int)
        m = binary_metrics(y, pred, sample_weight=weight, n_boot=0)
        assert m.intervals["recall"].effective_n < (y == 1).sum()
        hits += _covers(m.intervals["recall"], _population_recall(recall_by_stratum))
    assert 0.91 <= hits / trials <= 0.98


def _population_recall(recall_by_stratum: dict[int, float]) -> float:
    positives = {0: 0.95 * 0.1, 1: 0.05 * 0.6}
    caught = sum(positives[s] * recall_by_stratum[s] for s in positives)
    return caught / sum(positives.values())


def test_bootstrap_f1_interval_coverage():
    rng = np.random.default_rng(11)
    trials = 200
    hits = 0
    for _ in range(trials):
        y, pred = _draw(rng, 400)
        m = binary_metrics(y, pred, n_boot=400, seed=int(rng.integers(1 << 30)))
        hits += _covers(m.intervals["f1"], TRUE_F1)
    assert 0.88 <= hits / trials <= 0.99


def test_bootstrap_memory_does_not_grow_with_resamples():
    rng = np.random.default_rng(0)
    n = 200_000
    y = (rng.random(n) < 0.05).astype(np.int8)
    s = np.where(y == 1, rng.beta(4, 2, n), rng.beta(2, 4, n))
    peaks = {}
    # both runs need several chunks of resamples (a chunk holds ~2**20 cell draws)
    for n_boot in (600, 3000):
        tracemalloc.start()
        binary_metrics(y, y_score=s, n_boot=n_boot, n_bins=2000)
        peaks[n_boot] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # 5x the resamples: only the per-resample scalars (a few KiB) may add up
    assert peaks[3000] < peaks[600] * 1.05 + 100_000


def _pooled_recall_coverage(duplicated: bool, trials: int, seed: int) -> float:
    """Coverage of the pooled (micro) recall interval over small golden sets of two or three categories."""
    from charter.evaluate import evaluate_categories

    rng = np.random.default_rng(seed)
    recall, fpr, n = 0.95, 0.02, 60
    hits = 0
    for _ in range(trials):
        if duplicated:  # one item's verdicts repeated on three categories: 3x the counts, not 3x the evidence
            y0 = (rng.random(n) < 0.3).astype(int)
            p0 = np.where(y0 == 1, rng.random(n) < recall, rng.random(n) < fpr).astype(int)
            y, pred = {c: y0 for c in "abc"}, {c: p0 for c in "abc"}
        else:  # correlated gold, independent verdicts, ~15 violating items per category
            base = rng.random(n)
            y = {c: (base + 0.3 * rng.random(n) < 0.39).astype(int) for c in "ab"}
            pred = {c: np.where(y[c] == 1, rng.random(n) < recall, rng.random(n) < fpr).astype(int) for c in y}
        report = evaluate_categories(y, y_pred=pred, n_boot=200, seed=int(rng.integers(1 << 30)))
        interval = report.micro.intervals["recall"]
        assert interval.method == "wilson_design_effect"
        hits += _covers(interval, recall)
    return hits / trials


def test_pooled_intervals_cover_on_small_sets_and_under_correlation():
    """A percentile bootstrap covers ~78% here (it collapses near 1 on small counts) and plain Wilson
    on pooled counts ~84% when verdicts repeat across categories; the design-effect Wilson covers both."""
    assert 0.90 <= _pooled_recall_coverage(duplicated=False, trials=150, seed=5) <= 0.995
    assert 0.90 <= _pooled_recall_coverage(duplicated=True, trials=150, seed=6) <= 0.995


def test_pooled_interval_does_not_collapse_on_a_perfect_small_set():
    from charter.evaluate import evaluate_categories

    y = {"a": np.array([1, 1, 1, 0, 0]), "b": np.array([0, 1, 0, 0, 1])}
    report = evaluate_categories(y, y_pred=y, n_boot=200)
    precision = report.micro.intervals["precision"]
    assert report.micro.precision == 1.0 and precision.high == 1.0
    assert precision.low < 0.8  # 5 of 5 correct is not proof of perfection
