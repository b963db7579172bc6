"""The reviewed ground truth: per item and category, the adjudicated verdict if a lead gave
one, else the strict majority of the reviewers' current verdicts once `overlap` reviewers
have labelled; exported as a labelled-items file that `charter eval` reads."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.errors import CharterError
from charter.io.labelled import write_labelled_items
from charter.records import ContentItem, Label
from charter.review.grouping import labels_by_task
from charter.review.models import Adjudication, Item, Project, Task
from charter.review.projects import project_policy

Basis = Literal["adjudicated", "unanimous", "majority"]


@dataclass(frozen=True)
class ConsensusVerdict:
    item_id: str
    category: str
    verdict: str
    basis: Basis
    n_labels: int


def _latest_adjudications(session: Session, project: Project) -> dict[int, Adjudication]:
    query = (
        select(Adjudication)
        .join(Task, Task.id == Adjudication.task_id)
        .where(Task.project_id == project.id)
        .order_by(Adjudication.created_at, Adjudication.id)
    )
    return {row.task_id: row for row in session.scalars(query)}


def consensus(session: Session, project: Project) -> list[ConsensusVerdict]:
    """Resolved (item, category) verdicts; ties and tasks still short of labels are left out."""
    adjudicated = _latest_adjudications(session, project)
    entries = {e.task.id: e for e in labels_by_task(session, project, gold=False)}
    task_ids = set(entries) | set(adjudicated)
    tasks = {t.id: t for t in session.scalars(select(Task).where(Task.id.in_(list(task_ids))))} if task_ids else {}
    external = dict(session.execute(select(Item.id, Item.external_id).where(Item.project_id == project.id)).all())
    out = []
    for task_id in sorted(task_ids):
        task = tasks[task_id]
        verdicts = entries[task_id].verdicts if task_id in entries else []
        if task_id in adjudicated:
            out.append(ConsensusVerdict(external[task.item_id], task.category, adjudicated[task_id].verdict,
                                        "adjudicated", len(verdicts)))
            continue
        if len(verdicts) < task.overlap:
            continue
        top, count = Counter(verdicts).most_common(1)[0]
        if count * 2 > len(verdicts):
            basis: Basis = "unanimous" if count == len(verdicts) else "majority"
            out.append(ConsensusVerdict(external[task.item_id], task.category, top, basis, len(verdicts)))
    return out


def export_consensus(session: Session, project: Project, path: str | Path) -> Path:
    """Write the consensus as labelled items (one row per item, a label column per category)."""
    verdicts = consensus(session, project)
    if not verdicts:
        raise CharterError(f"project {project.name!r} has no resolved labels to export yet")
    by_item: dict[str, dict[str, str]] = {}
    for verdict in verdicts:
        by_item.setdefault(verdict.item_id, {})[verdict.category] = verdict.verdict
    rows = session.execute(
        select(Item.external_id, Item.content).where(Item.project_id == project.id, Item.external_id.in_(list(by_item)))
    ).all()
    contents = dict(rows)
    items = [ContentItem.model_validate(contents[item_id]) for item_id in sorted(by_item)]
    stamp = dict(pathway="human", policy_id=project.policy_id, policy_version=project.policy_version,
                 policy_hash=project.policy_hash, annotator_id="consensus")
    labels = [Label(item_id=item.id, labels=by_item[item.id], **stamp) for item in items]
    categories = [c for c in project_policy(project).category_ids() if any(c in v for v in by_item.values())]
    bases = Counter(v.basis for v in verdicts)
    return write_labelled_items(path, items, labels, categories, source="review", project=project.name,
                                consensus=dict(sorted(bases.items())))
