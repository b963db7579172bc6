"""`charter datasets ...`: list, show, import and import-file, run on the vendored sample."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from charter.cli.datasets_cmd import app
from charter.io import read_labelled_items

runner = CliRunner()


@pytest.fixture(autouse=True)
def sample_only(tmp_path, monkeypatch):
    empty = tmp_path / "no-shared-data"
    empty.mkdir()
    monkeypatch.setenv("CHARTER_DATA_DIR", str(empty))


def test_list_reports_availability():
    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert len(rows) == 14
    assert rows["olid"]["available"] == "sample" and rows["tweepfake"]["available"] == "missing"
    assert rows["olid"]["splits"] == {"train": 11917, "val": 1323, "test": 860}
    assert rows["olid"]["published_splits"] == {"train": 13240, "test": 860} and rows["olid"]["carved_splits"] == ["val"]
    assert rows["davidson"]["carved_splits"] == []
    table = runner.invoke(app, ["list"])
    assert table.exit_code == 0 and "davidson" in table.output and "missing" in table.output
    assert "train val* test" in table.output and "carved from the official train split" in table.output


def test_show_counts_raw_labels_and_gold_verdicts():
    result = runner.invoke(app, ["show", "olid", "--split", "test", "--n", "2", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["source"] == "sample" and shown["rows"] == 200
    assert shown["raw_labels"]["subtask_a"] == {"NOT": 46, "OFF": 154}
    assert shown["verdicts"]["hate"] == {"violating": 46, "allowed": 73, "unknown": 81}
    assert len(shown["samples"]) == 2
    text = runner.invoke(app, ["show", "germeval2018", "--n", "1"])
    assert text.exit_code == 0 and "gold verdicts (mapping germeval2018@1.0.0" in text.output


def test_import_writes_items_and_gold_labels(tmp_path):
    out = tmp_path / "olid-test.parquet"
    result = runner.invoke(app, ["import", "olid", "--split", "test", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = read_labelled_items(out)
    assert len(data.items) == 200 and data.categories == ["hate", "harassment", "violent_threats"]
    assert data.meta["mapping"] == "olid@1.0.0" and data.meta["source"] == "sample"
    assert sum(label.labels.get("hate") == "violating" for label in data.labels) == 46


def test_import_errors_exit_2_with_a_message(tmp_path):
    result = runner.invoke(app, ["import", "tweepfake", "--split", "test", "-o", str(tmp_path / "x.parquet")])
    assert result.exit_code == 2 and "dataset 'tweepfake' not found" in result.output
    result = runner.invoke(app, ["show", "olid", "--split", "dev"])
    assert result.exit_code == 2 and "has no split 'dev'" in result.output


def test_show_the_carved_validation_split_with_harassment_positives():
    result = runner.invoke(app, ["show", "olid", "--split", "val", "--n", "0", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["rows"] == 100 and shown["raw_labels"]["subtask_c"]["IND"] == 20
    assert shown["verdicts"]["harassment"]["violating"] == 20
    text = runner.invoke(app, ["show", "germeval2018", "--split", "val", "--n", "0"])
    assert text.exit_code == 0 and "carved from it (seed 13)" in " ".join(text.output.split())


def test_import_file_with_column_mapping_and_labels(tmp_path):
    source = tmp_path / "mine.csv"
    source.write_text(
        "tweet_id,body,gold\n1,hello,allowed\n2,you people are vermin,violating\n3,meh,\n", encoding="utf-8"
    )
    out = tmp_path / "mine.parquet"
    args = [
        "import-file",
        str(source),
        "--map",
        "id=tweet_id",
        "--map",
        "text=body",
        "--map",
        "labels.hate=gold",
        "-o",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = read_labelled_items(out)
    assert [item.id for item in data.items] == ["1", "2", "3"]
    assert [label.labels for label in data.labels] == [{"hate": "allowed"}, {"hate": "violating"}, {}]
    assert data.items[0].metadata == {}
    bad = runner.invoke(app, ["import-file", str(source), "--map", "id=tid", "--map", "text=body", "-o", str(out)])
    assert (
        bad.exit_code == 2
        and "column 'tid' (mapped to id) not found; available columns: tweet_id, body, gold" in bad.output
    )
    bad = runner.invoke(app, ["import-file", str(source), "--map", "id", "-o", str(out)])
    assert bad.exit_code == 2 and "write FIELD=COLUMN" in bad.output
    source.write_text("tweet_id,body,gold\n1,hello,maybe\n", encoding="utf-8")
    bad = runner.invoke(app, args)
    assert bad.exit_code == 2 and f"{source}:2: column 'gold': 'maybe' is not a verdict" in bad.output
