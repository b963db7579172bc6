"""`charter dsa ...`: EU DSA statements of reasons from a decision log, and checking SoR files
against the Transparency Database's rules before they are submitted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.table import Table

from charter.cli.common import console, user_errors
from charter.compile.loader import load_bundle
from charter.dsa.config import PlatformConfig, load_platform_config
from charter.dsa.export import BATCH_SIZE, Export, batches, build_statements
from charter.dsa.validate import validate_statement
from charter.errors import CharterError, Location, Problem
from charter.io import read_items
from charter.store.decision_log import read_decision_log

app = typer.Typer(help="EU DSA statements of reasons: export and validate.", no_args_is_help=True)

SUMMARY_FILE = "summary.json"


def _batch_name(number: int) -> str:
    return f"batch_{number:04d}.json"


@app.command("export")
@user_errors
def export(
    log: Path = typer.Argument(..., help="Decision log (Parquet file or directory of parts)."),
    items: Path = typer.Option(..., "--items", help="The decided items: labelled-items Parquet or a JSONL/CSV of items."),
    bundle: Path = typer.Option(..., "--bundle", help="Compiled bundle of the policy the decisions were made under."),
    out: Path = typer.Option(..., "-o", "--out", help="Directory for batch_0001.json ... and summary.json."),
    platform_config: Path | None = typer.Option(
        None, "--platform-config", help="YAML: puid_prefix, default_territorial_scope, ToS URL, source_type."
    ),
) -> None:
    """Write one Transparency Database API batch per 100 restrictive decisions, all validated first."""
    check_out(out)
    config = load_platform_config(platform_config) if platform_config else PlatformConfig()
    loaded = load_bundle(bundle)
    export_ = build_statements(read_decision_log(log), read_items(items), loaded.policy, config)
    print_summary(write_statements(export_, str(loaded.identity), out), out)


def check_out(out: Path) -> None:
    """Batches of two exports must not mix in one directory."""
    if out.exists() and any(out.glob("batch_*.json")):
        raise CharterError(f"{out} already holds batch files; export into an empty directory so batches are not mixed")


def write_statements(export_: Export, policy: str, out: Path) -> dict[str, Any]:
    """batch_0001.json ... (API bodies of at most 100 statements) and summary.json in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for number, body in enumerate(batches(export_.statements), start=1):
        path = out / _batch_name(number)
        path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path.name)
    summary = {"policy": policy, "files": written, **export_.summary()}
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def print_summary(summary: dict[str, Any], out: Path) -> None:
    console.print(
        f"{summary['statements']} statements of reasons in {summary['batches']} batch file(s) in {out} "
        f"under {summary['policy']}"
    )
    if summary["without_statement"]:
        skipped = ", ".join(f"{action}: {n}" for action, n in summary["without_statement"].items())
        console.print(f"no statement needed (nothing restricted): {skipped}", style="dim")
    for key, title in (("by_category", "category"), ("by_decision", "decision"), ("by_automation", "automation")):
        if summary[key]:
            table = Table(title.capitalize(), "statements", box=box.SIMPLE, title_justify="left")
            for value, count in summary[key].items():
                table.add_row(value, str(count))
            console.print(table)


def _statements(data: Any, file: Path) -> list[Any]:
    """The statements in a file: one statement, a list, or a batch body {"statements": [...]}."""
    if isinstance(data, dict) and "statements" in data:
        data = data["statements"]
        if not isinstance(data, list):
            raise CharterError(f"{file}: \"statements\" must be an array of statements")
        if not 1 <= len(data) <= BATCH_SIZE:
            raise CharterError(f"{file}: a batch holds 1 to {BATCH_SIZE} statements, this one {len(data)}")
        return data
    return data if isinstance(data, list) else [data]


@app.command("validate")
@user_errors
def validate(file: Path = typer.Argument(..., help="A statement, a list of them, or an API batch body (JSON).")) -> None:
    """Check statements of reasons against every Transparency Database rule, field by field."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CharterError(f"{file}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    statements = _statements(data, file)
    problems: list[Problem] = []
    puids: dict[str, int] = {}
    for index, statement in enumerate(statements):
        where = f"statement_{index}"
        problems += [
            Problem(e.message, Location(file=str(file), path=f"{where}.{e.field}")) for e in validate_statement(statement)
        ]
        puid = statement.get("puid") if isinstance(statement, dict) else None
        if isinstance(puid, str) and puid in puids:
            problems.append(
                Problem(f"{puid!r} repeats statement_{puids[puid]}", Location(file=str(file), path=f"{where}.puid"))
            )
        elif isinstance(puid, str):
            puids[puid] = index
    if problems:
        raise CharterError(f"{file}: the Transparency Database would reject it ({len(problems)} problems)", problems)
    console.print(f"{file}: {len(statements)} statement(s) of reasons valid for the 1 July 2025 schema")
