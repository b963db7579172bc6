"""The robustness suite on the vendored sample: evasion costs recall when normalization is
switched off, normalization wins most of it back, and the numbers are reproducible and
consistent with direct scoring."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from charter.datasets import apply_mapping, gold_arrays, load_mapping, load_split
from charter.engines.classifier import TrainedClassifier, train_classifier
from charter.engines.evasion import evade
from charter.engines.robustness import RobustnessReport, recovered_share, robustness_suite, summary
from charter.engines.routing import Routing
from charter.errors import CharterError
from charter.policy.load import load_policy
from charter.policy.spec import Policy

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples" / "policy.yaml"
DATASETS = ("davidson", "hatexplain", "olid", "sms-spam")


@functools.cache
def policy() -> Policy:
    return load_policy(EXAMPLE)


def _mapped(split: str) -> tuple[list[str], dict[str, np.ndarray]]:
    parts = [apply_mapping(load_split(n, split, source="sample"), load_mapping(n, policy()), policy()) for n in DATASETS]
    labels = [label for p in parts for label in p.labels]
    return [i.text for p in parts for i in p.items], gold_arrays(labels, ["hate", "harassment", "spam_scams"])


@functools.cache
def model() -> TrainedClassifier:
    texts, gold = _mapped("train")
    return train_classifier(texts, gold, policy())


@functools.cache
def report() -> RobustnessReport:
    texts, gold = _mapped("test")
    return robustness_suite(model(), Routing.from_policy(policy()), texts, gold, seed=5)


@pytest.mark.parametrize("category", ["hate", "spam_scams"])
def test_normalization_recovers_most_of_the_evasion_loss(category: str) -> None:
    pooled = summary(report(), "review")[category]
    assert pooled["raw_recall"] < pooled["original_recall"] - 0.05  # evasion hurts without normalization
    assert pooled["recovered_share"] >= 0.7
    for kind in ("homoglyph", "zero_width", "combined"):
        row = report().row(category, kind)
        assert row.raw_recall < row.original_recall, kind
        assert row.recovered_share is not None and row.recovered_share > 0.5, kind  # most of it


def test_rows_cover_every_category_transformation_and_tier_at_the_policy_thresholds() -> None:
    r = report()
    assert set(r.violating) == {"hate", "harassment", "spam_scams"}
    assert len(r.rows) == len(r.violating) * len(r.transformations) * 2
    cuts = Routing.from_policy(policy()).thresholds()
    for row in r.rows:
        assert row.threshold == cuts[row.category][row.tier]
        assert row.n == r.violating[row.category]


def test_recall_matches_scoring_the_variants_directly() -> None:
    texts, gold = _mapped("test")
    spam = [t for t, g in zip(texts, gold["spam_scams"]) if g == 1]
    variants = [evade(t, "spacing", seed=5) for t in spam]
    cut = Routing.from_policy(policy()).thresholds()["spam_scams"]["review"]
    row = report().row("spam_scams", "spacing")
    assert row.raw_recall == pytest.approx(np.mean(model().score(variants, normalize=False).scores["spam_scams"] >= cut))
    assert row.normalized_recall == pytest.approx(np.mean(model().score(variants).scores["spam_scams"] >= cut))
    assert row.original_recall == pytest.approx(np.mean(model().score(spam).scores["spam_scams"] >= cut))


def test_same_seed_same_numbers_and_subsets_are_seeded() -> None:
    texts, gold = _mapped("test")
    routing = Routing.from_policy(policy())
    a = robustness_suite(model(), routing, texts, gold, transformations=["leet"], seed=1, max_per_category=20)
    b = robustness_suite(model(), routing, texts, gold, transformations=["leet"], seed=1, max_per_category=20)
    assert a.rows == b.rows and set(a.violating.values()) == {20}


def test_recovered_share() -> None:
    assert recovered_share(0.8, 0.4, 0.7) == pytest.approx(0.75)
    assert recovered_share(0.8, 0.8, 0.8) is None  # nothing lost, nothing to recover
    assert recovered_share(0.5, 0.6, 0.5) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"transformations": ["rot13"]}, "unknown evasion transformation"),
        ({"gold": {"self_harm": np.ones(2)}}, "cover none of the model's categories"),
        ({"gold": {"hate": np.zeros(2)}}, "no violating gold items"),
        ({"gold": {"hate": np.ones(3)}}, "3 values for 2 texts"),
    ],
)
def test_bad_requests_are_refused(kwargs: dict, message: str) -> None:
    args = {"texts": ["a", "b"], "gold": {"hate": np.ones(2)}, **kwargs}
    with pytest.raises(CharterError, match=message):
        robustness_suite(model(), Routing.from_policy(policy()), **args)


def test_an_evasion_indicator_never_lowers_a_violation_score() -> None:
    # In the sample, SMS shorthand fires `leet` on benign texts, so hate would learn to read it
    # as innocence and a disguised slur would score lower than the plain one.
    features = model().card.hyperparameters.features
    flags = model().dense_weights[2 * features.n_features :]
    assert (flags >= 0).all()
    assert flags.max() > 0  # indicators still raise scores where they mark the category (spam)
