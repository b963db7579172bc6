"""Compare decision logs on the same items: two systems against gold (McNemar, paired
bootstrap, the items whose decision flipped), and agreement between any number of pathways
(human vs classifier vs LLM) per category, with or without gold."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from charter.errors import CharterError
from charter.evaluate import CategoryAgreement, Comparison, category_agreement, compare
from charter.evaluate.joined import ReviewAs
from charter.records import ContentItem, Decision, Label


class FlippedItem(BaseModel):
    item_id: str
    direction: str = Field(description="fixed (b right, a wrong), broken (a right, b wrong) or unlabelled")
    a: str | None
    b: str | None
    gold: str | None
    text: str | None = None


class CategoryComparison(BaseModel):
    category: str
    comparison: Comparison
    flipped: list[FlippedItem]


class LogStamp(BaseModel):
    """Which policy versions, pathways and models one log's decisions came from."""

    policies: list[str] = Field(description="policy_id@version (hash prefix), one per distinct stamp")
    pathways: list[str]
    model_versions: list[str]


class LogComparison(BaseModel):
    a: str
    b: str
    a_stamp: LogStamp | None = None
    b_stamp: LogStamp | None = None
    n_items: int
    categories: dict[str, CategoryComparison]
    notes: list[str] = Field(default_factory=list)


def log_stamp(decisions: Sequence[Decision]) -> LogStamp:
    policies = sorted({f"{d.policy_id}@{d.policy_version} ({d.policy_hash[:12]})" for d in decisions})
    return LogStamp(
        policies=policies,
        pathways=sorted({d.pathway for d in decisions}),
        model_versions=sorted({d.model_version for d in decisions if d.model_version}),
    )


def _by_item(decisions: Sequence[Decision], name: str) -> dict[str, Decision]:
    out: dict[str, Decision] = {}
    for d in decisions:
        if d.item_id in out:
            raise CharterError(f"{name}: item {d.item_id!r} was decided more than once; compare one pathway per log")
        out[d.item_id] = d
    return out


def _flag(verdict: str | None, review_as: ReviewAs) -> float:
    if verdict == "violating" or (verdict == "needs_review" and review_as == "flagged"):
        return 1.0
    return 0.0


def _gold(verdict: str | None) -> float:
    return {"violating": 1.0, "allowed": 0.0}.get(verdict or "", np.nan)


def compare_logs(
    a: Sequence[Decision],
    b: Sequence[Decision],
    gold: Sequence[Label],
    *,
    names: tuple[str, str] = ("a", "b"),
    categories: Sequence[str] | None = None,
    review_as: ReviewAs = "not_flagged",
    n_boot: int = 1000,
    seed: int = 0,
    gold_items: Sequence[ContentItem] = (),
) -> LogComparison:
    """System b against baseline a on the gold items both decided; differences are b - a.

    `gold_items` (the gold file's items) put each flipped item's text next to it, for review.
    """
    da, db = _by_item(a, names[0]), _by_item(b, names[1])
    gold_by_item = {label.item_id: label for label in gold}
    items = [i for i in da if i in db and i in gold_by_item]
    if not items:
        raise CharterError(f"{names[0]} and {names[1]} share no gold-labelled item; are they from the same split?")
    shared = sorted({c for label in gold for c in label.labels} & {c for d in a for c in d.labels} & {c for d in b for c in d.labels})
    chosen = list(categories) if categories else shared
    missing = [c for c in chosen if c not in shared]
    if missing:
        raise CharterError(f"categor{'y' if len(missing) == 1 else 'ies'} {missing} not judged by both logs and the gold labels")
    if not chosen:
        raise CharterError("the two logs and the gold labels share no category")
    texts = {item.id: item.text for item in gold_items}
    out = {}
    for c in chosen:
        y = np.array([_gold(gold_by_item[i].labels.get(c)) for i in items])
        pa = np.array([_flag(da[i].labels.get(c), review_as) for i in items])
        pb = np.array([_flag(db[i].labels.get(c), review_as) for i in items])
        scored = all(c in da[i].scores and c in db[i].scores for i in items)
        result = compare(
            y,
            pa,
            pb,
            score_a=np.array([da[i].scores[c] for i in items]) if scored else None,
            score_b=np.array([db[i].scores[c] for i in items]) if scored else None,
            n_boot=n_boot,
            seed=seed,
        )
        flipped = [
            FlippedItem(
                item_id=items[k],
                direction=direction,
                a=da[items[k]].labels.get(c),
                b=db[items[k]].labels.get(c),
                gold=gold_by_item[items[k]].labels.get(c),
                text=texts.get(items[k]),
            )
            for direction, indices in (("fixed", result.fixed), ("broken", result.broken), ("unlabelled", result.flipped_unlabelled))
            for k in indices
        ]
        out[c] = CategoryComparison(category=c, comparison=result, flipped=flipped)
    a_stamp, b_stamp = log_stamp(a), log_stamp(b)
    notes = []
    if a_stamp.policies != b_stamp.policies:
        notes.append(
            f"the logs were decided under different policy versions ({', '.join(a_stamp.policies)} vs "
            f"{', '.join(b_stamp.policies)}): differences mix policy and model changes"
        )
    only_a, only_b = len([i for i in da if i not in db]), len([i for i in db if i not in da])
    if only_a or only_b:
        notes.append(f"compared on the {len(items)} gold items both logs decided ({only_a} only in a, {only_b} only in b)")
    return LogComparison(
        a=names[0], b=names[1], a_stamp=a_stamp, b_stamp=b_stamp, n_items=len(items), categories=out, notes=notes
    )


def pathway_agreement(
    logs: dict[str, Sequence[Decision]], *, categories: Sequence[str] | None = None
) -> dict[str, CategoryAgreement]:
    """Agreement on verdicts between named logs (raters), per category, over the union of items.

    An item a log did not judge is a missing rating; Cohen's kappa is given for two raters.
    """
    if len(logs) < 2:
        raise CharterError("agreement needs at least two decision logs")
    by_name = {name: _by_item(decisions, name) for name, decisions in logs.items()}
    judged = [{c for d in log.values() for c in d.labels} for log in by_name.values()]
    shared = sorted(set.intersection(*judged))
    chosen = list(categories) if categories else shared
    if not chosen:
        raise CharterError("the logs share no judged category")
    items = sorted(set().union(*(log.keys() for log in by_name.values())))
    ratings = {
        c: np.array(
            [[(log[i].labels.get(c) if i in log else None) for log in by_name.values()] for i in items], dtype=object
        )
        for c in chosen
    }
    return category_agreement(ratings)
