"""Recording reviewers' work: labels under a held, unexpired lease (validated by walking the
policy tree), skips with a reason, and corrections that supersede a label without changing
it. The label table is append-only; "current" labels are those nothing supersedes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.errors import CharterError
from charter.review.clock import resolve_now
from charter.review.grouping import CurrentLabel, current_label_views
from charter.review.leases import held_lease
from charter.review.models import Adjudication, LabelRow, Project, Task, User
from charter.review.projects import project_category
from charter.review.validation import check_answers


def _project_of(session: Session, task: Task) -> Project:
    return session.get(Project, task.project_id)


def submit_label(
    session: Session,
    reviewer: User,
    assignment_id: int,
    answers: Mapping[str, str],
    *,
    verdict: str | None = None,
    rule_ids: Sequence[str] | None = None,
    tree_path: Sequence[str] | None = None,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> LabelRow:
    """The reviewer's label for the task they lease; the verdict and rules are the outcome the
    answers reach (stated ones must match it)."""
    now = resolve_now(now)
    assignment = held_lease(session, reviewer, assignment_id, now, lock=True)
    task = session.get(Task, assignment.task_id)
    category = project_category(_project_of(session, task), task.category)
    checked = check_answers(category, answers, verdict=verdict, rule_ids=rule_ids, tree_path=tree_path)
    label = LabelRow(
        task_id=task.id, reviewer_id=reviewer.id, assignment_id=assignment.id, verdict=checked.verdict,
        tree_path=checked.tree_path, answers=checked.answers, rule_ids=checked.rule_ids, note=note,
        skipped_reason=None, origin="review", created_at=now,
    )
    assignment.status = "submitted"
    session.add(label)
    session.flush()
    return label


def skip_task(
    session: Session, reviewer: User, assignment_id: int, reason: str, *, now: dt.datetime | None = None
) -> LabelRow:
    """Give the task back with a reason; the slot frees for another reviewer, never this one."""
    now = resolve_now(now)
    if not reason or not reason.strip():
        raise CharterError("a skip needs a reason (e.g. 'not in my language', 'conflict of interest')")
    assignment = held_lease(session, reviewer, assignment_id, now, lock=True)
    row = LabelRow(
        task_id=assignment.task_id, reviewer_id=reviewer.id, assignment_id=assignment.id, verdict=None,
        tree_path=[], answers={}, rule_ids=[], note=None, skipped_reason=reason.strip(), origin="review",
        created_at=now,
    )
    assignment.status = "skipped"
    session.add(row)
    session.flush()
    return row


def correct_label(
    session: Session,
    reviewer: User,
    label_id: int,
    answers: Mapping[str, str],
    *,
    verdict: str | None = None,
    rule_ids: Sequence[str] | None = None,
    tree_path: Sequence[str] | None = None,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> LabelRow:
    """A new label that supersedes the reviewer's current label `label_id` (kept as history);
    refused once a lead has adjudicated the task."""
    now = resolve_now(now)
    old = session.get(LabelRow, label_id)
    if old is None:
        raise CharterError(f"no label {label_id}")
    if old.reviewer_id != reviewer.id:
        raise CharterError(f"label {label_id} is not {reviewer.username!r}'s; only its author may correct it")
    if old.verdict is None:
        raise CharterError(f"label {label_id} is a skip; a skip cannot be corrected")
    if session.scalar(select(LabelRow.id).where(LabelRow.supersedes_id == label_id)) is not None:
        raise CharterError(f"label {label_id} was already corrected; correct the newest version")
    if session.scalar(select(Adjudication.id).where(Adjudication.task_id == old.task_id)) is not None:
        raise CharterError(f"task {old.task_id} has been adjudicated; its labels can no longer be corrected")
    task = session.get(Task, old.task_id)
    category = project_category(_project_of(session, task), task.category)
    checked = check_answers(category, answers, verdict=verdict, rule_ids=rule_ids, tree_path=tree_path)
    label = LabelRow(
        task_id=task.id, reviewer_id=reviewer.id, assignment_id=None, supersedes_id=old.id, verdict=checked.verdict,
        tree_path=checked.tree_path, answers=checked.answers, rule_ids=checked.rule_ids, note=note,
        skipped_reason=None, origin="correction", created_at=now,
    )
    session.add(label)
    session.flush()
    return label


def current_labels(session: Session, project: Project, *, gold: bool | None = False) -> list[CurrentLabel]:
    """Every label (not skips) that no correction supersedes, oldest first; `gold` selects
    labels on gold tasks (True), on ordinary tasks (False) or on both (None)."""
    return current_label_views(session, project, gold=gold)


def label_history(session: Session, task_id: int, reviewer: User) -> list[LabelRow]:
    """A reviewer's labels on a task in the order they were made (corrections last)."""
    query = select(LabelRow).where(LabelRow.task_id == task_id, LabelRow.reviewer_id == reviewer.id)
    return list(session.scalars(query.order_by(LabelRow.created_at, LabelRow.id)))
