"""Disagreements and their resolution: a task whose `overlap` reviewers did not all give the
same verdict waits in the adjudication queue (leads and admins only) until a lead records
the final verdict with a rationale. Adjudications are append-only; the newest one counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.errors import CharterError
from charter.records import ContentItem
from charter.review.clock import resolve_now
from charter.review.grouping import CurrentLabel, labels_by_task
from charter.review.models import VERDICTS, Adjudication, Item, Project, Task, User
from charter.review.projects import project_category
from charter.review.users import require_role

LEAD_ROLES = ("lead", "admin")


@dataclass(frozen=True)
class Dispute:
    task_id: int
    item: ContentItem
    category: str
    queue_id: str
    labels: list[CurrentLabel]


def adjudicated_task_ids(session: Session, project: Project) -> set[int]:
    query = select(Adjudication.task_id).join(Task, Task.id == Adjudication.task_id).where(Task.project_id == project.id)
    return set(session.scalars(query))


def adjudication_queue(session: Session, lead: User, project: Project) -> list[Dispute]:
    """Tasks whose full set of labels disagrees and that no lead has adjudicated, most urgent first."""
    require_role(lead, *LEAD_ROLES)
    done = adjudicated_task_ids(session, project)
    disputes = []
    for entry in labels_by_task(session, project, gold=False):
        task = entry.task
        if task.id in done or len(entry.labels) < task.overlap or len(set(entry.verdicts)) < 2:
            continue
        item = session.get(Item, task.item_id)
        disputes.append((task.priority, task.due_at, task.id,
                         Dispute(task.id, ContentItem.model_validate(item.content), task.category, task.queue_id, entry.labels)))
    return [d for *_, d in sorted(disputes, key=lambda x: x[:3])]


def adjudicate(
    session: Session,
    lead: User,
    task_id: int,
    verdict: str,
    rationale: str,
    *,
    rule_ids: Sequence[str] = (),
    now: dt.datetime | None = None,
) -> Adjudication:
    """Record a lead's final verdict on a task; the rule ids must be the category's rules."""
    require_role(lead, *LEAD_ROLES)
    task = session.get(Task, task_id)
    if task is None:
        raise CharterError(f"no task {task_id}")
    if verdict not in VERDICTS:
        raise CharterError(f"unknown verdict {verdict!r}; use {', '.join(VERDICTS)}")
    if not rationale or not rationale.strip():
        raise CharterError("an adjudication needs a rationale: it explains the final verdict to reviewers and policy owners")
    category = project_category(session.get(Project, task.project_id), task.category)
    unknown = [r for r in rule_ids if category.rule(r) is None]
    if unknown:
        raise CharterError(f"rule ids {', '.join(unknown)} are not rules of category {category.id!r}")
    row = Adjudication(task_id=task.id, lead_id=lead.id, verdict=verdict, rule_ids=list(rule_ids),
                       rationale=rationale.strip(), created_at=resolve_now(now))
    session.add(row)
    session.flush()
    return row
