"""Reviewer accuracy on gold questions, with Wilson intervals from the evaluation core."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.errors import CharterError
from charter.evaluate import Interval
from charter.evaluate.intervals import wilson
from charter.review.grouping import labels_by_task
from charter.review.models import Project, User


class GoldAccuracy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewer: str
    n: int
    correct: int
    accuracy: float
    interval: Interval


def gold_accuracy(session: Session, project: Project, *, confidence: float = 0.95) -> list[GoldAccuracy]:
    """Per reviewer who answered gold questions: the share whose current verdict matches the gold."""
    if not 0.0 < confidence < 1.0:
        raise CharterError(f"confidence must be in (0, 1), got {confidence}")
    tallies: dict[int, list[int]] = {}
    for entry in labels_by_task(session, project, gold=True):
        expected = entry.task.gold_answer["verdict"]
        for label in entry.labels:
            tally = tallies.setdefault(label.reviewer_id, [0, 0])
            tally[0] += label.verdict == expected
            tally[1] += 1
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(list(tallies)))).all())
    return [
        GoldAccuracy(reviewer=names[uid], n=n, correct=ok, accuracy=ok / n, interval=wilson(ok, n, n, confidence))
        for uid, (ok, n) in sorted(tallies.items(), key=lambda kv: names[kv[0]])
    ]
