"""`charter eval`: a decision log against gold labels, as an offline HTML report plus JSON."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from charter.cli.common import console, user_errors
from charter.errors import CharterError
from charter.evaluate import TierTargets
from charter.evaluate.joined import ReviewAs, join_decisions
from charter.io.labelled import read_labelled_items
from charter.io.records_io import read_decisions
from charter.report.evaluation import EvalOptions, EvalRun, evaluate_frame
from charter.report.html import write_report


def summary_table(run: EvalRun) -> Table:
    """The per-category headline numbers with intervals, for the terminal."""
    table = Table(title=f"{run.title}: {run.n_items} items", title_justify="left")
    for name in ("category", "labelled", "violating", "precision", "recall", "F1", "AUPRC"):
        table.add_column(name, justify="left" if name == "category" else "right")

    def cell(metrics, name: str) -> str:
        value = getattr(metrics, name)
        if value is None:
            return "—"
        iv = metrics.intervals.get(name)
        return f"{value:.3f}" + (f" [{iv.low:.2f}, {iv.high:.2f}]" if iv else "")

    for c, m in run.summary.categories.items():
        table.add_row(c, str(m.n), f"{m.support:.0f}", cell(m, "precision"), cell(m, "recall"), cell(m, "f1"), cell(m, "auprc"))
    micro = run.summary.micro
    table.add_row("micro", "", "", cell(micro, "precision"), cell(micro, "recall"), cell(micro, "f1"), "", style="bold")
    return table


def parse_pairs(entries: list[str], option: str, example: str) -> dict[str, str]:
    """FIELD=VALUE entries of a repeatable option (--map item_id=post_id, --set pathway=external)."""
    fields = {}
    for entry in entries:
        field, sep, value = entry.partition("=")
        if not sep or not field.strip() or not value:
            raise CharterError(f"{option} {entry!r}: write FIELD=VALUE, e.g. {option} {example}")
        fields[field.strip()] = value
    return fields


def run_eval(
    decisions_path: Path,
    gold_path: Path,
    out: Path,
    *,
    title: str | None = None,
    pathway: str | None = None,
    categories: list[str] | None = None,
    review_as: ReviewAs = "not_flagged",
    options: EvalOptions | None = None,
    columns: dict[str, str] | None = None,
    constants: dict[str, str] | None = None,
    threshold: float | None = None,
) -> tuple[EvalRun, Path, Path]:
    """Read, join, measure and write the report; shared by the CLI and the demo.

    `columns` maps decision fields to the columns of a user's JSONL/CSV/Parquet file
    (e.g. {"item_id": "post_id", "scores.hate": "p_hate"}); `constants` fills fields the file
    lacks (e.g. {"pathway": "external", "policy_id": "acme"}).
    """
    decisions = read_decisions(decisions_path, columns or None, constants=constants or None)
    if pathway:
        decisions = [d for d in decisions if d.pathway == pathway]
        if not decisions:
            raise CharterError(f"{decisions_path} has no decisions from pathway {pathway!r}")
    gold = read_labelled_items(gold_path)
    joined = join_decisions(
        decisions, gold.items, gold.labels, categories=categories, review_as=review_as, source=str(decisions_path),
        threshold=threshold,
    )
    first = decisions[0]
    stamps = {(d.policy_id, d.policy_version, d.policy_hash) for d in decisions}
    notes = list(joined.notes)
    if len(stamps) > 1:
        notes.append(f"the decisions were made under {len(stamps)} policy versions; the header shows the first")
    sources = {"decisions": str(decisions_path), "gold": str(gold_path)}
    for key in ("dataset", "split", "mapping"):
        if gold.meta.get(key):
            sources[key] = str(gold.meta[key])
    run = evaluate_frame(
        joined.frame,
        title=title or f"Evaluation of {first.pathway} decisions",
        policy={"id": first.policy_id, "version": first.policy_version, "hash": first.policy_hash},
        sources=sources,
        options=options,
        notes=notes,
        gold_caveats=gold.meta.get("caveats") or {},
    )
    html_path, json_path = write_report(run, out)
    return run, html_path, json_path


@user_errors
def eval_command(
    decisions: Path = typer.Argument(..., help="Decision log (Parquet log, JSONL, CSV) from any pathway."),
    gold: Path = typer.Option(..., "--gold", "-g", help="Labelled items (from `charter datasets import`)."),
    out: Path = typer.Option(Path("out/eval"), "--out", "-o", help="Folder for report.html and report.json."),
    title: str = typer.Option(None, "--title", help="Report title."),
    pathway: str = typer.Option(None, "--pathway", help="Evaluate only this pathway's decisions."),
    category: list[str] = typer.Option(None, "--category", "-c", help="Only these categories (repeatable)."),
    slice_by: list[str] = typer.Option(
        None, "--slice", "-s", help="Break down by a column: language, market, surface, metadata.<key> (repeatable)."
    ),
    weight: str = typer.Option(
        None, "--weight", help="Column with per-item sample weights (stratified golden sets), e.g. metadata.weight."
    ),
    min_support: int = typer.Option(30, "--min-support", help="Smallest slice (labelled items) that gets metrics."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap resamples for F1/AUPRC/ROC-AUC intervals."),
    confidence: float = typer.Option(0.95, "--confidence", help="Interval confidence level."),
    auto_precision: float = typer.Option(0.95, "--auto-precision", help="Precision target for auto-action."),
    review_precision: float = typer.Option(0.6, "--review-precision", help="Precision target for review."),
    lower_bound: bool = typer.Option(False, "--lower-bound", help="Meet precision targets on the interval's lower bound."),
    review_as: str = typer.Option("not_flagged", "--review-as", help="Count needs_review verdicts as 'flagged' or 'not_flagged'."),
    threshold: float = typer.Option(
        None, "--threshold", help="Flag score >= this where a decision has a score but no verdict (score-only logs)."
    ),
    maps: list[str] = typer.Option(
        None, "--map", help="FIELD=COLUMN for your own decision file, e.g. item_id=post_id, scores.hate=p_hate (repeatable)."
    ),
    sets: list[str] = typer.Option(
        None, "--set", help="FIELD=VALUE for fields your decision file lacks, e.g. pathway=external (repeatable)."
    ),
) -> None:
    """Evaluate one pathway's decisions against gold labels."""
    if review_as not in ("flagged", "not_flagged"):
        raise CharterError(f"--review-as must be 'flagged' or 'not_flagged', not {review_as!r}")
    try:
        options = EvalOptions(
            n_boot=n_boot,
            confidence=confidence,
            min_support=min_support,
            slice_columns=list(slice_by or []),
            weight_column=weight,
            targets=TierTargets(
                auto_action_precision=auto_precision, review_precision=review_precision, use_lower_bound=lower_bound
            ),
        )
    except ValueError as exc:
        raise CharterError(f"invalid option: {exc}") from None
    run, html_path, json_path = run_eval(
        decisions, gold, out, title=title, pathway=pathway, categories=list(category or []) or None,
        review_as=review_as, options=options, columns=parse_pairs(list(maps or []), "--map", "item_id=post_id"),
        constants=parse_pairs(list(sets or []), "--set", "pathway=external"),
        threshold=threshold,  # type: ignore[arg-type]
    )
    console.print(summary_table(run))
    for finding in run.findings:
        console.print(f"[bold]finding:[/] {finding}", highlight=False)
    for note in run.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    console.print(f"report: [bold]{html_path}[/]  numbers: {json_path}", highlight=False)
