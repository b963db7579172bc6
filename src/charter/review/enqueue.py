"""Filling the review queues from the three sources: decision-log escalations, QA samples of
a decision log, and imported labelled datasets (optionally seeding gold questions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import numpy as np
from sqlalchemy.orm import Session

from charter.errors import CharterError
from charter.io.labelled import LabelledItems
from charter.records import ContentItem, Decision
from charter.review.clock import resolve_now
from charter.review.models import Project, Task
from charter.review.sampling import DEFAULT_BANDS, qa_sample
from charter.review.tasks import TaskSpec, add_tasks, items_by_id, require_items

GOLD_VERDICTS = ("violating", "allowed")


def _same_policy(project: Project, decisions: Sequence[Decision], what: str) -> None:
    for decision in decisions:
        if decision.policy_hash != project.policy_hash:
            raise CharterError(
                f"{what}: decision for {decision.item_id!r} was made under policy {decision.policy_id}@"
                f"{decision.policy_version} ({decision.policy_hash[:12]}), but project {project.name!r} reviews "
                f"under {project.policy_id}@{project.policy_version} ({project.policy_hash[:12]})"
            )


def escalated_categories(decision: Decision) -> list[str]:
    """The categories a decision sends to review: its needs_review verdicts, or, when only an
    escalation queue is named, the categories it found violating."""
    review = sorted(c for c, v in decision.labels.items() if v == "needs_review")
    if review or not decision.escalation_queue:
        return review
    violating = decision.violating_categories()
    if not violating:
        raise CharterError(
            f"decision for {decision.item_id!r} escalates to {decision.escalation_queue!r} but names no "
            "needs_review or violating category to review"
        )
    return violating


def enqueue_escalations(
    session: Session,
    project: Project,
    decisions: Iterable[Decision],
    items: Mapping[str, ContentItem] | Sequence[ContentItem],
    *,
    overlap: int = 1,
    now: dt.datetime | None = None,
) -> list[Task]:
    """Tasks for every decision that asks for review, in its escalation queue (or the category's)."""
    now = resolve_now(now)
    chosen = [(d, c) for d in decisions for c in escalated_categories(d)]
    _same_policy(project, [d for d, _ in chosen], "escalations")
    by_id = items_by_id(items)
    require_items([d.item_id for d, _ in chosen], by_id, "escalations")
    specs = [
        TaskSpec(by_id[decision.item_id], category, "escalation", queue_id=decision.escalation_queue, overlap=overlap,
                 origin={"decision_id": decision.decision_id, "pathway": decision.pathway,
                         "score": decision.scores.get(category), "verdict": decision.labels.get(category)})
        for decision, category in chosen
    ]
    return add_tasks(session, project, specs, now=now)


def enqueue_qa_sample(
    session: Session,
    project: Project,
    decisions: Sequence[Decision],
    items: Mapping[str, ContentItem] | Sequence[ContentItem],
    n: int,
    *,
    method: Literal["random", "stratified"] = "random",
    categories: Sequence[str] | None = None,
    bands: Sequence[float] = DEFAULT_BANDS,
    seed: int = 0,
    queue_id: str | None = None,
    overlap: int = 1,
    now: dt.datetime | None = None,
) -> list[Task]:
    """Tasks for a seeded QA sample of a decision log (see `charter.review.sampling.qa_sample`)."""
    now = resolve_now(now)
    _same_policy(project, decisions, "QA sample")
    picks = qa_sample(decisions, n, method=method, categories=categories, bands=bands, seed=seed)
    by_id = items_by_id(items)
    require_items([p.decision.item_id for p in picks], by_id, "QA sample")
    specs = [
        TaskSpec(by_id[pick.decision.item_id], pick.category, "qa_sample", queue_id=queue_id, overlap=overlap,
                 origin={"decision_id": pick.decision.decision_id, "pathway": pick.decision.pathway,
                         "stratum": pick.stratum, "weight": pick.weight, "method": method, "seed": seed,
                         "score": pick.decision.scores.get(pick.category),
                         "verdict": pick.decision.labels.get(pick.category)})
        for pick in picks
    ]
    return add_tasks(session, project, specs, now=now)


def import_dataset(
    session: Session,
    project: Project,
    labelled: LabelledItems,
    *,
    categories: Sequence[str] | None = None,
    queue_id: str | None = None,
    overlap: int = 2,
    gold_share: float = 0.0,
    seed: int = 0,
    now: dt.datetime | None = None,
) -> list[Task]:
    """A task per item and category; `gold_share` of the (item, category) pairs with a known
    gold verdict (violating/allowed) become gold questions whose answer reviewers never see."""
    now = resolve_now(now)
    if not 0.0 <= gold_share <= 1.0:
        raise CharterError(f"gold_share must be in [0, 1], got {gold_share}")
    wanted = list(categories) if categories is not None else list(labelled.categories)
    unknown = [c for c in wanted if c not in labelled.categories]
    if unknown:
        raise CharterError(f"labelled items have no category {', '.join(unknown)} (they have {', '.join(labelled.categories)})")
    pairs = [(item, label, c) for item, label in zip(labelled.items, labelled.labels) for c in wanted]
    known = [i for i, (_, label, c) in enumerate(pairs) if label.labels.get(c) in GOLD_VERDICTS]
    rng = np.random.default_rng(seed)
    gold = set(rng.choice(known, size=round(gold_share * len(known)), replace=False).tolist()) if known else set()
    origin = {"dataset": labelled.meta.get("dataset"), "split": labelled.meta.get("split")}
    specs = [
        TaskSpec(item, category, "dataset_import", queue_id=queue_id, overlap=overlap, is_gold=index in gold,
                 gold_answer={"verdict": label.labels[category]} if index in gold else None, origin=origin)
        for index, (item, label, category) in enumerate(pairs)
    ]
    return add_tasks(session, project, specs, now=now)
