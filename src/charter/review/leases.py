"""Handing out work: `next_task` leases one overlap slot of the most urgent task a reviewer may
label. On PostgreSQL the candidate task is locked with SELECT ... FOR UPDATE SKIP LOCKED (one
row at a time) and its slot count is re-read under the lock, so concurrent reviewers never
share a slot; a task another reviewer is claiming at that instant is passed over, so None
can mean "try again in a moment" under heavy contention. On SQLite every transaction holds
the write lock (see `charter.store.sql`). Call it in its own transaction and commit right
away: the lock is held until then."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, Select, and_, exists, func, select
from sqlalchemy.orm import Session

from charter.errors import CharterError
from charter.records import ContentItem
from charter.review.clock import resolve_now
from charter.review.models import Assignment, Item, LabelRow, Project, Task, User
from charter.review.projects import project_queue

DEFAULT_LEASE_MINUTES = 30

LeaseProblem = Literal["missing", "not_held", "closed", "expired"]


class LeaseError(CharterError):
    """A lease that cannot be worked on, and why (so a UI can say "your lease expired"
    rather than show an error): missing, held by someone else, closed, or expired."""

    def __init__(self, message: str, problem: LeaseProblem):
        super().__init__(message)
        self.problem: LeaseProblem = problem


@dataclass(frozen=True)
class TaskView:
    """What a reviewer is shown: never whether the task is gold, nor where it came from."""

    assignment_id: int
    task_id: int
    item: ContentItem
    category: str
    queue_id: str
    priority: int
    due_at: dt.datetime
    leased_at: dt.datetime
    expires_at: dt.datetime


def _view(session: Session, assignment: Assignment) -> TaskView:
    task = session.get(Task, assignment.task_id)
    item = session.get(Item, task.item_id)
    return TaskView(
        assignment_id=assignment.id, task_id=task.id, item=ContentItem.model_validate(item.content),
        category=task.category, queue_id=task.queue_id, priority=task.priority, due_at=task.due_at,
        leased_at=assignment.leased_at, expires_at=assignment.expires_at,
    )


def lease_is_open(now: dt.datetime) -> ColumnElement[bool]:
    return and_(Assignment.status == "active", Assignment.expires_at > now)


def filled_slots(session: Session, task_id: int, now: dt.datetime) -> int:
    """Distinct reviewers who labelled the task plus unexpired leases still open on it."""
    labelled = session.scalar(
        select(func.count(func.distinct(LabelRow.reviewer_id))).where(
            LabelRow.task_id == task_id, LabelRow.verdict.is_not(None)
        )
    )
    leased = session.scalar(select(func.count(Assignment.id)).where(Assignment.task_id == task_id, lease_is_open(now)))
    return int(labelled or 0) + int(leased or 0)


def eligible_tasks(
    project: Project, reviewer: User, queues: Sequence[str] | None, gold: bool, now: dt.datetime, rejected: Sequence[int] = ()
) -> Select:
    """The ids of the tasks (gold or not) this reviewer may be given now: not yet labelled or
    skipped by them and, unless gold, with a free overlap slot."""
    labelled = (
        select(func.count(func.distinct(LabelRow.reviewer_id)))
        .where(LabelRow.task_id == Task.id, LabelRow.verdict.is_not(None))
        .scalar_subquery()
    )
    leased = select(func.count(Assignment.id)).where(Assignment.task_id == Task.id, lease_is_open(now)).scalar_subquery()
    seen = exists().where(LabelRow.task_id == Task.id, LabelRow.reviewer_id == reviewer.id)
    query = select(Task.id).where(Task.project_id == project.id, Task.is_gold == gold, ~seen)
    if not gold:
        query = query.where(labelled + leased < Task.overlap)
    if queues is not None:
        query = query.where(Task.queue_id.in_(list(queues)))
    if rejected:
        query = query.where(Task.id.not_in(list(rejected)))
    return query


def _candidates(
    project: Project, reviewer: User, queues: Sequence[str] | None, gold: bool, now: dt.datetime, rejected: list[int]
) -> Select:
    """The most urgent task this reviewer may take (one row, so a lock covers only it)."""
    return eligible_tasks(project, reviewer, queues, gold, now, rejected).order_by(Task.priority, Task.due_at, Task.id).limit(1)


def _prefer_gold(session: Session, project: Project, reviewer: User) -> bool:
    """Serve gold while the reviewer has had fewer than floor(rate x tasks served) of them."""
    if project.gold_rate <= 0:
        return False
    served = session.execute(
        select(func.count(Assignment.id), func.count(Assignment.id).filter(Task.is_gold))
        .join(Task, Task.id == Assignment.task_id)
        .where(Task.project_id == project.id, Assignment.reviewer_id == reviewer.id, Assignment.status != "released")
    ).one()
    total, gold = int(served[0]), int(served[1])
    return gold < math.floor(project.gold_rate * (total + 1))


def _current_lease(
    session: Session, project: Project, reviewer: User, queues: Sequence[str] | None, now: dt.datetime
) -> Assignment | None:
    query = (
        select(Assignment)
        .join(Task, Task.id == Assignment.task_id)
        .where(Task.project_id == project.id, Assignment.reviewer_id == reviewer.id, lease_is_open(now))
        .order_by(Assignment.leased_at, Assignment.id)
        .limit(1)
    )
    if queues is not None:
        query = query.where(Task.queue_id.in_(list(queues)))
    return session.scalar(query)


def _claim(session: Session, task_id: int, reviewer: User, gold: bool, lease: dt.timedelta, now: dt.datetime) -> Assignment | None:
    task = session.get(Task, task_id, populate_existing=True)
    filled = filled_slots(session, task_id, now)  # counted for gold too: serving gold must not be quicker
    if not gold and filled >= task.overlap:
        return None
    assignment = Assignment(task_id=task_id, reviewer_id=reviewer.id, leased_at=now, expires_at=now + lease, status="active")
    session.add(assignment)
    session.flush()
    return assignment


def next_task(
    session: Session,
    reviewer: User,
    project: Project,
    queues: Sequence[str] | None = None,
    lease_minutes: float = DEFAULT_LEASE_MINUTES,
    *,
    now: dt.datetime | None = None,
) -> TaskView | None:
    """The reviewer's open lease if any, else a new lease on the most urgent task (priority,
    then due time) they have not labelled or skipped and whose overlap has a free slot; None
    when there is nothing to do. Expired leases free their slot for anyone."""
    now = resolve_now(now)
    if lease_minutes <= 0:
        raise CharterError(f"lease_minutes must be positive, got {lease_minutes}")
    for queue_id in queues or []:
        project_queue(project, queue_id)
    current = _current_lease(session, project, reviewer, queues, now)
    if current is not None:
        return _view(session, current)
    lease = dt.timedelta(minutes=lease_minutes)
    postgres = session.get_bind().dialect.name == "postgresql"
    first = _prefer_gold(session, project, reviewer)
    order = (first, not first) if project.gold_rate > 0 else (False,)
    for gold in order:
        rejected: list[int] = []
        while True:
            query = _candidates(project, reviewer, queues, gold, now, rejected)
            if postgres:
                query = query.with_for_update(skip_locked=True, of=Task)
            task_id = session.scalar(query)
            if task_id is None:
                break
            assignment = _claim(session, task_id, reviewer, gold, lease, now)
            if assignment is not None:
                return _view(session, assignment)
            rejected.append(task_id)
    return None


def held_lease(session: Session, reviewer: User, assignment_id: int, now: dt.datetime, *, lock: bool = False) -> Assignment:
    """The reviewer's open, unexpired lease `assignment_id`, else LeaseError saying why."""
    query = select(Assignment).where(Assignment.id == assignment_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    assignment = session.scalar(query.execution_options(populate_existing=True))
    if assignment is None:
        raise LeaseError(f"no lease {assignment_id}", "missing")
    if assignment.reviewer_id != reviewer.id:
        raise LeaseError(f"lease {assignment_id} is not held by {reviewer.username!r}", "not_held")
    if assignment.status != "active":
        raise LeaseError(f"lease {assignment_id} is already {assignment.status}; ask for the next task", "closed")
    if assignment.expires_at <= now:
        raise LeaseError(
            f"lease {assignment_id} expired at {assignment.expires_at.isoformat()}; ask for the task again", "expired"
        )
    return assignment


def open_lease(session: Session, reviewer: User, assignment_id: int, *, now: dt.datetime | None = None) -> TaskView:
    """What the reviewer sees of a lease they hold and may still work on."""
    return _view(session, held_lease(session, reviewer, assignment_id, resolve_now(now)))


def current_lease(
    session: Session, reviewer: User, project: Project, *, now: dt.datetime | None = None
) -> TaskView | None:
    """The reviewer's open lease in `project`, if any (to resume it; takes nothing new)."""
    assignment = _current_lease(session, project, reviewer, None, resolve_now(now))
    return _view(session, assignment) if assignment is not None else None


def release_open_leases(session: Session, reviewer: User, *, now: dt.datetime | None = None) -> int:
    """Hand back every lease the reviewer holds (on logout), so no slot waits for expiry."""
    now = resolve_now(now)
    query = select(Assignment).where(Assignment.reviewer_id == reviewer.id, lease_is_open(now))
    leases = list(session.scalars(query))
    for assignment in leases:
        assignment.status = "released"
    session.flush()
    return len(leases)


def release_task(session: Session, reviewer: User, assignment_id: int, *, now: dt.datetime | None = None) -> None:
    """Hand a lease back unlabelled (e.g. the reviewer logs out): the slot frees at once and
    the task may come back to this reviewer later, unlike a skip."""
    now = resolve_now(now)
    assignment = session.get(Assignment, assignment_id, with_for_update=session.get_bind().dialect.name == "postgresql")
    if assignment is None or assignment.reviewer_id != reviewer.id:
        raise LeaseError(f"lease {assignment_id} is not held by {reviewer.username!r}", "not_held")
    if assignment.status != "active" or assignment.expires_at <= now:
        problem: LeaseProblem = "closed" if assignment.status != "active" else "expired"
        raise LeaseError(f"lease {assignment_id} is no longer open ({assignment.status}, expires "
                         f"{assignment.expires_at.isoformat()})", problem)
    assignment.status = "released"
