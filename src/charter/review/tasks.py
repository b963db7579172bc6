"""Creating review tasks: one (item, category) to be labelled by `overlap` distinct reviewers,
with the priority and due time of its queue's SLA. Enqueueing is idempotent per source and
done in bulk (a few statements per batch, not per task), so large imports stay quick."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.errors import CharterError
from charter.records import ContentItem
from charter.review.models import SOURCES, Item, Project, Task
from charter.review.projects import default_queue, project_category, project_queue

CHUNK = 1000


@dataclass(frozen=True)
class TaskSpec:
    """One task to create (see `add_tasks`)."""

    item: ContentItem
    category: str
    source: str
    queue_id: str | None = None
    overlap: int = 1
    is_gold: bool = False
    gold_answer: dict[str, Any] | None = None
    origin: dict[str, Any] = field(default_factory=dict)


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _check(project: Project, spec: TaskSpec) -> None:
    if spec.source not in SOURCES:
        raise CharterError(f"unknown task source {spec.source!r}; sources: {', '.join(SOURCES)}")
    if spec.overlap < 1:
        raise CharterError(f"overlap must be at least 1 reviewer, got {spec.overlap}")
    if spec.is_gold and not spec.gold_answer:
        raise CharterError(f"gold task for {spec.item.id!r} ({spec.category}) needs a gold answer")
    project_category(project, spec.category)


def store_items(session: Session, project: Project, items: Sequence[ContentItem]) -> dict[str, Item]:
    """The project's rows for `items` by id (created on first sight; the first copy is kept)."""
    wanted = list(dict.fromkeys(item.id for item in items))
    rows: dict[str, Item] = {}
    for part in chunks(wanted):
        query = select(Item).where(Item.project_id == project.id, Item.external_id.in_(list(part)))
        rows.update({row.external_id: row for row in session.scalars(query)})
    new = {}
    for item in items:
        if item.id not in rows and item.id not in new:
            new[item.id] = Item(project_id=project.id, external_id=item.id, content=item.model_dump(mode="json"))
    session.add_all(new.values())
    session.flush()
    return rows | new


def add_tasks(session: Session, project: Project, specs: Sequence[TaskSpec], *, now: dt.datetime) -> list[Task]:
    """Create the tasks not yet enqueued from the same source (item, category, source); the
    queue is the spec's, else the category's review queue; due = now + the queue's SLA."""
    queues: dict[tuple[str | None, str], Any] = {}
    for spec in specs:
        _check(project, spec)
        key = (spec.queue_id, spec.category)
        if key not in queues:
            queues[key] = project_queue(project, spec.queue_id) if spec.queue_id else default_queue(project, spec.category)
    items = store_items(session, project, [spec.item for spec in specs])
    item_ids = [row.id for row in items.values()]
    taken: set[tuple[int, str, str]] = set()
    for part in chunks(item_ids):
        query = select(Task.item_id, Task.category, Task.source).where(Task.item_id.in_(list(part)))
        taken.update(tuple(row) for row in session.execute(query))
    created = []
    for spec in specs:
        item_row = items[spec.item.id]
        key = (item_row.id, spec.category, spec.source)
        if key in taken:
            continue
        taken.add(key)
        queue = queues[(spec.queue_id, spec.category)]
        created.append(Task(
            project_id=project.id, item_id=item_row.id, category=spec.category, queue_id=queue.id,
            priority=queue.priority, due_at=now + dt.timedelta(hours=queue.sla_hours), source=spec.source,
            overlap=spec.overlap, is_gold=spec.is_gold, gold_answer=spec.gold_answer, origin=spec.origin,
            created_at=now,
        ))
    session.add_all(created)
    session.flush()
    return created


def items_by_id(items: Mapping[str, ContentItem] | Sequence[ContentItem]) -> dict[str, ContentItem]:
    """Items keyed by id, from a mapping or a sequence."""
    if isinstance(items, Mapping):
        return dict(items)
    return {item.id: item for item in items}


def require_items(wanted: list[str], items: dict[str, ContentItem], what: str) -> None:
    missing = [i for i in dict.fromkeys(wanted) if i not in items]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise CharterError(f"{what}: no content item given for {len(missing)} decision(s): {shown}")
