"""`charter policy diff | hash | check-version`: a policy's identity and what changed between two.

Plain functions: cli/main.py registers them in the `charter policy` group.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from charter.cli.common import user_errors
from charter.errors import Problem
from charter.policy.diff import diff_policies, render_text
from charter.policy.hashing import policy_hash
from charter.policy.load import LoadedPolicy, load_policy, load_policy_source
from charter.policy.versioning import check_version_bump, is_error

CHECK_FAILED_EXIT = 1

OldPolicy = Annotated[Path, typer.Argument(help="The earlier policy version (YAML).")]
NewPolicy = Annotated[Path, typer.Argument(help="The later policy version (YAML).")]


@user_errors
def diff(
    old: OldPolicy,
    new: NewPolicy,
    json_out: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
) -> None:
    """Print the semantic diff from OLD to NEW: changes grouped by category, with impacts."""
    result = diff_policies(load_policy(old), load_policy(new))
    typer.echo(result.model_dump_json(indent=2) if json_out else render_text(result), nl=json_out)


@user_errors
def hash(policy: Annotated[Path, typer.Argument(help="The policy file (YAML).")]) -> None:  # noqa: A001
    """Print `ID VERSION HASH` (full SHA-256 of the content, without version and changelog)."""
    loaded = load_policy(policy)
    typer.echo(f"{loaded.id} {loaded.version} {policy_hash(loaded)}")


def _located(problem: Problem, source: LoadedPolicy) -> Problem:
    """The problem pointed at the line of the new file where its field is written."""
    path = problem.location.path or ""
    return dataclasses.replace(problem, location=source.locate(tuple(path.split(".")) if path else ()))


@user_errors
def check_version(old: OldPolicy, new: NewPolicy) -> None:
    """Check NEW's version against OLD: errors (exit 1) if the content changed without a bump."""
    source = load_policy_source(new)
    before = load_policy(old)
    result = diff_policies(before, source.policy)
    problems = [_located(p, source) for p in check_version_bump(before, source.policy, result)]
    for problem in problems:
        typer.echo(f"{'error' if is_error(problem) else 'warning'}: {problem}", err=True)
    if any(is_error(p) for p in problems):
        raise typer.Exit(CHECK_FAILED_EXIT)
    if result.content_changed:
        summary = f"content changed, calling for a {result.required_bump().upper()} bump"
    else:
        summary = "content unchanged"
    typer.echo(f"ok: {result.old} -> {result.new}; {summary}")
