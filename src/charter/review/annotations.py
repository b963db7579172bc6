"""Importing labels made outside the store (a vendor's or a dataset's per-rater answers):
each annotator becomes an account that cannot log in, each item a task whose overlap is its
number of annotators, and each answer an `import` label with no tree path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from charter.errors import CharterError
from charter.records import ContentItem
from charter.review.clock import resolve_now
from charter.review.models import VERDICTS, LabelRow, Project, Task, User
from charter.review.tasks import TaskSpec, add_tasks, store_items
from charter.review.users import create_user


@dataclass(frozen=True)
class Annotation:
    item: ContentItem
    annotator: str
    verdict: str


def _annotators(session: Session, names: set[str], now: dt.datetime) -> dict[str, int]:
    ids = dict(session.execute(select(User.username, User.id).where(User.username.in_(list(names)))).all())
    for name in sorted(names - set(ids)):
        ids[name] = create_user(session, name, None, "reviewer", now=now).id
    return ids


def import_annotations(
    session: Session,
    project: Project,
    category: str,
    annotations: Iterable[Annotation],
    *,
    queue_id: str | None = None,
    now: dt.datetime | None = None,
) -> list[Task]:
    """Tasks (source dataset_import) holding the given per-annotator verdicts as labels."""
    now = resolve_now(now)
    by_item: dict[str, tuple[ContentItem, dict[str, str]]] = {}
    for annotation in annotations:
        if annotation.verdict not in VERDICTS:
            raise CharterError(f"item {annotation.item.id!r}, annotator {annotation.annotator!r}: "
                               f"{annotation.verdict!r} is not a verdict ({', '.join(VERDICTS)})")
        entry = by_item.setdefault(annotation.item.id, (annotation.item, {}))
        if annotation.annotator in entry[1]:
            raise CharterError(f"item {annotation.item.id!r}: annotator {annotation.annotator!r} answers twice")
        entry[1][annotation.annotator] = annotation.verdict
    if not by_item:
        raise CharterError("no annotations to import")
    users = _annotators(session, {a for _, answers in by_item.values() for a in answers}, now)
    specs = [TaskSpec(item, category, "dataset_import", queue_id=queue_id, overlap=len(answers),
                      origin={"imported_annotations": len(answers)}) for item, answers in by_item.values()]
    tasks = add_tasks(session, project, specs, now=now)
    if len(tasks) < len(specs):
        created = {task.item_id for task in tasks}
        rows = store_items(session, project, [spec.item for spec in specs])
        again = [item_id for item_id, row in rows.items() if row.id not in created]
        raise CharterError(f"{len(again)} item(s) were already imported for {category} into project "
                           f"{project.name!r}, e.g. {', '.join(repr(i) for i in again[:3])}")
    rows = []
    for task, (item, answers) in zip(tasks, by_item.values()):
        rows.extend(
            dict(task_id=task.id, reviewer_id=users[name], assignment_id=None, supersedes_id=None, verdict=verdict,
                 tree_path=[], answers={}, rule_ids=[], note=None, skipped_reason=None, origin="import",
                 created_at=now)
            for name, verdict in answers.items()
        )
    session.execute(insert(LabelRow.__table__), rows)
    return tasks
