"""`charter policy hash | diff | check-version`: output, exit codes and located messages."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from charter.cli import policy_identity_cmd
from charter.policy.hashing import policy_hash
from charter.policy.load import load_policy

FIXTURE = Path(__file__).parent / "fixtures" / "identity_policy.yaml"

app = typer.Typer()
app.command("diff")(policy_identity_cmd.diff)
app.command("hash")(policy_identity_cmd.hash)
app.command("check-version")(policy_identity_cmd.check_version)
runner = CliRunner()


def variant(tmp_path: Path, name: str, *replacements: tuple[str, str]) -> Path:
    text = FIXTURE.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BUMP = ("version: 1.2.0\n  owners", "version: 1.3.0\n  owners")
CHANGELOG = ("  changelog:\n", "  changelog:\n    - {version: 1.3.0, date: 2025-06-01, summary: Lower spam threshold.}\n")
THRESHOLD = ("thresholds: {auto_action: 0.95, review: 0.7}", "thresholds: {auto_action: 0.9, review: 0.7}")


def test_hash_prints_id_version_and_full_hash() -> None:
    result = runner.invoke(app, ["hash", str(FIXTURE)])
    assert result.exit_code == 0
    assert result.output.split() == ["identity", "1.2.0", policy_hash(load_policy(FIXTURE))]


def test_hash_of_a_missing_file_is_a_user_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["hash", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "not found" in result.output and "Traceback" not in result.output


def test_diff_text_and_json(tmp_path: Path) -> None:
    new = variant(tmp_path, "new.yaml", BUMP, CHANGELOG, THRESHOLD)
    text = runner.invoke(app, ["diff", str(FIXTURE), str(new)])
    assert text.exit_code == 0
    assert "~ threshold-changed: categories[spam_scams].thresholds.auto_action (tightened)" in text.output
    as_json = runner.invoke(app, ["diff", str(FIXTURE), str(new), "--json"])
    data = json.loads(as_json.output)
    assert data["new"]["version"] == "1.3.0"
    assert [c["kind"] for c in data["changes"]] == ["metadata-changed", "metadata-changed", "threshold-changed"]


def test_check_version_passes_a_proper_bump(tmp_path: Path) -> None:
    new = variant(tmp_path, "new.yaml", BUMP, CHANGELOG, THRESHOLD)
    result = runner.invoke(app, ["check-version", str(FIXTURE), str(new)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: identity@1.2.0")


def test_check_version_fails_on_an_unbumped_change_and_points_at_the_line(tmp_path: Path) -> None:
    new = variant(tmp_path, "new.yaml", THRESHOLD)
    result = runner.invoke(app, ["check-version", str(FIXTURE), str(new)])
    assert result.exit_code == 1
    assert f"error: {new}:6:12 metadata.version: content changed but the version is still 1.2.0" in result.output


def test_check_version_warnings_do_not_fail(tmp_path: Path) -> None:
    new = variant(tmp_path, "new.yaml", BUMP, THRESHOLD)
    result = runner.invoke(app, ["check-version", str(FIXTURE), str(new)])
    assert result.exit_code == 0
    assert "warning:" in result.output and "no changelog entry for version 1.3.0" in result.output


def test_invalid_policy_is_a_located_user_error(tmp_path: Path) -> None:
    bad = variant(tmp_path, "bad.yaml", ("sla_hours: 24", "sla_hours: -1"))
    result = runner.invoke(app, ["diff", str(FIXTURE), str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml:" in result.output and "Traceback" not in result.output
