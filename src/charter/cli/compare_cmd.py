"""`charter compare`, `charter agreement` and `charter thresholds tune`: commands that weigh
one set of decisions against another, or against targets, on the same items."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from charter.cli.common import console, user_errors
from charter.comparison import compare_logs, pathway_agreement
from charter.errors import CharterError
from charter.evaluate import TierTargets
from charter.io.labelled import read_labelled_items
from charter.io.records_io import read_decisions
from charter.tune import tune_bundle, tune_bundle_for_cost


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _change(previous: float, new: float | None, attainable: bool, moves: bool) -> str:
    """'0.920 → 0.754' for a threshold that is (or would be) written; the kept value and the
    best the data allow otherwise, so an unmet target never reads as a change."""
    if moves and attainable:
        return f"{previous:.3f} → {_fmt(new)}"
    return f"{previous:.3f} kept" + (f" (best {_fmt(new)})" if new is not None else "")


@user_errors
def compare_command(
    baseline: Path = typer.Argument(..., help="Decision log of the baseline (a)."),
    candidate: Path = typer.Argument(..., help="Decision log of the candidate (b)."),
    gold: Path = typer.Option(..., "--gold", "-g", help="Labelled items (from `charter datasets import`)."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the full comparison (incl. flipped items) as JSON."),
    category: list[str] = typer.Option(None, "--category", "-c", help="Only these categories (repeatable)."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Paired bootstrap resamples."),
) -> None:
    """Two systems on the same gold items: McNemar, paired-bootstrap F1/AUPRC difference, flips."""
    labelled = read_labelled_items(gold)
    result = compare_logs(
        read_decisions(baseline),
        read_decisions(candidate),
        labelled.labels,
        names=(str(baseline), str(candidate)),
        categories=list(category or []) or None,
        n_boot=n_boot,
        gold_items=labelled.items,
    )
    table = Table(title=f"b = {candidate}  vs  a = {baseline}  on {result.n_items} items", title_justify="left")
    for name in ("category", "F1 a", "F1 b", "Δ F1 [CI]", "p (bootstrap)", "McNemar p", "fixed", "broken"):
        table.add_column(name, justify="left" if name == "category" else "right")
    for c, section in result.categories.items():
        comp = section.comparison
        iv = comp.f1.interval
        table.add_row(
            c,
            _fmt(comp.f1.a),
            _fmt(comp.f1.b),
            f"{_fmt(comp.f1.difference)} [{_fmt(iv.low if iv else None)}, {_fmt(iv.high if iv else None)}]",
            _fmt(comp.f1.p_value),
            _fmt(comp.mcnemar.p_value_midp, 4),
            str(len(comp.fixed)),
            str(len(comp.broken)),
        )
    console.print(table)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(result.model_dump_json(indent=2), encoding="utf-8")
        console.print(f"comparison with every flipped item: {out}", highlight=False)


@user_errors
def agreement_command(
    logs: list[Path] = typer.Argument(..., help="Two or more decision or label logs (one rater or pathway each)."),
    category: list[str] = typer.Option(None, "--category", "-c", help="Only these categories (repeatable)."),
) -> None:
    """Agreement between pathways (human, classifier, LLM): Cohen's kappa, Fleiss' kappa, Krippendorff's alpha."""
    named = {str(path): read_decisions(path) for path in logs}
    if len(named) < 2:
        raise CharterError("give at least two different logs")
    result = pathway_agreement(named, categories=list(category or []) or None)
    table = Table(title=f"agreement between {len(named)} logs", title_justify="left")
    for name in ("category", "items", "Cohen's κ", "Fleiss' κ", "Krippendorff's α"):
        table.add_column(name, justify="left" if name == "category" else "right")
    for c, agreement in result.items():
        table.add_row(
            c,
            str(agreement.krippendorff_alpha.n_items),
            _fmt(agreement.cohen_kappa.value if agreement.cohen_kappa else None),
            _fmt(agreement.fleiss_kappa.value if agreement.fleiss_kappa else None),
            _fmt(agreement.krippendorff_alpha.value),
        )
    console.print(table)


