"""Current labels grouped by task, one per reviewer, ordered by when each current label was
made: the shape agreement, gold accuracy, adjudication and consensus all read. Rows are read
as plain tuples (no ORM identity map), so projects with many labels stay fast."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from charter.review.models import LabelRow, Project, Task


@dataclass(frozen=True)
class CurrentLabel:
    """A label no correction supersedes (read-only view of a `labels` row)."""

    id: int
    task_id: int
    reviewer_id: int
    verdict: str
    rule_ids: list[str]
    tree_path: list[str]
    answers: dict[str, str]
    note: str | None
    origin: str
    created_at: dt.datetime


@dataclass(frozen=True)
class TaskLabels:
    task: Task
    labels: list[CurrentLabel]

    @property
    def verdicts(self) -> list[str]:
        return [label.verdict for label in self.labels]


def current_label_views(session: Session, project: Project, *, gold: bool | None = False) -> list[CurrentLabel]:
    """Current labels (not skips) of a project, oldest first; `gold` picks gold tasks (True),
    ordinary tasks (False) or both (None)."""
    newer = aliased(LabelRow)
    columns = [getattr(LabelRow, name) for name in CurrentLabel.__dataclass_fields__]
    query = (
        select(*columns)
        .join(Task, Task.id == LabelRow.task_id)
        .where(Task.project_id == project.id, LabelRow.verdict.is_not(None))
        .where(~select(newer.id).where(newer.supersedes_id == LabelRow.id).exists())
        .order_by(LabelRow.created_at, LabelRow.id)
    )
    if gold is not None:
        query = query.where(Task.is_gold == gold)
    return [CurrentLabel(*row) for row in session.execute(query)]


def labels_by_task(session: Session, project: Project, *, gold: bool | None = False) -> list[TaskLabels]:
    """Tasks that have current labels, each with one current label per reviewer (oldest first)."""
    grouped: dict[int, dict[int, CurrentLabel]] = {}
    for label in current_label_views(session, project, gold=gold):
        grouped.setdefault(label.task_id, {})[label.reviewer_id] = label
    if not grouped:
        return []
    tasks = {t.id: t for t in session.scalars(select(Task).where(Task.project_id == project.id))}
    return [
        TaskLabels(tasks[task_id], sorted(grouped[task_id].values(), key=lambda r: (r.created_at, r.id)))
        for task_id in sorted(grouped)
    ]
