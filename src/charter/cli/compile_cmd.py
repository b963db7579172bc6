"""`charter compile` and `charter bundle show`: build a bundle from a policy file, and
summarise a compiled bundle after verifying its manifest."""

from __future__ import annotations

from pathlib import Path

import typer
from rich import box
from rich.table import Table

from charter.cli.common import console, err_console, user_errors
from charter.cli.policy_cmd import LINT_FAILED_EXIT, problem_line
from charter.compile import LoadedBundle, compile_policy, load_bundle, write_bundle
from charter.policy.hashing import short_hash
from charter.policy.lint import lint_policy
from charter.policy.load import load_policy_source


def _summary_table(bundle: LoadedBundle) -> Table:
    """One row per category: what it holds, how long its prompts are, its thresholds."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, caption_justify="left")
    table.add_column("category", no_wrap=True)
    for name in ("rules", "nodes", "ex."):
        table.add_column(name, justify="right")
    table.add_column("prompt", justify="right")
    table.add_column("tree max/sum", justify="right", no_wrap=True)
    table.add_column("auto/review", justify="right", no_wrap=True)
    table.add_column("action", no_wrap=True)
    table.caption = "prompt, tree: tokens of the single-shot prompt and of the per-node tree-walk prompts"
    for category in bundle.policy.categories:
        tokens = bundle.prompt_index["categories"][category.id]
        config = bundle.classifier["categories"][category.id]
        thresholds = config["thresholds"]
        tuned = "" if config["provenance"].get("source") == "policy" else " *"
        table.add_row(
            category.id,
            str(len(category.rules)),
            str(len(category.tree.nodes)),
            str(len(category.examples)),
            str(tokens["single_shot"]["tokens"]),
            f"{tokens['tree']['max_node_tokens']}/{tokens['tree']['total_tokens']}",
            f"{thresholds['auto_action']:.2f}/{thresholds['review']:.2f}{tuned}",
            config["auto_action"],
        )
    return table


def print_summary(bundle: LoadedBundle, heading: str) -> None:
    identity = bundle.identity
    console.print(f"[bold]{heading}[/]", highlight=False)
    console.print(
        f"policy [bold]{identity.id}[/] v{identity.version}  hash [cyan]{short_hash(identity.hash)}[/]  "
        f"· {len(bundle.manifest['artifacts'])} artifacts verified",
        highlight=False,
    )
    console.print(_summary_table(bundle))
    if any(c["provenance"].get("source") != "policy" for c in bundle.classifier["categories"].values()):
        console.print("* thresholds tuned after compiling (see classifier.json provenance)", style="dim")
    markets = bundle.classifier["markets"]
    if markets:
        console.print(f"markets: {', '.join(markets)}", highlight=False)
    low, high = bundle.prompt_index["sweet_spot_tokens"]
    long = [c for c, tokens in bundle.prompt_index["categories"].items() if tokens["single_shot"]["tokens"] > high]
    if long:
        console.print(
            f"note: the single-shot prompts of {', '.join(long)} exceed the {low}-{high} tokens where "
            "policy-conditioned models do best; small models do better in tree-walk mode (`--mode tree`), "
            "whose per-node prompts are shorter",
            style="yellow",
            highlight=False,
        )


@user_errors
def compile_command(
    policy: Path = typer.Argument(..., help="Policy YAML file."),
    out: Path = typer.Option(..., "-o", "--out", help="Directory to write the bundle to (new, empty, or a bundle)."),
) -> None:
    """Lint and compile a policy into a bundle of enforcement artifacts (exit 1 on lint errors,
    like `charter policy lint`, so CI reads one exit code the same way everywhere)."""
    loaded = load_policy_source(policy)
    report = lint_policy(loaded.policy, loaded)
    if not report.ok:
        for problem in report.errors:
            err_console.print(problem_line(problem, "error"), soft_wrap=True)
        err_console.print(f"{policy}: not compiled, {len(report.errors)} lint error{'s' if len(report.errors) != 1 else ''}",
                          style="bold red", highlight=False)
        raise typer.Exit(LINT_FAILED_EXIT)
    bundle = compile_policy(loaded.policy, loaded)
    write_bundle(bundle, out)
    print_summary(load_bundle(out), f"Compiled {policy} → {out}")
    warnings = len(report.warnings)
    if warnings:
        console.print(
            f"{warnings} lint warning{'s' if warnings != 1 else ''}: see `charter policy lint {policy}`",
            style="yellow",
            highlight=False,
        )


@user_errors
def bundle_info(bundle_dir: Path = typer.Argument(..., help="A compiled bundle directory.")) -> None:
    """Verify a bundle's manifest and summarise it."""
    print_summary(load_bundle(bundle_dir), f"Bundle {bundle_dir}")
