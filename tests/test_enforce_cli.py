"""`charter enforce`: a decision log `charter eval` reads (with the dataset's gold beside it),
one pathway on an items file, the stage/action table, and user mistakes as one-line errors."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cascade_helpers import example_bundle, scripted_classifier
from charter.cli.enforce_cmd import enforce_command
from charter.cli.eval_cmd import run_eval
from charter.engines.classifier import save_model
from charter.io.records_io import read_decisions

app = typer.Typer()
app.command()(enforce_command)
runner = CliRunner()


@cache
def model_dir(root: str) -> Path:
    return save_model(scripted_classifier({}), Path(root) / "model")


def enforce(*args: str):
    return runner.invoke(app, ["--bundle", str(example_bundle().root), *args], env={"COLUMNS": "140"})


def test_a_dataset_run_writes_a_log_and_gold_that_eval_reads(tmp_path: Path) -> None:
    log = tmp_path / "run" / "decisions.parquet"
    result = enforce("--model", str(model_dir(str(tmp_path))), "--dataset", "sms-spam", "--source", "sample",
                     "--limit", "30", "-o", str(log))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "30 decisions by cascade:rules+classifier+human" in result.output
    assert "decided by" in result.output and "classifier" in result.output and "action" in result.output
    decisions = read_decisions(log)
    assert len(decisions) == 30 and {d.pathway for d in decisions} == {"cascade"}
    assert all(d.extra["decided_by"] in ("rules", "classifier", "human") for d in decisions)
    gold = log.with_name("decisions.gold.parquet")
    assert f"charter eval {log} --gold {gold}" in " ".join(result.output.split())
    run, _, json_path = run_eval(log, gold, tmp_path / "report", categories=["spam_scams"])
    assert run.n_items == 30 and "spam_scams" in json.loads(json_path.read_text(encoding="utf-8"))["summary"]["categories"]


def test_one_pathway_on_an_items_file(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    rows = [{"post": "a", "body": "double your bitcoin today"}, {"post": "b", "body": "see you at lunch"}]
    items.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    log = tmp_path / "rules.parquet"
    result = enforce(str(items), "--pathway", "rules", "--map", "id=post", "--map", "text=body", "-o", str(log))
    assert result.exit_code == 0, result.output
    first, second = read_decisions(log)
    assert (first.pathway, first.action, second.action) == ("rules", "suspend_account", "allow")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give either INPUT"),
        (("items.jsonl", "--dataset", "sms-spam"), "give either INPUT"),
        (("--dataset", "sms-spam", "--pathway", "classifier"), "--pathway classifier needs --model"),
        (("--dataset", "sms-spam", "--pathway", "llm"), "--pathway llm needs an LLM"),
        (("--dataset", "sms-spam", "--pathway", "oracle"), "--pathway must be one of cascade, rules, classifier, llm"),
        (("--dataset", "weather"), "unknown dataset 'weather'"),
        (("--dataset", "sms-spam", "--llm-mode", "vibes"), "--llm-mode must be single or tree"),
        (("--dataset", "sms-spam", "--model", "no-such-model"), "no-such-model is not a Charter model"),
    ],
)
def test_user_mistakes_are_one_line_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = enforce(*args, "--source", "sample", "-o", str(tmp_path / "log.parquet"))
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_the_log_must_be_parquet(tmp_path: Path) -> None:
    result = enforce("--dataset", "sms-spam", "-o", str(tmp_path / "log.csv"))
    assert result.exit_code == 2 and "ending in .parquet" in result.output
