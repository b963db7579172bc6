"""Multi-annotator label quality per category with cleanlab's CROWDLAB: a consensus verdict and
its quality score per item, a quality score per annotator, and the items most likely
mislabelled first.

CROWDLAB weighs the annotators' votes against a model's out-of-sample probabilities. They
come from a cross-validated logistic regression fitted to the annotators' majority vote,
on the decision log's scores for the category when one is given (the machine's view,
recalibrated to the humans' verdicts), else on the items' texts through the fast
classifier's features. Every item's probabilities come from a fold that did not see it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from cleanlab.multiannotator import get_label_quality_multiannotator, get_majority_vote_label
from pydantic import BaseModel, ConfigDict
from scipy.special import logit
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.engines.classifier.features import FeatureConfig, Featurizer
from charter.engines.normalize import normalize_batch
from charter.errors import CharterError
from charter.records import Decision
from charter.review.grouping import labels_by_task
from charter.review.models import VERDICTS, Item, Project, User
from charter.review.projects import project_category, project_policy, require_project_policy

Source = Literal["decision_log", "text_model"]
TEXT_FEATURES = FeatureConfig(n_features=2**18)
MIN_ITEMS = 4
SCORE_CLIP = 1e-4
PROBABILITY_FLOOR = 1e-3


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnnotatorQuality(_Model):
    annotator: str
    quality: float
    agreement_with_consensus: float
    n_labels: int
    worst_class: str


class ItemQuality(_Model):
    task_id: int
    item_id: str
    consensus: str
    quality: float
    annotator_agreement: float
    n_labels: int
    votes: dict[str, int]
    model_probability: float


class CategoryQuality(_Model):
    category: str
    classes: list[str]
    n_items: int
    n_labels: int
    probabilities: Source
    folds: int
    changed_from_majority: int
    annotators: list[AnnotatorQuality]
    items: list[ItemQuality]


class LabelQualityReport(_Model):
    project: str
    policy_id: str
    policy_version: str
    policy_hash: str
    categories: list[CategoryQuality]
    skipped: dict[str, str]


def not_assessable(votes: Sequence[Mapping[str, str]]) -> str | None:
    """Why a category's votes cannot be assessed (None when they can)."""
    if len(votes) < MIN_ITEMS:
        return f"only {len(votes)} labelled item(s); at least {MIN_ITEMS} are needed"
    if len({v for row in votes for v in row.values()}) < 2:
        return "every label gives the same verdict"
    if not any(len(row) > 1 for row in votes):
        return "no item has more than one annotator"
    return None


def _features(texts: Sequence[str], scores: Sequence[float] | None) -> sp.csr_matrix | np.ndarray:
    if scores is not None:
        return logit(np.clip(np.asarray(scores, dtype=float), SCORE_CLIP, 1 - SCORE_CLIP)).reshape(-1, 1)
    matrix = Featurizer(TEXT_FEATURES).transform(normalize_batch(texts))
    return matrix[:, np.flatnonzero(matrix.getnnz(axis=0))]  # unused hash columns only slow the solver down


def _out_of_sample(features: sp.csr_matrix | np.ndarray, target: np.ndarray, n_classes: int, folds: int,
                   seed: int) -> tuple[np.ndarray, int]:
    """Cross-validated class probabilities (items x n_classes) and the number of folds used."""
    counts = np.bincount(target, minlength=n_classes)
    present = counts[counts > 0]
    n_splits = int(max(2, min(folds, present.min())))
    model = LogisticRegression(max_iter=2000) if len(present) > 1 else DummyClassifier(strategy="prior")
    with warnings.catch_warnings():
        # folds may miss a rare class: sklearn warns and gives it probability 0 there
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        probabilities = cross_val_predict(model, features, target, cv=StratifiedKFold(n_splits, shuffle=True, random_state=seed),
                                          method="predict_proba")
    full = np.zeros((len(target), n_classes))
    full[:, np.flatnonzero(counts)] = probabilities
    full = np.maximum(full, PROBABILITY_FLOOR)
    return full / full.sum(axis=1, keepdims=True), n_splits


