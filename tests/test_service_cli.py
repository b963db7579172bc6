"""`charter keys ...`, `charter decisions ...` and the zero-setup artifacts of a bare
`charter serve`, through the real Typer commands (registered in cli/main.py by the lead)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import typer
from typer.testing import CliRunner

from charter.cli import serve_cmd
from charter.compile import load_bundle
from charter.compile.loader import LoadedBundle
from charter.datasets import load_split
from charter.dsa.validate import validate_statement
from charter.records import ContentItem
from charter.service.engines import EngineRecipe
from charter.store.decision_log import read_decision_log
from service_support import moderator_key, service_on, sqlite_url
from service_support import bundle, model_dir, sample_items  # noqa: F401

runner = CliRunner()


def test_keys_are_created_listed_and_revoked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    created = runner.invoke(serve_cmd.keys_app, ["create", "ingest", "--scope", "moderate", "--scope", "read", "--db", url])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert token.startswith("chtr_") and len(token) > 40
    key_id = created.output.split()[1]
    listed = runner.invoke(serve_cmd.keys_app, ["list", "--db", url])
    assert key_id in listed.output and "moderate,read" in listed.output and token not in listed.output
    revoked = runner.invoke(serve_cmd.keys_app, ["revoke", key_id, "--db", url])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    unknown = runner.invoke(serve_cmd.keys_app, ["revoke", "nope", "--db", url])
    assert unknown.exit_code == 2 and "no API key with id 'nope'" in unknown.output
    bad = runner.invoke(serve_cmd.keys_app, ["create", "x", "--scope", "write", "--db", url])
    assert bad.exit_code == 2 and "unknown scope(s) 'write'" in bad.output


def test_decisions_export_to_parquet_and_statements_of_reasons(
    tmp_path: Path, bundle: LoadedBundle, model_dir: Path, sample_items: list[ContentItem]
) -> None:
    url = sqlite_url(tmp_path)
    service = service_on(url, model_dir, bundle.root, EngineRecipe())  # the cascade charter serve runs
    # real spam, which the example's rules restrict, beside the sample (whose classifier scores
    # stay below the untuned policy's 0.95 auto-action bar)
    spam = [i for i in load_split("sms-spam", "test", source="sample").items if i.metadata["label"] == "spam"][:30]
    items = sample_items + spam
    decided = service.moderate(items, route="/v1/moderate/batch", batch=False, api_key_id=moderator_key(service)).decisions
    assert any(d.action != "allow" and d.action != "escalate" for d in decided)
    service.store.close()
    log = tmp_path / "log.parquet"
    exported = runner.invoke(serve_cmd.decisions_app, ["export", "-o", str(log), "--db", url])
    assert exported.exit_code == 0, exported.output
    assert read_decision_log(log) == decided
    out = tmp_path / "dsa"
    dsa = runner.invoke(serve_cmd.decisions_app, ["dsa", "-o", str(out), "--db", url])
    assert dsa.exit_code == 0, dsa.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["policy"] == str(bundle.identity)
    statements = [s for f in summary["files"] for s in json.loads((out / f).read_text())["statements"]]
    assert statements and len(statements) == summary["statements"]
    assert not [e for s in statements for e in validate_statement(s)]
    again = runner.invoke(serve_cmd.decisions_app, ["dsa", "-o", str(out), "--db", url])
    assert again.exit_code == 2 and "already holds batch files" in again.output
    since = runner.invoke(serve_cmd.decisions_app, ["export", "-o", str(tmp_path / "x.parquet"), "--db", url, "--since", "tomorrow"])
    assert since.exit_code == 2 and "--since 'tomorrow' is not an ISO date" in since.output


def test_an_unmigrated_store_is_refused_with_the_fix(tmp_path: Path) -> None:
    result = runner.invoke(serve_cmd.decisions_app, ["export", "-o", str(tmp_path / "x.parquet"), "--db", f"sqlite:///{tmp_path / 'new.db'}"])
    assert result.exit_code == 2 and "is at revision (empty)" in result.output and "migrate it first" in result.output


def test_serve_refuses_a_model_without_its_bundle(tmp_path: Path, model_dir: Path) -> None:
    app = typer.Typer()
    app.command()(serve_cmd.serve)
    result = runner.invoke(app, ["--model", str(model_dir), "--db", f"sqlite:///{tmp_path / 's.db'}"])
    assert result.exit_code == 2 and "--model needs --bundle" in result.output


def test_the_zero_setup_artifacts_are_built_once_and_reused(tmp_path: Path, model_dir: Path) -> None:
    shutil.copytree(model_dir, tmp_path / "example" / "model")  # trained by the same function
    stamp = (tmp_path / "example" / "model" / "model.json").stat().st_mtime_ns
    bundle_dir, example_model = serve_cmd.example_artifacts(tmp_path / "example")
    assert load_bundle(bundle_dir).identity.id == "charter-example"
    assert (example_model / "model.json").stat().st_mtime_ns == stamp  # still valid: reused
    (bundle_dir / "policy.json").write_text("{}")  # a damaged bundle is rebuilt, not served
    assert serve_cmd.example_artifacts(tmp_path / "example") == (bundle_dir, example_model)
    assert load_bundle(bundle_dir).identity.id == "charter-example"