def _tune_for_cost(
    decisions: Path, gold: Path, bundle: Path, costs: tuple[float, float, float], market: str | None, dry_run: bool
) -> None:
    labelled = read_labelled_items(gold)
    source = {"decisions": str(decisions), "gold": str(gold)}
    source.update({k: str(v) for k, v in labelled.meta.items() if k in ("dataset", "split", "mapping")})
    results = tune_bundle_for_cost(
        bundle, read_decisions(decisions), labelled.items, labelled.labels,
        cost_fp=costs[0], cost_fn=costs[1], cost_review=costs[2], source=source, apply=not dry_run, market=market,
    )
    title = f"least-cost thresholds for {bundle}" + (f" (market {market})" if market else "")
    table = Table(title=title + f": wrongful action {costs[0]:g}, missed violation {costs[1]:g}, review {costs[2]:g}",
                  title_justify="left")
    for name in ("category", "auto-action", "review", "actioned", "reviewed", "wrongful", "missed", "cost/item", "status"):
        table.add_column(name, justify="left" if name in ("category", "status") else "right")
    for r in results:
        c = r.costs
        moves = r.applied or (dry_run and not r.reason)
        status = "written" if r.applied else ("dry run" if moves else f"kept: {r.reason}")
        table.add_row(
            r.category,
            _change(r.previous["auto_action"], c.auto_action_threshold if c else None, c is not None, moves),
            _change(r.previous["review"], c.review_threshold if c else None, c is not None, moves),
            *(("—",) * 5 if c is None else (
                f"{c.auto_actioned:,.0f}", f"{c.reviewed:,.0f}", f"{c.false_positives:,.0f}", f"{c.false_negatives:,.0f}",
                f"{c.cost_per_item:.3f}")),
            status,
        )
    console.print(table)


thresholds_app = typer.Typer(no_args_is_help=True, help="Tune a bundle's classifier thresholds from labelled decisions.")


@thresholds_app.command("tune")
@user_errors
def tune_command(
    decisions: Path = typer.Argument(..., help="Scored decision log, made under the bundle's policy."),
    gold: Path = typer.Option(..., "--gold", "-g", help="Labelled items for the same items."),
    bundle: Path = typer.Option(..., "--bundle", "-b", help="Bundle whose classifier.json gets the thresholds."),
    auto_precision: float = typer.Option(0.95, "--auto-precision", help="Precision target for automatic action."),
    review_precision: float = typer.Option(None, "--review-precision", help="Precision target for review."),
    review_recall: float = typer.Option(None, "--review-recall", help="Recall target for review (default 0.9)."),
    lower_bound: bool = typer.Option(False, "--lower-bound", help="Meet precision on the Wilson lower bound."),
    market: str = typer.Option(None, "--market", help="Tune one market's override instead of the base."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the thresholds without writing them."),
    cost_fp: float = typer.Option(
        None, "--cost-fp", help="Cost of one wrongful automatic action; with --cost-fn and --cost-review, tune for least cost."
    ),
    cost_fn: float = typer.Option(None, "--cost-fn", help="Cost of one violation neither actioned nor reviewed."),
    cost_review: float = typer.Option(None, "--cost-review", help="Cost of one human review."),
) -> None:
    """Thresholds per action tier that meet the targets (or cost least), written into the bundle with provenance."""
    costs = (cost_fp, cost_fn, cost_review)
    if any(c is not None for c in costs):
        if any(c is None for c in costs):
            raise CharterError("tuning for cost needs all three of --cost-fp, --cost-fn and --cost-review")
        if review_precision is not None or review_recall is not None or lower_bound:
            raise CharterError("--cost-* replace the precision/recall targets; give one or the other")
        _tune_for_cost(decisions, gold, bundle, costs, market, dry_run)  # type: ignore[arg-type]
        return
    if review_precision is None and review_recall is None:
        review_recall = 0.9
    try:
        targets = TierTargets(
            auto_action_precision=auto_precision,
            review_precision=review_precision,
            review_recall=review_recall,
            use_lower_bound=lower_bound,
        )
    except ValueError as exc:
        raise CharterError(f"invalid targets: {exc}") from None
    labelled = read_labelled_items(gold)
    source = {"decisions": str(decisions), "gold": str(gold)}
    source.update({k: str(v) for k, v in labelled.meta.items() if k in ("dataset", "split", "mapping")})
    results = tune_bundle(
        bundle, read_decisions(decisions), labelled.items, labelled.labels,
        targets=targets, source=source, apply=not dry_run, market=market,
    )
    table = Table(title=f"thresholds for {bundle}" + (f" (market {market})" if market else ""), title_justify="left")
    for name in ("category", "auto-action", "precision", "recall", "review", "review recall", "status"):
        table.add_column(name, justify="left" if name in ("category", "status") else "right")
    for r in results:
        auto, review = r.tiers.auto_action, r.tiers.review
        moves = r.applied or (dry_run and not r.reason)  # both tiers are written together or not at all
        status = "written" if r.applied else ("dry run" if dry_run and not r.reason else f"kept: {r.reason}")
        table.add_row(
            r.category,
            _change(r.previous["auto_action"], auto.threshold, auto.attainable, moves),
            _fmt(auto.precision),
            _fmt(auto.recall),
            _change(r.previous["review"], review.threshold, review.attainable, moves),
            _fmt(review.recall),
            status,
        )
    console.print(table)