def assess_category(
    category: str,
    task_ids: Sequence[int],
    item_ids: Sequence[str],
    texts: Sequence[str],
    votes: Sequence[Mapping[str, str]],
    *,
    scores: Sequence[float] | None = None,
    folds: int = 5,
    seed: int = 0,
) -> CategoryQuality:
    """CROWDLAB on one category: `votes[i]` maps annotator -> verdict for item i; `scores`
    (a decision log's P(violating) per item) replace the text model when given."""
    reason = not_assessable(votes)
    if reason:
        raise CharterError(f"{category}: cannot assess label quality: {reason}")
    if folds < 2:
        raise CharterError(f"folds must be at least 2, got {folds}")
    classes = [v for v in VERDICTS if any(v in row.values() for row in votes)]
    code = {verdict: i for i, verdict in enumerate(classes)}
    annotators = sorted({a for row in votes for a in row})
    column = {a: j for j, a in enumerate(annotators)}
    matrix = np.full((len(votes), len(annotators)), np.nan)
    for i, row in enumerate(votes):
        for annotator, verdict in row.items():
            matrix[i, column[annotator]] = code[verdict]
    frame = pd.DataFrame(matrix, columns=annotators)
    majority = get_majority_vote_label(frame, verbose=False)
    probabilities, n_splits = _out_of_sample(_features(texts, scores), majority, len(classes), folds, seed)
    result = get_label_quality_multiannotator(frame, probabilities, verbose=False)
    quality = result["label_quality"]
    stats = result["annotator_stats"]
    consensus = quality["consensus_label"].to_numpy(dtype=int)
    items = [
        ItemQuality(
            task_id=int(task_ids[i]), item_id=item_ids[i], consensus=classes[consensus[i]],
            quality=float(quality["consensus_quality_score"].iloc[i]),
            annotator_agreement=float(quality["annotator_agreement"].iloc[i]),
            n_labels=int(quality["num_annotations"].iloc[i]),
            votes={v: sum(1 for x in votes[i].values() if x == v) for v in classes if v in votes[i].values()},
            model_probability=float(probabilities[i, consensus[i]]),
        )
        for i in range(len(votes))
    ]
    ranked_annotators = [
        AnnotatorQuality(annotator=str(name), quality=float(row["annotator_quality"]),
                         agreement_with_consensus=float(row["agreement_with_consensus"]),
                         n_labels=int(row["num_examples_labeled"]), worst_class=classes[int(row["worst_class"])])
        for name, row in stats.iterrows()
    ]
    return CategoryQuality(
        category=category, classes=classes, n_items=len(votes), n_labels=int(np.sum(~np.isnan(matrix))),
        probabilities="decision_log" if scores is not None else "text_model", folds=n_splits,
        changed_from_majority=int(np.sum(consensus != majority)),
        annotators=sorted(ranked_annotators, key=lambda a: (a.quality, a.annotator)),
        items=sorted(items, key=lambda it: (it.quality, it.item_id)),
    )


def _scores_by_item(project: Project, decisions: Sequence[Decision]) -> dict[str, Decision]:
    by_item: dict[str, Decision] = {}
    for decision in decisions:
        require_project_policy(project, decision)
        if decision.item_id in by_item:
            raise CharterError(f"the decision log has two decisions for item {decision.item_id!r}; "
                               "give one pathway's log so each item has one score")
        by_item[decision.item_id] = decision
    return by_item


def label_quality(
    session: Session,
    project: Project,
    *,
    categories: Sequence[str] | None = None,
    decisions: Sequence[Decision] = (),
    folds: int = 5,
    seed: int = 0,
) -> LabelQualityReport:
    """Label quality of the project's current labels on non-gold tasks, per category
    (default: every category with labels); a decision log, when given, must score every
    labelled item of each assessed category."""
    for category in categories or []:
        project_category(project, category)
    scored = _scores_by_item(project, decisions)
    entries = [e for e in labels_by_task(session, project, gold=False) if not categories or e.task.category in categories]
    labelled = {e.task.category for e in entries}
    wanted = [c for c in project_policy(project).category_ids() if c in (categories or labelled)]
    reviewer_ids = {label.reviewer_id for e in entries for label in e.labels}
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(list(reviewer_ids)))).all())
    rows = session.execute(select(Item.id, Item.external_id, Item.content).where(Item.project_id == project.id)).all()
    items = {row_id: (external, content["text"]) for row_id, external, content in rows}
    assessed, skipped = [], {}
    for category in wanted:
        mine = [e for e in entries if e.task.category == category]
        votes = [{names[label.reviewer_id]: label.verdict for label in e.labels} for e in mine]
        reason = not_assessable(votes)
        if reason:
            skipped[category] = reason
            continue
        item_ids = [items[e.task.item_id][0] for e in mine]
        scores = None
        if scored:
            missing = [i for i in item_ids if category not in (scored[i].scores if i in scored else {})]
            if missing:
                raise CharterError(f"{category}: the decision log has no score for {len(missing)} of {len(item_ids)} "
                                   f"labelled items, e.g. {', '.join(repr(m) for m in missing[:3])}")
            scores = [scored[i].scores[category] for i in item_ids]
        assessed.append(assess_category(category, [e.task.id for e in mine], item_ids,
                                        [items[e.task.item_id][1] for e in mine], votes,
                                        scores=scores, folds=folds, seed=seed))
    return LabelQualityReport(project=project.name, policy_id=project.policy_id, policy_version=project.policy_version,
                              policy_hash=project.policy_hash, categories=assessed, skipped=skipped)
