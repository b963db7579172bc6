"""`charter dsa export` and `charter dsa validate` end to end on a compiled bundle and real items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from charter.cli.dsa_cmd import app
from charter.compile import compile_policy, write_bundle
from charter.io import write_items, write_labelled_items
from charter.policy.load import load_policy_source
from charter.records import Label
from charter.store.decision_log import write_decision_log
from dsa_helpers import EXAMPLE, decide, items

runner = CliRunner()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    source = load_policy_source(EXAMPLE)
    return write_bundle(compile_policy(source.policy, source), tmp_path_factory.mktemp("dsa") / "bundle")


def setup(tmp_path: Path, *, labelled: bool = False) -> tuple[Path, Path]:
    decisions = []
    for index, item in enumerate(items()[:130]):
        if index % 13 == 0:
            decisions.append(decide(item, "allow", {"hate": "allowed"}))
        else:
            decisions.append(decide(item, "remove", {"hate": "violating"}, ["HATE.1a"], "classifier"))
    log = write_decision_log(decisions, tmp_path / "log.parquet")
    if labelled:
        labels = [Label(item_id=i.id, pathway="dataset", policy_id="charter-example", policy_version="1.0.0",
                        policy_hash=decisions[0].policy_hash, labels={"hate": "violating"}) for i in items()]
        item_file = write_labelled_items(tmp_path / "items.parquet", items(), labels, ["hate"])
    else:
        item_file = write_items(items(), tmp_path / "items.jsonl")
    return log, item_file


def test_export_writes_validated_batches_and_a_summary(tmp_path, bundle):
    log, item_file = setup(tmp_path)
    config = tmp_path / "platform.yaml"
    config.write_text("puid_prefix: examplenet\ndecision_ground_reference_url: https://example.org/terms\n")
    out = tmp_path / "sor"
    result = runner.invoke(app, ["export", str(log), "--items", str(item_file), "--bundle", str(bundle),
                                 "-o", str(out), "--platform-config", str(config)])
    assert result.exit_code == 0, result.output
    assert "120 statements of reasons in 2 batch file(s)" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["batch_0001.json", "batch_0002.json", "summary.json"]
    first = json.loads((out / "batch_0001.json").read_text())
    assert len(first["statements"]) == 100
    assert first["statements"][0]["puid"].startswith("examplenet-")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["by_category"] == {"STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH": 120}
    assert summary["without_statement"] == {"allow": 10}
    assert summary["by_automation"] == {"AUTOMATED_DECISION_FULLY": 120}
    check = runner.invoke(app, ["validate", str(out / "batch_0002.json")])
    assert check.exit_code == 0, check.output
    assert "20 statement(s) of reasons valid" in check.output
    again = runner.invoke(app, ["export", str(log), "--items", str(item_file), "--bundle", str(bundle), "-o", str(out)])
    assert again.exit_code == 2 and "already holds batch files" in again.output


def test_export_reads_labelled_items(tmp_path, bundle):
    log, item_file = setup(tmp_path, labelled=True)
    result = runner.invoke(app, ["export", str(log), "--items", str(item_file), "--bundle", str(bundle),
                                 "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "batch_0002.json").exists()


def test_export_with_missing_items_writes_nothing(tmp_path, bundle):
    log, _ = setup(tmp_path)
    few = write_items(items()[:5], tmp_path / "few.jsonl")
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(log), "--items", str(few), "--bundle", str(bundle), "-o", str(out)])
    assert result.exit_code == 2
    assert "nothing was exported" in result.output and "the item is not in the items file" in result.output
    assert not out.exists()


def test_validate_reports_field_level_errors(tmp_path):
    statement = {
        "decision_visibility": ["DECISION_VISIBILITY_OTHER"],
        "decision_facts": "Removed.",
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_ground": "ToS 3",
        "incompatible_content_explanation": "Spam.",
        "content_type": ["CONTENT_TYPE_TEXT"],
        "category": "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT",
        "territorial_scope": ["EL"],
        "content_date": "2025-07-01",
        "application_date": "2025-07-01",
        "source_type": "SOURCE_VOLUNTARY",
        "automated_detection": "yes",
        "automated_decision": "AUTOMATED_DECISION_FULLY",
        "puid": "p-1",
    }
    good = {**statement, "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
            "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "territorial_scope": ["GR"], "automated_detection": "Yes"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"statements": [good, statement]}))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "would reject it (5 problems)" in output
    assert "statement_1.decision_visibility_other: required because decision_visibility contains DECISION_VISIBILITY_OTHER" in output
    assert "statement_1.category: STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT was removed in the 1 July 2025 schema" in output
    assert "statement_1.territorial_scope.0: 'EL' is not accepted; the database writes this country as GR" in output
    assert "statement_1.automated_detection: 'yes' must be the string \"Yes\" or \"No\"" in output
    assert "statement_1.puid: 'p-1' repeats statement_0" in output
    assert "statement_0" not in output.replace("repeats statement_0", "")
    path.write_text("{not json")
    broken = runner.invoke(app, ["validate", str(path)])
    assert broken.exit_code == 2 and "not valid JSON" in broken.output
