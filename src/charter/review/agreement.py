"""Agreement between reviewers, per category and per decision-tree node.

Ratings are laid out items x label slots (the first, second, ... reviewer of each task), the
usual layout when different reviewers label different items: Fleiss' kappa and
Krippendorff's alpha do not depend on which reviewer fills which slot, and Cohen's kappa
(given when every task has two slots) compares first and second labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from charter.evaluate import Agreement, CategoryAgreement, category_agreement, krippendorff_alpha
from charter.review.grouping import TaskLabels, labels_by_task
from charter.review.models import Project
from charter.review.projects import project_category


class NodeAgreement(BaseModel):
    """How often reviewers who both answered one tree node gave the same answer."""

    model_config = ConfigDict(extra="forbid")

    category: str
    node: str
    n_items: int
    n_pairs: int
    observed: float | None
    krippendorff_alpha: Agreement


def _matrix(rows: Sequence[Sequence[str | None]]) -> list[list[str | None]]:
    width = max((len(r) for r in rows), default=0)
    return [list(r) + [None] * (width - len(r)) for r in rows]


def _by_category(session: Session, project: Project, categories: Sequence[str] | None, gold: bool | None) -> dict[str, list[TaskLabels]]:
    grouped: dict[str, list[TaskLabels]] = {}
    for entry in labels_by_task(session, project, gold=gold):
        if categories is None or entry.task.category in categories:
            grouped.setdefault(entry.task.category, []).append(entry)
    return grouped


def review_agreement(
    session: Session, project: Project, *, categories: Sequence[str] | None = None, include_gold: bool = False
) -> dict[str, CategoryAgreement]:
    """Cohen/Fleiss/Krippendorff per category over the reviewers' current verdicts."""
    for category in categories or []:
        project_category(project, category)
    grouped = _by_category(session, project, categories, None if include_gold else False)
    ratings = {c: _matrix([e.verdicts for e in entries]) for c, entries in sorted(grouped.items())}
    return category_agreement(ratings)


def node_agreement(
    session: Session, project: Project, *, categories: Sequence[str] | None = None, include_gold: bool = False
) -> list[NodeAgreement]:
    """For each tree node: the share of reviewer pairs on a task who both answered it and
    agreed, and Krippendorff's alpha over the answers given there."""
    out = []
    for category, entries in sorted(_by_category(session, project, categories, None if include_gold else False).items()):
        for node in project_category(project, category).tree.nodes:
            rows = []
            agree = pairs = 0
            for entry in entries:
                given = [label.answers[node] for label in entry.labels if node in label.answers]
                if not given:
                    continue
                rows.append(given)
                for a, b in combinations(given, 2):
                    pairs += 1
                    agree += a == b
            if not rows:
                continue
            alpha = krippendorff_alpha(_matrix(rows))
            out.append(NodeAgreement(category=category, node=node, n_items=len(rows), n_pairs=pairs,
                                     observed=agree / pairs if pairs else None, krippendorff_alpha=alpha))
    return out
