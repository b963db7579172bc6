"""`charter compile` and `charter bundle show`: a summary on success, one located message and
exit code 2 on a user error (lint errors, tampered bundle, foreign output directory)."""

from __future__ import annotations

from pathlib import Path

import typer
from compile_helpers import FIXTURE
from typer.testing import CliRunner

from charter.cli.common import USER_ERROR_EXIT
from charter.cli.compile_cmd import bundle_info, compile_command
from charter.cli.policy_cmd import LINT_FAILED_EXIT

app = typer.Typer()
app.command("compile")(compile_command)
app.command("show")(bundle_info)
runner = CliRunner()


def test_compile_writes_a_bundle_and_summarises_it(tmp_path: Path) -> None:
    result = runner.invoke(app, ["compile", str(FIXTURE), "-o", str(tmp_path / "b")], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b" / "manifest.json").is_file()
    out = result.output
    assert "compile-fixture" in out and "v2.1.0" in out and "14 artifacts verified" in out
    assert "harassment" in out and "spam_scams" in out and "0.95/0.70" in out
    shown = runner.invoke(app, ["show", str(tmp_path / "b")], env={"COLUMNS": "120"})
    assert shown.exit_code == 0 and "spam_scams" in shown.output and "0.92/0.60" in shown.output


def test_show_names_a_tampered_file(tmp_path: Path) -> None:
    runner.invoke(app, ["compile", str(FIXTURE), "--out", str(tmp_path / "b")])
    (tmp_path / "b" / "routing.json").write_text("{}")
    result = runner.invoke(app, ["show", str(tmp_path / "b")])
    assert result.exit_code == USER_ERROR_EXIT
    assert "routing.json" in result.output and "tampered" in result.output
    assert "Traceback" not in result.output


def test_compile_refuses_a_policy_with_lint_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        FIXTURE.read_text().replace("action: demote\n    escalation_queue", "action: erase\n    escalation_queue")
    )
    result = runner.invoke(app, ["compile", str(broken), "-o", str(tmp_path / "b")], env={"COLUMNS": "200"})
    assert result.exit_code == LINT_FAILED_EXIT  # the same code `charter policy lint` gives for the same errors
    assert "lint error" in result.output and "broken.yaml:" in result.output and "erase" in result.output
    assert not (tmp_path / "b").exists()


def test_compile_refuses_to_write_into_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    result = runner.invoke(app, ["compile", str(FIXTURE), "-o", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == USER_ERROR_EXIT and "holds no Charter bundle" in result.output
