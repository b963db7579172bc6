"""`charter review import-labelstudio / export-labelstudio / label-quality`: moving review work
to and from Label Studio, and cleanlab's multi-annotator label quality of a project.

Plain command functions; the review CLI registers them on its Typer app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich import box
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from charter.cli.common import console, user_errors
from charter.errors import CharterError
from charter.io import read_decisions, write_decisions
from charter.review import get_project, make_engine, project_policy, session_factory
from charter.review.label_quality import CategoryQuality, label_quality as assess_label_quality
from charter.review.labelstudio import export_labelstudio as export_tasks
from charter.review.labelstudio import import_labelstudio as import_tasks
from charter.review.labelstudio_config import labeling_config
from charter.review.labelstudio_format import read_tasks
from charter.store.sql import database_url

ProjectArgument = typer.Argument(..., help="Review project name.")
DbOption = typer.Option(None, "--db", help="Store URL (default: $CHARTER_DATABASE_URL, else sqlite:///charter.db).")
CategoryOption = typer.Option(None, "--category", "-c", help="A category (repeat for several; default: all).")


@contextmanager
def _session(db: str | None, *, write: bool) -> Iterator[Session]:
    """A session on the store; database errors (unmigrated, unreachable) become one message."""
    engine = make_engine(db)
    try:
        with session_factory(engine)() as session:
            if write:
                with session.begin():
                    yield session
            else:
                yield session
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CharterError(f"the review store at {database_url(db)} could not be used ({detail}); "
                           "is it reachable and migrated?") from None
    finally:
        engine.dispose()


@user_errors
def export_labelstudio(
    project: str = ProjectArgument,
    out: Path = typer.Option(..., "-o", "--out", help="Label Studio tasks JSON to write."),
    config: Path | None = typer.Option(None, "--config", help="Labeling config XML to write (default: OUT with .xml)."),
    decisions: Path | None = typer.Option(None, "--decisions", help="Decision log whose verdicts become predictions."),
    category: list[str] | None = CategoryOption,
    db: str | None = DbOption,
) -> None:
    """Write the project's tasks as Label Studio JSON, and a labeling config for the policy."""
    log = read_decisions(decisions) if decisions else []
    with _session(db, write=False) as session:
        chosen = get_project(session, project)
        tasks = export_tasks(session, chosen, decisions=log, categories=category)
        xml = labeling_config(project_policy(chosen), category)
    config = config or out.with_suffix(".xml")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(tasks, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    config.write_text(xml, encoding="utf-8")
    annotations = sum(len(t["annotations"]) for t in tasks)
    predictions = sum(len(t["predictions"]) for t in tasks)
    console.print(f"{len(tasks)} tasks ({annotations} annotations, {predictions} predictions) -> {out}", highlight=False)
    console.print(f"labeling config -> {config} (Label Studio: Settings > Labeling Interface > Code)", highlight=False)


@user_errors
def import_labelstudio(
    project: str = ProjectArgument,
    file: Path = typer.Argument(..., help="Label Studio JSON export (a list of tasks)."),
    category: list[str] | None = typer.Option(
        None, "--category", "-c", help="Categories to review for tasks that name none (repeat for several)."),
    overlap: int = typer.Option(1, "--overlap", help="Reviewers per task, at least (annotated tasks: their annotators)."),
    queue: str | None = typer.Option(None, "--queue", help="Review queue for the new tasks (default: each category's)."),
    decisions_out: Path | None = typer.Option(
        None, "--decisions-out", help="Write the predictions as a decision log (Parquet, JSONL or CSV)."),
    db: str | None = DbOption,
) -> None:
    """Import Label Studio tasks into a project: annotations become external annotators' labels."""
    tasks = read_tasks(file)
    with _session(db, write=True) as session:
        result = import_tasks(session, get_project(session, project), tasks, categories=category, overlap=overlap,
                              queue_id=queue)
        if decisions_out:
            write_decisions(result.decisions, decisions_out)
    console.print(f"{len(result.items)} items, {len(result.tasks)} tasks, {result.labels} labels from "
                  f"{len(result.annotators)} annotators imported into {project!r}", highlight=False)
    if result.cancelled:
        console.print(f"{result.cancelled} cancelled (skipped) annotation(s) left out", style="dim")
    if decisions_out:
        console.print(f"{len(result.decisions)} predictions -> decision log {decisions_out}", highlight=False)
    elif result.decisions:
        console.print(f"{len(result.decisions)} predictions not kept: pass --decisions-out to write them", style="dim")


def _table(quality: CategoryQuality, top: int) -> Table:
    table = Table("item", "consensus", "quality", "agreement", "votes",
                  title=f"{quality.category}: {quality.n_items} items, {quality.n_labels} labels, "
                        f"model from {quality.probabilities.replace('_', ' ')}; least trustworthy first",
                  box=box.SIMPLE, title_justify="left")
    for item in quality.items[:top]:
        votes = ", ".join(f"{v} {n}" for v, n in item.votes.items())
        table.add_row(item.item_id, item.consensus, f"{item.quality:.3f}", f"{item.annotator_agreement:.2f}", votes)
    return table


def _annotators(quality: CategoryQuality, top: int) -> Table:
    table = Table("annotator", "quality", "agrees with consensus", "labels", "worst class",
                  title=f"{quality.category}: annotators, lowest quality first", box=box.SIMPLE, title_justify="left")
    for annotator in quality.annotators[:top]:
        table.add_row(annotator.annotator, f"{annotator.quality:.3f}", f"{annotator.agreement_with_consensus:.2f}",
                      str(annotator.n_labels), annotator.worst_class)
    return table


@user_errors
def label_quality(
    project: str = ProjectArgument,
    out: Path = typer.Option(..., "-o", "--out", help="JSON report to write."),
    decisions: Path | None = typer.Option(
        None, "--decisions", help="Decision log scoring every labelled item (default: a text model, cross-validated)."),
    category: list[str] | None = CategoryOption,
    folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds for the model probabilities."),
    top: int = typer.Option(10, "--top", min=1, help="Rows per table."),
    seed: int = typer.Option(0, "--seed", help="Seed of the fold split."),
    db: str | None = DbOption,
) -> None:
    """Consensus, consensus quality, annotator quality and likely mislabelled items (cleanlab CROWDLAB)."""
    log = read_decisions(decisions) if decisions else []
    with _session(db, write=False) as session:
        report = assess_label_quality(session, get_project(session, project), categories=category, decisions=log,
                                      folds=folds, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    for quality in report.categories:
        console.print(_table(quality, top))
        console.print(_annotators(quality, top))
    for category_id, reason in report.skipped.items():
        console.print(f"{category_id}: not assessed: {reason}", style="dim", highlight=False)
    console.print(f"report: {out}", highlight=False)
