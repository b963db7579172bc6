"""The README's main command: the whole loop on the embedded defaults, through the real CLI."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from charter.cli.main import app
from charter.compile import load_bundle

runner = CliRunner()


def test_demo_runs_the_loop_and_leaves_every_artifact(tmp_path):
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "-o", str(out), "--n-boot", "100"])
    assert result.exit_code == 0, result.output
    for step in ("1. Write", "2. Compile", "3. Train", "4. Tune", "5. Enforce", "6. Measure", "7. Comply"):
        assert step in result.output
    bundle = load_bundle(out / "bundle")  # still verifies after thresholds were tuned into it
    tuned = [c for c, cfg in bundle.classifier["categories"].items() if cfg["provenance"]["source"] == "tuned"]
    assert tuned, "no category got tuned thresholds"
    assert bundle.classifier["categories"][tuned[0]]["provenance"]["split"] == "val"
    report = json.loads((out / "report" / "report.json").read_text())
    assert report["policy"]["hash"] == bundle.identity.hash
    assert report["pathways"] == ["cascade"]
    spam = report["summary"]["categories"]["spam_scams"]
    assert spam["f1"] > 0.8  # SMS spam is easy for an n-gram model; a broken pipeline is not
    assert (out / "model" / "model.json").exists()
    assert list((out / "dsa").glob("batch_*.json"))
    # the stage table and the examples name each stage that decided
    assert "decided by" in result.output and "rules: SPAM." in result.output
    assert "human review in" in result.output and "where the labelled test items went" in result.output


def test_demo_leaves_its_decisions_in_the_store_and_its_escalations_in_review(tmp_path):
    import pyarrow.parquet as pq
    from sqlalchemy import select

    from charter.datasets.registry import REGISTRY
    from charter.review import make_engine, session_factory, session_scope
    from charter.review.models import Item, Task
    from charter.service.export import pages
    from charter.service.store import ServiceStore

    out = tmp_path / "demo"
    for _ in range(2):  # a second run starts a fresh store, not one holding both runs' decisions
        result = runner.invoke(app, ["demo", "-o", str(out), "--n-boot", "0"])
        assert result.exit_code == 0, result.output
    url = f"sqlite:///{out / 'charter.db'}"
    logged = pq.read_table(out / "decisions.parquet").to_pylist()
    store = ServiceStore(url)
    try:
        stored = [row for page in pages(store) for row in page]
    finally:
        store.close()
    assert len(stored) == len(logged) == 1200
    assert {row.decision.item_id for row in stored} == {d["item_id"] for d in logged}
    escalated = {d["item_id"] for d in logged if d["action"] == "escalate"}
    assert escalated and len(escalated) < len(logged) / 2  # the review band, not everything
    with session_scope(session_factory(make_engine(url))) as session:
        queued = set(session.scalars(select(Item.external_id).join(Task, Task.item_id == Item.id)).all())
    assert escalated <= queued
    # engines, the store and reviewers never saw a dataset's label columns
    hidden = {c for entry in REGISTRY.values() for c in entry.info.label_columns}
    assert not any(hidden & set(row.item.metadata) for row in stored)


def test_every_command_group_is_wired():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("policy", "compile", "bundle", "datasets", "eval", "compare", "agreement", "thresholds", "dsa", "demo"):
        assert command in result.output
    for sub in ("lint", "show", "diff", "hash", "check-version"):
        assert sub in runner.invoke(app, ["policy", "--help"]).output


def test_demo_statements_of_reasons_validate(tmp_path):
    from charter.dsa.validate import validate_statement

    out = tmp_path / "demo"
    assert runner.invoke(app, ["demo", "-o", str(out), "--n-boot", "0"]).exit_code == 0
    files = sorted((out / "dsa").glob("batch_*.json"))
    assert files
    statements = [s for f in files for s in json.loads(f.read_text())["statements"]]
    assert all(len(json.loads(f.read_text())["statements"]) <= 100 for f in files)
    assert len({s["puid"] for s in statements}) == len(statements)
    assert not [e for s in statements for e in validate_statement(s)]
    assert {s["automated_decision"] for s in statements} == {"AUTOMATED_DECISION_FULLY"}
