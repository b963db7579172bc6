"""Who said what about a task, and when: every label (superseded ones and skips included) and
every adjudication, attributed by username; and a reviewer's own work, newest first, with
which of their labels they may still correct."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from charter.errors import CharterError
from charter.records import ContentItem
from charter.review.models import Adjudication, Item, LabelRow, Project, Task, User


@dataclass(frozen=True)
class LabelEvent:
    id: int
    reviewer: str
    origin: str
    verdict: str | None  # None: a skip
    rule_ids: list[str]
    tree_path: list[str]
    answers: dict[str, str]
    note: str | None
    skipped_reason: str | None
    supersedes_id: int | None
    superseded_by: int | None
    created_at: dt.datetime


@dataclass(frozen=True)
class AdjudicationEvent:
    id: int
    lead: str
    verdict: str
    rule_ids: list[str]
    rationale: str
    created_at: dt.datetime


@dataclass(frozen=True)
class TaskHistory:
    task: Task
    item: ContentItem
    labels: list[LabelEvent]
    adjudications: list[AdjudicationEvent]

    @property
    def final(self) -> AdjudicationEvent | None:
        """The adjudication that counts (the newest)."""
        return self.adjudications[-1] if self.adjudications else None


@dataclass(frozen=True)
class WorkEntry:
    """One of a reviewer's own labels or skips, as their work list shows it."""

    label_id: int
    task_id: int
    category: str
    item_id: str
    text: str
    verdict: str | None
    rule_ids: list[str]
    skipped_reason: str | None
    origin: str
    created_at: dt.datetime
    superseded: bool
    correctable: bool


def project_task(session: Session, project: Project, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None or task.project_id != project.id:
        raise CharterError(f"project {project.name!r} has no task {task_id}")
    return task


def _label_events(session: Session, task_id: int) -> list[LabelEvent]:
    newer = aliased(LabelRow)
    query = (
        select(LabelRow, User.username, newer.id)
        .join(User, User.id == LabelRow.reviewer_id)
        .outerjoin(newer, newer.supersedes_id == LabelRow.id)
        .where(LabelRow.task_id == task_id)
        .order_by(LabelRow.created_at, LabelRow.id)
    )
    return [
        LabelEvent(row.id, username, row.origin, row.verdict, list(row.rule_ids), list(row.tree_path), dict(row.answers),
                   row.note, row.skipped_reason, row.supersedes_id, superseded_by, row.created_at)
        for row, username, superseded_by in session.execute(query)
    ]


def task_history(session: Session, project: Project, task_id: int) -> TaskHistory:
    """Everything recorded on one task of `project`, oldest first."""
    task = project_task(session, project, task_id)
    item = session.get(Item, task.item_id)
    adjudications = [
        AdjudicationEvent(row.id, username, row.verdict, list(row.rule_ids), row.rationale, row.created_at)
        for row, username in session.execute(
            select(Adjudication, User.username)
            .join(User, User.id == Adjudication.lead_id)
            .where(Adjudication.task_id == task.id)
            .order_by(Adjudication.created_at, Adjudication.id)
        )
    ]
    labels = _label_events(session, task.id)
    return TaskHistory(task, ContentItem.model_validate(item.content), labels, adjudications)


def reviewer_work(session: Session, project: Project, reviewer: User, *, limit: int = 200) -> list[WorkEntry]:
    """The reviewer's labels and skips in `project`, newest first; a label is correctable
    while it is current, not a skip, and its task is not adjudicated."""
    newer = aliased(LabelRow)
    adjudicated = select(Adjudication.id).where(Adjudication.task_id == LabelRow.task_id).exists()
    query = (
        select(LabelRow, Task.category, Item.external_id, Item.content, newer.id, adjudicated)
        .join(Task, Task.id == LabelRow.task_id)
        .join(Item, Item.id == Task.item_id)
        .outerjoin(newer, newer.supersedes_id == LabelRow.id)
        .where(Task.project_id == project.id, LabelRow.reviewer_id == reviewer.id)
        .order_by(LabelRow.created_at.desc(), LabelRow.id.desc())
        .limit(limit)
    )
    return [
        WorkEntry(row.id, row.task_id, category, external_id, str(content.get("text", "")), row.verdict,
                  list(row.rule_ids), row.skipped_reason, row.origin, row.created_at, superseded_by is not None,
                  superseded_by is None and row.verdict is not None and not is_adjudicated)
        for row, category, external_id, content, superseded_by, is_adjudicated in session.execute(query)
    ]


def own_label(session: Session, reviewer: User, label_id: int) -> LabelRow:
    """A label of the reviewer's own (for correcting it); anyone else's reads as missing."""
    row = session.get(LabelRow, label_id)
    if row is None or row.reviewer_id != reviewer.id:
        raise CharterError(f"you have no label {label_id}")
    return row
