"""Join one pathway's decisions with gold labels into the flat frame the evaluation reads.

Columns: item_id, text, language, market, surface, metadata.<key>, pathway, model_version,
action, rule_ids, and per category `gold:<cat>` (1/0/NaN), `pred:<cat>` (1/0) and, where
the pathway scores, `score:<cat>`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from charter.errors import CharterError
from charter.records import ContentItem, Decision, Label

ReviewAs = Literal["flagged", "not_flagged"]


@dataclass
class Joined:
    frame: pd.DataFrame
    categories: list[str]
    notes: list[str] = field(default_factory=list)


def _gold_value(verdict: str | None) -> float:
    if verdict == "violating":
        return 1.0
    if verdict == "allowed":
        return 0.0
    return np.nan  # unknown, or a gold "needs_review" that settles nothing


def join_decisions(
    decisions: Sequence[Decision],
    items: Sequence[ContentItem],
    labels: Sequence[Label],
    *,
    categories: Sequence[str] | None = None,
    review_as: ReviewAs = "not_flagged",
    source: str = "the decision log",
    threshold: float | None = None,
) -> Joined:
    """One row per gold-labelled item that was decided.

    `review_as` says how a `needs_review` verdict counts: as a flag (the item did not get
    through unexamined) or not (the automated pathway did not act). A category a decision
    gives no verdict for counts as not flagged, unless it has a score and `threshold` is given:
    then score >= threshold flags it (a score-only log from an outside model). A score outside
    [0, 1] is an error naming `source` and the item, since every threshold and curve assumes
    probabilities.
    """
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise CharterError(f"the threshold must be in [0, 1], got {threshold}")
    if not decisions:
        raise CharterError("the decision log is empty")
    per_item = Counter(d.item_id for d in decisions)
    repeated = [i for i, n in per_item.items() if n > 1]
    if repeated:
        pathways = sorted({d.pathway for d in decisions})
        raise CharterError(
            f"{len(repeated)} items were decided more than once (e.g. {repeated[0]!r}; pathways: "
            f"{', '.join(pathways)}); evaluate one pathway at a time (--pathway)"
        )
    gold_by_item = {label.item_id: label for label in labels}
    item_by_id = {item.id: item for item in items}
    decided = {d.item_id: d for d in decisions}
    matched = [item_id for item_id in item_by_id if item_id in decided and item_id in gold_by_item]
    if not matched:
        raise CharterError(
            f"no decision matches a gold-labelled item ({len(decisions)} decisions, {len(labels)} labels): "
            "are they from the same dataset and split?"
        )
    gold_categories = sorted({c for label in labels for c in label.labels})
    decided_categories = {c for d in decisions for c in (*d.labels, *d.scores)}
    if categories:
        unknown = [c for c in categories if c not in gold_categories]
        if unknown:
            raise CharterError(
                f"no gold labels for categor{'y' if len(unknown) == 1 else 'ies'} {unknown}; "
                f"the gold file labels: {', '.join(gold_categories) or 'nothing'}"
            )
        chosen = list(categories)
    else:
        chosen = [c for c in gold_categories if c in decided_categories]
    if not chosen:
        raise CharterError(
            f"the decisions ({', '.join(sorted(decided_categories)) or 'no category'}) and the gold labels "
            f"({', '.join(gold_categories)}) share no category"
        )

    flag_review = review_as == "flagged"
    rows = []
    score_only = 0
    for item_id in matched:
        item, decision, gold = item_by_id[item_id], decided[item_id], gold_by_item[item_id]
        row: dict = {
            "item_id": item_id,
            "text": item.text,
            "language": item.language,
            "market": item.market,
            "surface": item.surface,
            "pathway": decision.pathway,
            "model_version": decision.model_version,
            "action": decision.action,
            "rule_ids": ",".join(decision.rule_ids),
        }
        for key, value in item.metadata.items():
            if isinstance(value, (str, int, float, bool)) or value is None:
                row[f"metadata.{key}"] = value
        for c in chosen:
            verdict = decision.labels.get(c)
            row[f"gold:{c}"] = _gold_value(gold.labels.get(c))
            row[f"pred:{c}"] = 1.0 if verdict == "violating" or (flag_review and verdict == "needs_review") else 0.0
            if verdict is None and c in decision.scores:
                score_only += 1
                if threshold is not None:
                    row[f"pred:{c}"] = 1.0 if decision.scores[c] >= threshold else 0.0
            if c in decision.scores:
                score = decision.scores[c]
                if not 0.0 <= score <= 1.0:  # also rejects NaN
                    raise CharterError(
                        f"{source}: item {item_id!r}: score for {c} is {score}, outside [0, 1]; scores must be "
                        "probabilities (calibrate or rescale them before evaluating)"
                    )
                row[f"score:{c}"] = score
        rows.append(row)
    frame = pd.DataFrame(rows)
    notes = []
    undecided = sum(1 for i in gold_by_item if i not in decided)
    if undecided:
        notes.append(f"{undecided} gold-labelled items have no decision and are not evaluated")
    ungolden = sum(1 for i in decided if i not in gold_by_item)
    if ungolden:
        notes.append(f"{ungolden} decisions have no gold label and are not evaluated")
    if score_only:
        if threshold is None:
            notes.append(
                f"{score_only} (item, category) decisions have a score but no verdict and count as not flagged; "
                "pass --threshold to flag scores at or above it"
            )
        else:
            notes.append(f"{score_only} (item, category) decisions have a score but no verdict: flagged at score >= {threshold:g}")
    reviewed = sum(1 for d in decisions if d.item_id in gold_by_item and "needs_review" in d.labels.values())
    if reviewed:
        counted = "flags" if flag_review else "not flagged"
        notes.append(f"{reviewed} decisions sent items to human review; counted as {counted} (--review-as)")
    return Joined(frame=frame, categories=chosen, notes=notes)
