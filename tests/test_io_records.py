"""Record I/O: round trips in every format, explicit column mappings, and located input errors."""

from __future__ import annotations

import datetime as dt

import pytest

from charter.errors import CharterError
from charter.io import (
    read_decisions,
    read_items,
    read_labelled_items,
    read_labels,
    write_decisions,
    write_items,
    write_labelled_items,
    write_labels,
)
from charter.records import ContentItem, Decision, Label

FORMATS = ("jsonl", "csv", "tsv", "parquet")
WHEN = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC)


def items() -> list[ContentItem]:
    return [
        ContentItem(
            id=f"post-{i}",
            text=f'line one, "quoted"\nline two {i} ✓',
            language="en" if i else None,
            market="DE",
            created_at=WHEN,
            metadata={"author": i, "tags": ["a", "b"], "nested": {"k": True}},
            media=[f"s3://bucket/{i}.png"] if i else [],
            provenance={"c2pa": {"ai": bool(i)}} if i else {},
        )
        for i in range(3)
    ]


def decisions() -> list[Decision]:
    return [
        Decision(
            item_id=f"post-{i}",
            pathway="llm",
            policy_id="charter-example",
            policy_version="1.0.0",
            policy_hash="ab" * 32,
            scores={"hate": 0.25 * i, "spam_scams": 0.5},
            labels={"hate": "violating" if i else "allowed"} | ({"spam_scams": "needs_review"} if i == 2 else {}),
            rule_ids=["HATE.1a"] if i else [],
            action="remove" if i else "allow",
            tree_path=["targets_group", "author_stance"],
            rationale="because" if i else None,
            model_version="m1",
            decision_id=f"d{i}",
            decided_at=WHEN,
            latency_ms=12.5,
            cost_usd=0.001,
            tokens_in=100,
            tokens_out=20,
            extra={"prompt": "single_shot"},
        )
        for i in range(3)
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_items_round_trip(tmp_path, fmt):
    path = write_items(items(), tmp_path / f"items.{fmt}")
    assert read_items(path) == items()


@pytest.mark.parametrize("fmt", FORMATS)
def test_decisions_round_trip(tmp_path, fmt):
    path = write_decisions(decisions(), tmp_path / f"decisions.{fmt}")
    assert read_decisions(path) == decisions()


@pytest.mark.parametrize("fmt", FORMATS)
def test_labels_round_trip(tmp_path, fmt):
    labels = [
        Label(
            item_id="a",
            policy_id="p",
            policy_version="1.0.0",
            policy_hash="h",
            labels={"hate": "allowed"},
            annotator_id="r1",
            note="ok",
        ),
        Label(
            item_id="a",
            policy_id="p",
            policy_version="1.0.0",
            policy_hash="h",
            labels={"hate": "violating"},
            annotator_id="r2",
        ),
    ]
    path = write_labels(labels, tmp_path / f"labels.{fmt}")
    assert read_labels(path) == labels


def test_column_mapping_and_unmapped_columns(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("tweet_id,body,lang,likes\n17,hello,en,3\n18,bye,de,\n", encoding="utf-8")
    got = read_items(path, {"id": "tweet_id", "text": "body", "language": "lang"})
    assert [(i.id, i.text, i.language, i.metadata) for i in got] == [
        ("17", "hello", "en", {"likes": "3"}),
        ("18", "bye", "de", {}),
    ]
    assert read_items(path, {"id": "tweet_id", "text": "body"}, unmapped="ignore")[0].metadata == {}


def test_decisions_from_a_foreign_csv_with_constants(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text("post,p_hate,verdict\na,0.91,violating\nb,0.02,\n", encoding="utf-8")
    got = read_decisions(
        path,
        {"item_id": "post", "scores.hate": "p_hate", "labels.hate": "verdict"},
        constants={"pathway": "external", "policy_id": "x", "policy_version": "1.0.0", "policy_hash": "h"},
    )
    assert [(d.item_id, d.scores, d.labels, d.pathway) for d in got] == [
        ("a", {"hate": 0.91}, {"hate": "violating"}, "external"),
        ("b", {"hate": 0.02}, {}, "external"),
    ]


def test_nested_jsonl_keys_are_addressable_with_dots(tmp_path):
    path = tmp_path / "nested.jsonl"
    path.write_text('{"post": {"id": 5, "body": "hi"}}\n\n{"post": {"id": 6, "body": "yo"}}\n', encoding="utf-8")
    got = read_items(path, {"id": "post.id", "text": "post.body"})
    assert [(i.id, i.text) for i in got] == [("5", "hi"), ("6", "yo")]


def test_missing_mapped_column_names_file_column_and_available(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("tweet_id,body\n1,hi\n", encoding="utf-8")
    with pytest.raises(CharterError) as err:
        read_items(path, {"id": "tid", "text": "body"})
    assert str(err.value) == f"{path}: column 'tid' (mapped to id) not found; available columns: tweet_id, body"
    with pytest.raises(
        CharterError, match="no column for required field\\(s\\) id, text; available columns: tweet_id, body"
    ):
        read_items(path)


def test_invalid_utf8_names_line_and_byte_offset(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,text\n1,ok\n2,caf\xe9\n".encode("latin-1"))
    with pytest.raises(CharterError) as err:
        read_items(path)
    assert f"{path}:3: invalid UTF-8 at byte offset 18 (byte 0xe9)" in str(err.value)
    assert "errors='replace'" in str(err.value)
    assert read_items(path, errors="replace")[1].text == "caf\ufffd"


def test_empty_files(tmp_path):
    for name, content in (("e.csv", ""), ("blank.jsonl", "\n \n"), ("head.csv", "id,text\n")):
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        with pytest.raises(CharterError, match="is empty|no rows|no records"):
            read_items(path)


def test_malformed_json_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "1", "text": "a"}\n{"id": "2", "text": }\n', encoding="utf-8")
    with pytest.raises(CharterError, match=rf"^{path}:2: malformed JSON at column 21"):
        read_items(path)
    path.write_text('{"id": "1", "text": "a"}\n["not", "an object"]\n', encoding="utf-8")
    with pytest.raises(CharterError, match=rf"^{path}:2: each line must be a JSON object"):
        read_items(path)


def test_duplicate_ids_report_the_first_few(tmp_path):
    path = tmp_path / "dup.csv"
    rows = "".join(f"{i % 7},t{i}\n" for i in range(20))
    path.write_text("id,text\n" + rows, encoding="utf-8")
    with pytest.raises(CharterError) as err:
        read_items(path)
    text = str(err.value)
    assert text.startswith(f"{path}: 13 duplicate item ids, e.g. '0' (line 2 and line 9)")
    assert text.count("(line") == 5


def test_duplicate_annotations_and_bad_cells(tmp_path):
    path = tmp_path / "labels.jsonl"
    line = '{"item_id": "a", "annotator_id": "r1", "policy_id": "p", "policy_version": "1.0.0", "policy_hash": "h"}\n'
    path.write_text(line * 2, encoding="utf-8")
    with pytest.raises(CharterError, match="1 duplicate \\(item_id, annotator_id\\) pairs"):
        read_labels(path)
    path = tmp_path / "d.csv"
    path.write_text("item_id,pathway,policy_id,policy_version,policy_hash,scores.hate,labels.hate\n"
                    "a,llm,p,1.0.0,h,0.3,violating\nb,llm,p,1.0.0,h,high,allowed\n", encoding="utf-8")  # fmt: skip
    with pytest.raises(
        CharterError, match=rf"{path}:3: column 'scores.hate' \(scores.hate\): expected a number, found 'high'"
    ):
        read_decisions(path)
    path.write_text(
        "item_id,pathway,policy_id,policy_version,policy_hash,labels.hate\na,llm,p,1.0.0,h,maybe\n", encoding="utf-8"
    )
    with pytest.raises(
        CharterError, match=rf"{path}:2: labels.hate: Input should be 'violating', 'allowed' or 'needs_review'"
    ):
        read_decisions(path)


def test_csv_structure_errors_and_formats(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text('id,text\n1,"two\nlines"\n2,a,extra\n', encoding="utf-8")
    with pytest.raises(CharterError, match=rf"{path}:4: expected 2 fields \(as in the header\), found 3"):
        read_items(path)
    with pytest.raises(CharterError, match="cannot tell the format of .*data.txt"):
        read_items(tmp_path / "data.txt")
    (tmp_path / "data.txt").write_text("id,text\n1,a\n", encoding="utf-8")
    assert read_items(tmp_path / "data.txt", format="csv")[0].text == "a"
    with pytest.raises(CharterError, match="not a readable Parquet file"):
        read_items(tmp_path / "data.txt", format="parquet")


def test_labelled_items_round_trip(tmp_path):
    stamp = {
        "pathway": "dataset",
        "policy_id": "p",
        "policy_version": "1.0.0",
        "policy_hash": "h",
        "annotator_id": "dataset:x",
        "model_version": "mapping:x@1.0.0",
    }
    labels = [Label(item_id=i.id, labels={"hate": "violating"} if n else {}, **stamp) for n, i in enumerate(items())]
    path = write_labelled_items(tmp_path / "gold.parquet", items(), labels, ["hate"], dataset="x", split="test")
    back = read_labelled_items(path)
    assert back.items == items() and back.labels == labels
    assert back.categories == ["hate"] and back.meta["dataset"] == "x"
    assert read_items(path) == items()
    with pytest.raises(CharterError, match="not a labelled-items file"):
        read_labelled_items(write_items(items(), tmp_path / "plain.parquet"))
