"""The fast classifier: it learns real spam, its artifact round-trips and refuses another
policy, it routes scores as the bundle says, it scores Arrow tables like the engine, odd
inputs are handled, and normalization wins back evaded spam."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.metrics import precision_score, recall_score

from charter.compile import compile_policy, load_bundle, write_bundle
from charter.datasets import MappedSplit, apply_mapping, gold_arrays, load_mapping, load_split
from charter.engines.classifier import (
    ClassifierEngine,
    FeatureConfig,
    Featurizer,
    TrainConfig,
    TrainedClassifier,
    load_model,
    read_card,
    record_evaluation,
    save_model,
    score_table,
    train_classifier,
)
from charter.engines.evasion import SINGLE, evasion_variants
from charter.engines.normalize import normalize_batch
from charter.engines.routing import Routing
from charter.errors import CharterError
from charter.policy.hashing import policy_hash
from charter.policy.load import load_policy
from charter.policy.spec import Policy
from charter.records import ContentItem

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "src" / "charter" / "examples" / "policy.yaml"
MINIMAL = ROOT / "tests" / "fixtures" / "minimal_policy.yaml"


@functools.cache
def policy() -> Policy:
    return load_policy(EXAMPLE)


@functools.cache
def sms(split: str) -> MappedSplit:
    """SMS Spam (../shared/data, else the vendored sample) with gold labels under the policy."""
    return apply_mapping(load_split("sms-spam", split), load_mapping("sms-spam", policy()), policy())


def spam_gold(mapped: MappedSplit) -> np.ndarray:
    return gold_arrays(mapped.labels, ["spam_scams"])["spam_scams"]


@functools.cache
def model() -> TrainedClassifier:
    train = sms("train")
    texts = [item.text for item in train.items]
    return train_classifier(texts, {"spam_scams": spam_gold(train)}, policy(), label_mappings={"sms-spam": train.mapping.version})


@functools.cache
def held_out() -> tuple[list[str], np.ndarray]:
    test = sms("test")
    return [item.text for item in test.items], spam_gold(test)


# --------------------------------------------------------------------------- quality


def test_spam_precision_and_recall_on_held_out_messages() -> None:
    texts, gold = held_out()
    scores = model().score(texts).scores["spam_scams"]
    assert scores.min() >= 0.0 and scores.max() <= 1.0
    predicted = scores >= 0.5
    assert precision_score(gold, predicted) > 0.8
    assert recall_score(gold, predicted) > 0.8


def test_calibrated_scores_track_the_spam_rate() -> None:
    texts, gold = held_out()
    scores = model().score(texts).scores["spam_scams"]
    assert abs(scores.mean() - gold.mean()) < 0.05
    assert gold[scores >= 0.9].mean() > 0.9


def test_evaded_spam_recovers_its_score_through_normalization() -> None:
    texts, gold = held_out()
    m = model()
    scores = m.score(texts).scores["spam_scams"]
    caught = [t for t, s, g in zip(texts, scores, gold) if g == 1 and s >= 0.5][:80]
    original = m.score(caught).scores["spam_scams"].mean()
    for kind, variants in evasion_variants(caught, seed=7).items():
        normalized = m.score(variants).scores["spam_scams"].mean()
        raw = m.score(variants, normalize=False).scores["spam_scams"].mean()
        assert normalized > 0.85 * original, kind
        if kind in SINGLE and kind != "repetition":
            assert normalized > raw, kind  # normalization, not luck, wins the score back


# --------------------------------------------------------------------------- training


def test_training_uses_only_known_labels() -> None:
    train = sms("train")
    texts = [item.text for item in train.items][:1500]
    gold = spam_gold(train)[:1500].copy()
    gold[1::3] = np.nan
    masked = train_classifier(texts, {"spam_scams": gold}, policy())
    known = ~np.isnan(gold)
    subset = train_classifier([t for t, k in zip(texts, known) if k], {"spam_scams": gold[known]}, policy())
    assert masked.card.training_counts["spam_scams"]["known"] == int(known.sum())
    probe = texts[:200]
    np.testing.assert_allclose(masked.score(probe).scores["spam_scams"], subset.score(probe).scores["spam_scams"])


@pytest.mark.parametrize(
    ("gold", "message"),
    [
        ({"weather": np.ones(20)}, "does not have"),
        ({"spam_scams": np.ones(19)}, "one per text"),
        ({"spam_scams": np.full(20, 2.0)}, "1, 0 or NaN"),
        ({"spam_scams": np.r_[np.ones(18), np.zeros(2)]}, "at least"),
        ({}, "no gold labels"),
    ],
)
def test_bad_training_input_is_refused(gold: dict, message: str) -> None:
    with pytest.raises(CharterError, match=message):
        train_classifier(["text"] * 20, gold, policy())


def test_non_text_input_is_refused() -> None:
    with pytest.raises(CharterError, match="not strings"):
        model().score(["fine", None])  # type: ignore[list-item]


def test_char_features_equal_scikit_learn_char_wb() -> None:
    texts = [t for t in held_out()[0][:300]] + ["", "  ", "İstanbul ÇOK güzel", "a"]
    config = FeatureConfig()
    featurizer = Featurizer(config, max_cached_words=50)  # small cache: exercises clearing
    normalized = normalize_batch(texts)
    ours = featurizer.transform(normalized)
    reference = HashingVectorizer(
        analyzer="char_wb", ngram_range=config.char_ngrams, n_features=config.n_features, alternate_sign=False
    ).transform([n.text for n in normalized])
    block = ours[:, config.n_features : 2 * config.n_features]
    assert abs(block - reference).max() < 1e-6
    assert ours.shape == (len(texts), config.width)


# --------------------------------------------------------------------------- artifact


def test_artifact_round_trip(tmp_path: Path) -> None:
    m = model()
    save_model(m, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    texts = held_out()[0][:200]
    np.testing.assert_array_equal(loaded.score(texts).scores["spam_scams"], m.score(texts).scores["spam_scams"])
    card = json.loads((tmp_path / "model" / "model.json").read_text())
    assert card["policy"] == {"id": policy().id, "version": policy().version, "hash": policy_hash(policy())}
    assert card["label_mappings"] == {"sms-spam": "1.0.0"}
    assert len(card["training_data_hash"]) == 64
    assert card["hyperparameters"]["features"]["n_features"] == 2**20
    assert {"scikit-learn", "numpy", "charter"} <= card["library_versions"].keys()
    assert card["training_seconds"] > 0 and card["evaluation"] is None
    assert card["calibrators"]["spam_scams"]["method"] in ("isotonic", "sigmoid")
    assert card["files"].keys() == {"weights.npz"}

    record_evaluation(tmp_path / "model", {"spam_scams": {"precision": 0.97}})
    assert read_card(tmp_path / "model").evaluation == {"spam_scams": {"precision": 0.97}}
    load_model(tmp_path / "model")  # the weights are still the ones the card names


def test_tampered_or_incomplete_artifacts_are_refused(tmp_path: Path) -> None:
    save_model(model(), tmp_path / "m")
    with (tmp_path / "m" / "weights.npz").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(CharterError, match="sha256"):
        load_model(tmp_path / "m")
    (tmp_path / "m" / "model.json").write_text("{not json")
    with pytest.raises(CharterError, match="not valid JSON"):
        load_model(tmp_path / "m")
    with pytest.raises(CharterError, match="model.json is missing"):
        load_model(tmp_path / "nowhere")


def test_model_for_another_policy_is_refused_unless_allowed() -> None:
    other = load_policy(MINIMAL)  # has spam_scams too, but other content
    with pytest.raises(CharterError, match=r"model trained for policy charter-example@.*bundle is minimal@.*--allow-policy-mismatch"):
        ClassifierEngine(model(), Routing.from_policy(other))
    engine = ClassifierEngine(model(), Routing.from_policy(other), allow_policy_mismatch=True)
    assert engine.describe()["policy_mismatch"].startswith("model trained for policy charter-example@")
    decision = engine.decide([ContentItem(id="x", text="hi")])[0]
    assert decision.policy_id == "minimal" and decision.extra["policy_mismatch"] == engine.policy_mismatch
    assert "policy_mismatch" not in ClassifierEngine(model(), Routing.from_policy(policy())).decide([ContentItem(id="x", text="hi")])[0].extra


def test_a_category_the_policy_lacks_is_refused_even_when_mismatch_is_allowed() -> None:
    train = sms("train")
    texts = [item.text for item in train.items]
    gold = spam_gold(train)
    m = train_classifier(texts, {"spam_scams": gold, "synthetic_media": gold}, policy())
    with pytest.raises(CharterError, match="does not have: synthetic_media"):
        ClassifierEngine(m, Routing.from_policy(load_policy(MINIMAL)), allow_policy_mismatch=True)


# --------------------------------------------------------------------------- engine and routing


def test_engine_with_a_compiled_bundle(tmp_path: Path) -> None:
    bundle = load_bundle(write_bundle(compile_policy(policy()), tmp_path / "bundle"))
    engine = ClassifierEngine(model(), bundle)
    spam = "WINNER!! You have won a £1000 cash prize. Call 09061701461 to claim now"
    decisions = engine.decide([ContentItem(id="s", text=spam), ContentItem(id="h", text="see you at lunch")])
    assert [d.item_id for d in decisions] == ["s", "h"]
    assert decisions[0].labels == {"spam_scams": "violating"} and decisions[0].action == "remove"
    assert decisions[1].labels == {"spam_scams": "allowed"} and decisions[1].action == "allow"
    assert decisions[0].policy_hash == bundle.identity.hash
    assert decisions[0].model_version == model().card.model_id
    assert Routing.from_bundle(bundle) == Routing.from_policy(policy())


def test_retuned_thresholds_replace_the_bundles() -> None:
    engine = ClassifierEngine(model(), Routing.from_policy(policy()), thresholds={"spam_scams": {"auto_action": 1.0, "review": 0.0}})
    decision = engine.decide([ContentItem(id="s", text="are we still on for lunch?")])[0]
    assert decision.labels["spam_scams"] == "needs_review"
    assert decision.action == "escalate" and decision.escalation_queue == "standard_review"


def test_empty_and_megabyte_texts_are_decided() -> None:
    engine = ClassifierEngine(model(), Routing.from_policy(policy()))
    huge = "claim your free prize now, text WIN to 80086 " * 23_000
    assert len(huge.encode()) > 1_000_000
    decisions = engine.decide([ContentItem(id="empty", text=""), ContentItem(id="huge", text=huge)])
    assert [d.item_id for d in decisions] == ["empty", "huge"]
    for decision in decisions:
        assert 0.0 <= decision.scores["spam_scams"] <= 1.0
        assert decision.latency_ms is not None
    assert decisions[1].labels["spam_scams"] == "violating"


def test_evasion_signals_are_recorded_on_the_decision() -> None:
    engine = ClassifierEngine(model(), Routing.from_policy(policy()))
    decision = engine.decide([ContentItem(id="e", text="W1NNER! fr\u200bee prize")])[0]
    assert decision.extra["evasion"] == ["zero_width", "leet"]


def route(scores: dict[str, float], market: str | None = None, routing: Routing | None = None):
    routed = (routing or Routing.from_policy(policy())).route({c: np.array([s]) for c, s in scores.items()}, [market])
    return routed.labels(0), routed.actions[0], routed.queues[0]


def test_scores_route_to_labels_actions_and_queues() -> None:
    assert route({"spam_scams": 0.96}) == ({"spam_scams": "violating"}, "remove", None)
    assert route({"spam_scams": 0.8}) == ({"spam_scams": "needs_review"}, "escalate", "standard_review")
    assert route({"spam_scams": 0.5}) == ({"spam_scams": "allowed"}, "allow", None)


def test_the_strongest_auto_action_wins_and_outranks_review() -> None:
    labels, action, queue = route({"self_harm": 0.95, "hate": 0.95})
    assert action == "remove" and queue is None  # remove outranks label
    labels, action, queue = route({"spam_scams": 0.96, "self_harm": 0.5})
    assert (action, queue) == ("remove", None)
    assert labels == {"spam_scams": "violating", "self_harm": "needs_review"}


def test_review_goes_to_the_most_urgent_queue() -> None:
    assert route({"spam_scams": 0.8, "self_harm": 0.5})[1:] == ("escalate", "urgent_safety")


def test_market_overrides_and_retuning() -> None:
    assert route({"hate": 0.9})[0] == {"hate": "needs_review"}
    assert route({"hate": 0.9}, "DE")[0] == {"hate": "violating"}  # DE acts at 0.85
    assert route({"hate": 0.9}, "XX")[0] == {"hate": "needs_review"}  # unknown market: base
    retuned = Routing.from_policy(policy()).with_thresholds(
        {"spam_scams": {"auto_action": 0.6, "review": 0.3}, "hate": {"auto_action": 0.99, "review": 0.9}}
    )
    assert route({"spam_scams": 0.65}, "DE", retuned)[0] == {"spam_scams": "violating"}  # DE inherits spam
    assert route({"hate": 0.9}, "DE", retuned)[0] == {"hate": "violating"}  # DE's own hate cut stays


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"weather": {"auto_action": 0.9, "review": 0.5}}, "unknown category"),
        ({"hate": {"auto_action": 0.5, "review": 0.9}}, "above auto_action"),
        ({"hate": {"auto_action": 1.5, "review": 0.9}}, "invalid"),
    ],
)
def test_bad_thresholds_are_refused(thresholds: dict, message: str) -> None:
    with pytest.raises(CharterError, match=message):
        Routing.from_policy(policy()).with_thresholds(thresholds)


# --------------------------------------------------------------------------- Arrow tables


def test_score_table_matches_the_engine_and_streams_in_batches() -> None:
    texts = held_out()[0][:50]
    markets = ["DE" if i % 2 else None for i in range(len(texts))]
    table = pa.table({"id": [f"t{i}" for i in range(len(texts))], "text": texts, "market": markets})
    routing = Routing.from_policy(policy())
    whole = score_table(table, model(), routing)
    streamed = score_table(table, model(), routing, batch_size=7)
    assert whole.equals(streamed)
    assert "text" not in whole.column_names
    assert {"id", "market", "score_spam_scams", "label_spam_scams", "action", "escalation_queue", "evasion"} <= set(
        whole.column_names
    )
    decisions = ClassifierEngine(model(), routing).decide(
        [ContentItem(id=f"t{i}", text=t, market=m) for i, (t, m) in enumerate(zip(texts, markets))]
    )
    np.testing.assert_allclose(whole.column("score_spam_scams").to_numpy(), [d.scores["spam_scams"] for d in decisions])
    assert whole.column("action").to_pylist() == [d.action for d in decisions]


def test_score_table_edge_cases() -> None:
    empty = score_table(pa.table({"text": pa.array([], pa.string())}), model(), Routing.from_policy(policy()))
    assert empty.num_rows == 0 and "score_spam_scams" in empty.column_names
    with pytest.raises(CharterError, match="no text column 'text'"):
        score_table(pa.table({"body": ["x"]}), model())
    with pytest.raises(CharterError, match="null"):
        score_table(pa.table({"text": ["x", None]}), model())
    with pytest.raises(CharterError, match="must hold strings"):
        score_table(pa.table({"text": [1, 2]}), model())
    kept = score_table(pa.table({"text": ["hello"]}), model(), keep_text=True)
    assert kept.column("text").to_pylist() == ["hello"] and "action" not in kept.column_names


def test_dense_block_scoring_equals_the_stacked_sparse_product() -> None:
    """Scoring multiplies each feature block by its rows of dense weights; the result is the
    one product of the stacked features with the sparse weights (up to float32 rounding)."""
    texts, _ = held_out()
    normalized = normalize_batch(texts + ["", "h4te   y o u   a l l"])
    m = model()
    stacked = (m.featurizer.transform(normalized) @ m.weights).toarray() + m.intercepts
    np.testing.assert_allclose(m.decision_values(normalized), stacked, rtol=0, atol=1e-4)
    assert m.decision_values([]).shape == (0, len(m.categories))


def test_an_alpha_grid_picks_each_categorys_alpha_by_out_of_fold_auprc(tmp_path: Path) -> None:
    train = sms("train")
    texts = [item.text for item in train.items]
    grid = (1e-6, 1e-2)  # the strong end all but erases the weights: never the better choice
    m = train_classifier(texts, {"spam_scams": spam_gold(train)}, policy(), TrainConfig(alpha_grid=grid))
    assert m.card.chosen_alpha == {"spam_scams": 1e-6}
    save_model(m, tmp_path / "model")
    assert load_model(tmp_path / "model").card.chosen_alpha == {"spam_scams": 1e-6}
    assert model().card.chosen_alpha == {}  # without a grid, alpha is used as given
