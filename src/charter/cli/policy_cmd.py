"""`charter policy ...`: check a policy file and summarise it."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from charter.cli.common import console, user_errors
from charter.errors import CharterError, Problem
from charter.policy.lint import LintReport, lint_policy, problem_dict
from charter.policy.load import load_policy_source

app = typer.Typer(help="Check and inspect policy files.", no_args_is_help=True)

LINT_FAILED_EXIT = 1


def problem_line(problem: Problem, severity: str) -> Text:
    """`file:line:col  error  code  path: message`, styled, with no markup interpretation."""
    loc = problem.location
    where = loc.file or "<policy>"
    if loc.line is not None:
        where += f":{loc.line}"
        if loc.column is not None:
            where += f":{loc.column}"
    line = Text()
    line.append(where, style="bold")
    line.append("  ")
    line.append(severity, style="bold red" if severity == "error" else "bold yellow")
    line.append(f"  {problem.code}  ", style="cyan")
    if loc.path:
        line.append(f"{loc.path}: ", style="dim")
    line.append(problem.message)
    return line


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _summary(name: str, report: LintReport, strict: bool) -> Text:
    counts = f"{_plural(len(report.errors), 'error')}, {_plural(len(report.warnings), 'warning')}"
    failed = not report.ok or (strict and report.warnings)
    verdict = "FAILED" if failed else "OK"
    suffix = " (--strict: warnings fail)" if strict and report.ok and report.warnings else ""
    return Text(f"{name}: {verdict}, {counts}{suffix}", style="bold red" if failed else "bold green")


@app.command("lint")
@user_errors
def lint(
    policy: Path = typer.Argument(..., help="Policy YAML file."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON report instead of text."),
    strict: bool = typer.Option(False, "--strict", help="Treat warnings as failures."),
) -> None:
    """Validate POLICY and run every consistency check; exit 1 on errors (2 if it cannot be loaded)."""
    try:
        source = load_policy_source(policy)
    except CharterError as exc:
        if as_json:
            typer.echo(json.dumps({"ok": False, "file": str(policy), "load_error": exc.message,
                                   "errors": [problem_dict(p, "error") for p in exc.problems], "warnings": []},
                                  indent=2))
        raise
    report = lint_policy(source.policy, source)
    failed = not report.ok or (strict and bool(report.warnings))
    if as_json:
        payload = {"file": source.file, **report.to_dict(), "strict": strict}
        payload["ok"] = not failed
        typer.echo(json.dumps(payload, indent=2))
    else:
        for problem in report.errors:
            console.print(problem_line(problem, "error"), soft_wrap=True)
        for problem in report.warnings:
            console.print(problem_line(problem, "warning"), soft_wrap=True)
        console.print(_summary(source.file, report, strict), soft_wrap=True)
    if failed:
        raise typer.Exit(LINT_FAILED_EXIT)


@app.command("show")
@user_errors
def show(policy: Path = typer.Argument(..., help="Policy YAML file.")) -> None:
    """Summarise POLICY: per category its rules, tree size, examples and thresholds."""
    loaded = load_policy_source(policy).policy
    meta = loaded.metadata
    console.print(Text(f"{meta.title}: {meta.id} {meta.version}, effective {meta.effective_date}", style="bold"),
                  soft_wrap=True)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("category", "rules", "nodes", "examples", "auto", "review", "markets"):
        table.add_column(column, justify="left" if column in ("category", "markets") else "right", no_wrap=True)
    for category in loaded.categories:
        markets = [m.id for m in loaded.markets if category.id in m.categories]
        table.add_row(
            Text(category.id),
            str(len(category.rules)),
            str(len(category.tree.nodes)),
            str(len(category.examples)),
            f"{category.thresholds.auto_action:.2f}",
            f"{category.thresholds.review:.2f}",
            Text(", ".join(markets) or "-"),
        )
    console.print(table)
    console.print(
        Text(f"{_plural(len(loaded.categories), 'category', 'categories')}, {_plural(len(loaded.actions), 'action')}, "
             f"{_plural(len(loaded.queues), 'queue')}, {_plural(len(loaded.markets), 'market')}, "
             f"{_plural(len(loaded.definitions), 'definition')}"),
        soft_wrap=True,
    )
