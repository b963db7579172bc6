"""User errors reach the terminal verbatim: rich must not eat `[hate]` in a document path."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from charter.cli.main import app

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples" / "policy.yaml"


def test_load_errors_keep_bracketed_document_paths(tmp_path):
    broken = tmp_path / "policy.yaml"
    broken.write_text(EXAMPLE.read_text().replace("auto_action: 0.92", "auto_acton: 0.92", 1))
    result = CliRunner().invoke(app, ["policy", "lint", str(broken)])
    assert result.exit_code == 2
    assert "categories[hate].thresholds.auto_acton: unknown key 'auto_acton'. Did you mean 'auto_action'?" in result.output
    assert "Traceback" not in result.output
