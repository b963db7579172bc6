"""Batch scoring a Parquet item file into a decision log: in-process, a process pool and Ray
Data give the same decisions, which are the ones the classifier Engine makes item by item."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from charter.compile import compile_policy, load_bundle, write_bundle
from charter.datasets import apply_mapping, gold_arrays, load_mapping, load_split
from charter.engines.classifier import ClassifierEngine, load_model, save_model, train_classifier
from charter.engines.scale import score_parquet
from charter.errors import CharterError
from charter.policy.load import load_policy
from charter.policy.spec import Policy
from charter.records import ContentItem, Decision
from charter.store.decision_log import read_decision_log

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "src" / "charter" / "examples" / "policy.yaml"
ROWS = 1000


@functools.cache
def policy() -> Policy:
    return load_policy(EXAMPLE)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A spam model, the example bundle, and 1,000 items (SMS + tweets, some with a market)
    in a Parquet file with four row groups."""
    root = tmp_path_factory.mktemp("scale")
    mapped = apply_mapping(load_split("sms-spam", "all", source="sample"), load_mapping("sms-spam", policy()), policy())
    texts = [item.text for item in mapped.items]
    save_model(train_classifier(texts, gold_arrays(mapped.labels, ["spam_scams"]), policy()), root / "model")
    write_bundle(compile_policy(policy()), root / "bundle")
    pool = texts + [item.text for item in load_split("davidson", "all", source="sample").items]
    table = pa.table({
        "id": [f"item-{k:04d}" for k in range(ROWS)],
        "text": [pool[(k * 7) % len(pool)] for k in range(ROWS)],
        "market": [("EU", "US", None)[k % 3] for k in range(ROWS)],
        "author": [f"a{k % 11}" for k in range(ROWS)],
    })
    pq.write_table(table, root / "items.parquet", row_group_size=250)
    return {"root": root, "model": root / "model", "bundle": root / "bundle", "items": root / "items.parquet"}


def by_id(path: Path) -> dict[str, Decision]:
    return {d.item_id: d for d in read_decision_log(path)}


def assert_same(left: dict[str, Decision], right: dict[str, Decision]) -> None:
    assert left.keys() == right.keys()
    for item_id, a in left.items():
        b = right[item_id]
        assert a.scores.keys() == b.scores.keys()
        np.testing.assert_allclose([a.scores[c] for c in a.scores], [b.scores[c] for c in a.scores], rtol=0, atol=1e-9)
        assert (a.labels, a.action, a.escalation_queue, a.extra) == (b.labels, b.action, b.escalation_queue, b.extra), item_id
        assert (a.policy_hash, a.model_version, a.pathway) == (b.policy_hash, b.model_version, b.pathway)


@functools.cache
def reference(model: Path, bundle: Path, items: Path) -> dict[str, Decision]:
    """What the classifier Engine decides for the same items, one batch in memory."""
    engine = ClassifierEngine(load_model(model), load_bundle(bundle))
    table = pq.read_table(items)
    batch = [ContentItem(id=i, text=t, market=m) for i, t, m in zip(*(table.column(c).to_pylist() for c in ("id", "text", "market")))]
    return {d.item_id: d for d in engine.decide(batch)}


def test_inprocess_log_matches_the_engine_and_keeps_input_order(setup: dict[str, Path]) -> None:
    out = setup["root"] / "inprocess.parquet"
    result = score_parquet(setup["model"], setup["bundle"], setup["items"], out, batch_size=300)
    assert result.rows == ROWS and out.is_file()
    decisions = read_decision_log(out)
    assert [d.item_id for d in decisions] == [f"item-{k:04d}" for k in range(ROWS)]
    assert_same(by_id(out), reference(setup["model"], setup["bundle"], setup["items"]))
    actions = {d.action for d in decisions}
    assert "remove" in actions and "allow" in actions  # the routing really ran


def test_process_pool_over_row_groups_equals_inprocess(setup: dict[str, Path]) -> None:
    out = setup["root"] / "processes.parquet"
    score_parquet(setup["model"], setup["bundle"], setup["items"], out, engine="processes", workers=2, batch_size=100)
    assert [d.item_id for d in read_decision_log(out)] == [f"item-{k:04d}" for k in range(ROWS)]
    assert_same(by_id(out), reference(setup["model"], setup["bundle"], setup["items"]))


def test_bad_inputs_are_refused_with_a_reason(setup: dict[str, Path]) -> None:
    root = setup["root"]
    with pytest.raises(CharterError, match="unknown engine"):
        score_parquet(setup["model"], setup["bundle"], setup["items"], root / "x.parquet", engine="spark")  # type: ignore[arg-type]
    pq.write_table(pa.table({"id": ["a"], "body": ["hi"]}), root / "no_text.parquet")
    with pytest.raises(CharterError, match="no text column"):
        score_parquet(setup["model"], setup["bundle"], root / "no_text.parquet", root / "x.parquet")
    with pytest.raises(CharterError, match="does not exist"):
        score_parquet(setup["model"], setup["bundle"], root / "missing.parquet", root / "x.parquet")
    assert not (root / "x.parquet").exists()


def test_invalid_utf8_text_is_refused_naming_the_item_or_replaced(setup: dict[str, Path]) -> None:
    root = setup["root"]
    offsets = np.array([0, 2, 6], dtype=np.int32)
    text = pa.Array.from_buffers(pa.string(), 2, [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"hicaf\xe9")])
    pq.write_table(pa.table({"id": ["ok", "broken"], "text": text}), root / "bad_utf8.parquet")
    with pytest.raises(CharterError, match=r"text of item 'broken': invalid UTF-8 \(byte 0xe9 at byte offset 3\)"):
        score_parquet(setup["model"], setup["bundle"], root / "bad_utf8.parquet", root / "bad.parquet")
    assert not (root / "bad.parquet").exists()
    score_parquet(setup["model"], setup["bundle"], root / "bad_utf8.parquet", root / "bad.parquet", replace_invalid=True)
    assert [d.item_id for d in read_decision_log(root / "bad.parquet")] == ["ok", "broken"]


def test_an_allowed_policy_mismatch_is_recorded_on_every_row(setup: dict[str, Path], tmp_path: Path) -> None:
    other = load_policy(ROOT / "src" / "charter" / "examples" / "policy_v1_1.yaml")
    write_bundle(compile_policy(other), tmp_path / "next")
    with pytest.raises(CharterError, match="--allow-policy-mismatch"):
        score_parquet(setup["model"], tmp_path / "next", setup["items"], tmp_path / "x.parquet")
    result = score_parquet(setup["model"], tmp_path / "next", setup["items"], tmp_path / "log.parquet", allow_policy_mismatch=True)
    decisions = read_decision_log(tmp_path / "log.parquet")
    assert result.policy_warning and {d.extra["policy_mismatch"] for d in decisions} == {result.policy_warning}
    assert {d.policy_version for d in decisions} == {"1.1.0"}


def test_ray_data_actor_pool_equals_inprocess(setup: dict[str, Path]) -> None:
    ray = pytest.importorskip("ray", reason="ray[data] is not installed (optional extra for scale-out scoring)")
    pytest.importorskip("ray.data", reason="ray is installed without its data extra")
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # every socket on 127.0.0.1
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        out = setup["root"] / "ray-log"
        result = score_parquet(setup["model"], setup["bundle"], setup["items"], out, engine="ray", batch_size=250)
    finally:
        ray.shutdown()
    assert result.rows == ROWS and out.is_dir()
    assert_same(by_id(out), reference(setup["model"], setup["bundle"], setup["items"]))
