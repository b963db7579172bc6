"""Decision logs: lossless Parquet round trips, appends, per-category arrays and DuckDB views."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow.parquet as pq
import pytest

from charter.errors import CharterError
from charter.records import Decision, Label
from charter.store.decision_log import (
    append_decision_log,
    categories,
    log_files,
    open_log,
    pred_arrays,
    read_decision_log,
    score_arrays,
    write_decision_log,
)

STAMP = {"policy_id": "charter-example", "policy_version": "1.0.0", "policy_hash": "c0" * 32}


def decision(i: int, pathway: str = "classifier", **overrides) -> Decision:
    fields = {
        "item_id": f"item-{i}",
        "pathway": pathway,
        "scores": {"hate": i / 10, "spam_scams": 1 - i / 10},
        "labels": {"hate": ["allowed", "violating", "needs_review"][i % 3]},
        "rule_ids": ["HATE.1a", "HATE.2a"][: i % 3],
        "action": "remove" if i % 3 == 1 else "allow",
        "tree_path": ["targets_group"] * (i % 2),
        "rationale": None if i % 2 else f"reason {i} ✓",
        "model_version": "tfidf-1",
        "decision_id": f"d-{pathway}-{i}",
        "decided_at": dt.datetime(2026, 1, 2, 3, 4, 5, i, tzinfo=dt.UTC),
        "latency_ms": 1.25 * i,
        "cost_usd": None,
        "tokens_in": i,
        "tokens_out": None,
        "escalation_queue": "standard_review" if i % 3 == 2 else None,
        "extra": {"batch": i, "tags": ["x"]} if i % 2 else {},
        **STAMP,
    }
    fields.update(overrides)
    return Decision(**fields)


def test_decision_round_trip_is_exact(tmp_path):
    original = [decision(i) for i in range(10)] + [Decision(item_id="bare", pathway="rules", **STAMP)]
    path = write_decision_log(original, tmp_path / "log.parquet")
    assert read_decision_log(path) == original


def test_naive_timestamps_and_labels_round_trip(tmp_path):
    naive = [decision(i, decided_at=dt.datetime(2026, 5, 1, 10, i)) for i in range(3)]
    assert read_decision_log(write_decision_log(naive, tmp_path / "naive.parquet")) == naive
    labels = [
        Label(item_id="a", labels={"hate": "violating"}, annotator_id="r1", note="slur", **STAMP),
        Label(item_id="a", pathway="dataset", labels={"hate": "allowed"}, annotator_id="r2", **STAMP),
    ]
    back = read_decision_log(write_decision_log(labels, tmp_path / "labels.parquet"))
    assert back == labels and all(isinstance(label, Label) for label in back)


def test_mixing_decisions_and_labels_is_refused(tmp_path):
    with pytest.raises(CharterError, match="either Decisions or Labels"):
        write_decision_log([decision(0), Label(item_id="a", **STAMP)], tmp_path / "x.parquet")


def test_scores_and_verdicts_are_columns_per_category(tmp_path):
    path = write_decision_log([decision(i) for i in range(4)], tmp_path / "log.parquet")
    schema = pq.read_schema(path)
    assert {"score_hate", "score_spam_scams", "label_hate"} <= set(schema.names)
    assert "scores" not in schema.names
    assert categories(path) == (["hate", "spam_scams"], ["hate"])


def test_append_to_a_directory_writes_parts_with_different_categories(tmp_path):
    log = tmp_path / "log"
    append_decision_log([decision(i) for i in range(3)], log)
    append_decision_log([decision(i, pathway="llm", scores={"self_harm": 0.5}, labels={}) for i in range(3, 5)], log)
    assert len(log_files(log)) == 2
    assert categories(log) == (["hate", "self_harm", "spam_scams"], ["hate"])
    back = read_decision_log(log)
    assert [d.item_id for d in back] == [f"item-{i}" for i in range(5)]
    assert back[3].scores == {"self_harm": 0.5} and back[0] == decision(0)
    ids, scores = score_arrays(log, ["hate", "self_harm"])
    assert list(ids) == [f"item-{i}" for i in range(5)]
    np.testing.assert_allclose(scores["hate"], [0.0, 0.1, 0.2, np.nan, np.nan])
    np.testing.assert_allclose(scores["self_harm"], [np.nan, np.nan, np.nan, 0.5, 0.5])


def test_append_to_a_single_file_rewrites_it(tmp_path):
    path = write_decision_log([decision(0)], tmp_path / "one.parquet")
    append_decision_log([decision(1, scores={"adult_sexual": 0.9})], path)
    back = read_decision_log(path)
    assert back == [decision(0), decision(1, scores={"adult_sexual": 0.9})]
    with pytest.raises(CharterError, match="holds decisions; cannot append"):
        append_decision_log([Label(item_id="a", **STAMP)], path)
    with pytest.raises(CharterError, match="is a directory; use append_decision_log"):
        write_decision_log([decision(0)], tmp_path)


def test_score_and_pred_arrays(tmp_path):
    rows = [decision(i) for i in range(6)] + [decision(i, pathway="llm") for i in range(2)]
    path = write_decision_log(rows, tmp_path / "log.parquet")
    ids, scores = score_arrays(path, ["hate"], pathway="llm")
    assert list(ids) == ["item-0", "item-1"]
    np.testing.assert_allclose(scores["hate"], [0.0, 0.1])
    ids, preds = pred_arrays(path, ["hate"], pathway="classifier")
    np.testing.assert_array_equal(preds["hate"], [0.0, 1.0, np.nan, 0.0, 1.0, np.nan])
    _, flagged = pred_arrays(path, ["hate"], pathway="classifier", review_as=1.0)
    np.testing.assert_array_equal(flagged["hate"], [0.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    with pytest.raises(CharterError, match="has no scores for 'harassment' \\(it has scores for: hate, spam_scams\\)"):
        score_arrays(path, ["harassment"])
    with pytest.raises(CharterError, match="has no verdicts for 'spam_scams'"):
        pred_arrays(path, ["spam_scams"])


def test_duckdb_views(tmp_path):
    log = tmp_path / "log"
    append_decision_log([decision(i) for i in range(6)], log)
    append_decision_log([decision(i, pathway="llm") for i in range(3)], log)
    con = open_log(log)
    assert con.execute("SELECT count(*) FROM decisions").fetchone() == (9,)
    rows = con.execute(
        "SELECT pathway, count(*), round(avg(score_hate), 3) FROM decisions GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == [("classifier", 6, 0.25), ("llm", 3, 0.1)]
    long = con.execute("SELECT category, count(*) FROM scores GROUP BY 1 ORDER BY 1").fetchall()
    assert long == [("hate", 9), ("spam_scams", 9)]
    verdicts = con.execute(
        "SELECT verdict, count(*) FROM verdicts WHERE pathway = 'classifier' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert verdicts == [("allowed", 2), ("needs_review", 2), ("violating", 2)]


def test_unreadable_and_missing_logs(tmp_path):
    with pytest.raises(CharterError, match="does not exist"):
        read_decision_log(tmp_path / "nope.parquet")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CharterError, match="has no \\*.parquet files"):
        read_decision_log(tmp_path / "empty")
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(CharterError, match="not a readable Parquet file"):
        read_decision_log(bad)


def test_a_large_log_is_written_and_sliced_quickly(tmp_path):
    rng = np.random.default_rng(7)
    scores = rng.random(50_000)
    rows = [
        Decision(item_id=f"i{i}", pathway="classifier", scores={"hate": s}, **STAMP)
        for i, s in enumerate(scores.tolist())
    ]
    path = write_decision_log(rows, tmp_path / "big.parquet")
    ids, arrays = score_arrays(path, ["hate"])
    np.testing.assert_array_equal(arrays["hate"], scores)
    assert ids[-1] == "i49999"
