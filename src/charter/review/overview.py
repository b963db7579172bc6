"""The state of a project's review queues, for leads (depth, leases, SLA breaches, gold) and
for a reviewer (how much work is waiting for them), with each queue's priority and SLA as
the compiled escalation table states them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from charter.compile.routing import routing_table
from charter.policy.hashing import identity
from charter.review.clock import resolve_now
from charter.review.leases import eligible_tasks, lease_is_open
from charter.review.models import Assignment, LabelRow, Project, Task, User
from charter.review.projects import project_policy


@dataclass
class QueueStatus:
    """One queue of a project. `open` tasks still need labels (gold excluded: gold questions
    never complete); `breached` are open tasks past their due time."""

    queue_id: str
    title: str
    priority: int
    sla_hours: float
    reviewer_role: str
    description: str | None
    categories: list[str] = field(default_factory=list)  # categories whose review defaults here
    open: int = 0
    done: int = 0
    breached: int = 0
    leased: int = 0
    gold: int = 0
    oldest_due: dt.datetime | None = None


def escalation_table(project: Project) -> dict:
    """The compiled routing table (queues, default queue per category) of the project's policy."""
    policy = project_policy(project)
    return routing_table(identity(policy), policy)


def queue_overview(session: Session, project: Project, *, now: dt.datetime | None = None) -> list[QueueStatus]:
    """Every queue of the policy (and any queue tasks name), most urgent first."""
    now = resolve_now(now)
    table = escalation_table(project)
    statuses = {
        queue_id: QueueStatus(queue_id, q["title"], q["priority"], q["sla_hours"], q["reviewer_role"], q["description"])
        for queue_id, q in table["queues"].items()
    }
    for category, routes in table["categories"].items():
        if routes["default_queue"] in statuses:
            statuses[routes["default_queue"]].categories.append(category)
    labelled = (
        select(func.count(func.distinct(LabelRow.reviewer_id)))
        .where(LabelRow.task_id == Task.id, LabelRow.verdict.is_not(None))
        .scalar_subquery()
    )
    rows = session.execute(
        select(Task.queue_id, Task.priority, Task.is_gold, Task.overlap, Task.due_at, labelled).where(Task.project_id == project.id)
    )
    for queue_id, priority, is_gold, overlap, due_at, count in rows:
        status = statuses.get(queue_id) or statuses.setdefault(
            queue_id, QueueStatus(queue_id, queue_id, priority, 0.0, "", "not in the policy's escalation table")
        )
        if is_gold:
            status.gold += 1
        elif count >= overlap:
            status.done += 1
        else:
            status.open += 1
            status.breached += due_at <= now
            status.oldest_due = due_at if status.oldest_due is None else min(status.oldest_due, due_at)
    leases = session.execute(
        select(Task.queue_id, func.count(Assignment.id))
        .join(Task, Task.id == Assignment.task_id)
        .where(Task.project_id == project.id, lease_is_open(now))
        .group_by(Task.queue_id)
    )
    for queue_id, count in leases:
        if queue_id in statuses:
            statuses[queue_id].leased = int(count)
    return sorted(statuses.values(), key=lambda s: (s.priority, s.queue_id))


def waiting_for(
    session: Session, project: Project, reviewer: User, queue_ids: Sequence[str], *, now: dt.datetime | None = None
) -> dict[str, int]:
    """Per queue, how many tasks `next_task` could give this reviewer now (gold questions
    counted with the rest when the project serves them, so the number tells nothing apart)."""
    now = resolve_now(now)
    kinds = (False, True) if project.gold_rate > 0 else (False,)
    counts = {queue_id: 0 for queue_id in queue_ids}
    if not queue_ids:
        return counts
    for gold in kinds:
        ids = eligible_tasks(project, reviewer, list(queue_ids), gold, now).subquery()
        query = select(Task.queue_id, func.count()).join(ids, ids.c.id == Task.id).group_by(Task.queue_id)
        for queue_id, count in session.execute(query):
            counts[queue_id] = counts.get(queue_id, 0) + int(count)
    return counts
