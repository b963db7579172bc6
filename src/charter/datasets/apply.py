"""Turning a dataset split's raw labels into gold `Label` records under a policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from charter.datasets.core import DatasetSplit, Source
from charter.datasets.mapping import Condition, LabelMapping, check_mapping
from charter.errors import CharterError
from charter.policy.hashing import policy_hash
from charter.policy.spec import Policy
from charter.records import ContentItem, Decision, Label

VIOLATING, ALLOWED = "violating", "allowed"
GOLD_PATHWAY = "dataset"


@dataclass
class MappedSplit:
    """A split with gold labels: `verdicts` is item id x category, violating/allowed/None."""

    dataset: str
    split: str
    source: Source
    mapping: LabelMapping
    items: list[ContentItem]
    labels: list[Label]
    verdicts: pd.DataFrame

    def counts(self) -> pd.DataFrame:
        """Per category: how many items are violating, allowed and unknown."""
        rows = {}
        for category in self.verdicts.columns:
            column = self.verdicts[category]
            rows[category] = {
                VIOLATING: int((column == VIOLATING).sum()),
                ALLOWED: int((column == ALLOWED).sum()),
                "unknown": int(column.isna().sum()),
            }
        return pd.DataFrame.from_dict(rows, orient="index")


def _cells(frame: pd.DataFrame, column: str, separator: str | None) -> pd.Series:
    values = frame[column]
    return (
        values.str.split(separator, regex=False).map(frozenset) if separator else values.map(lambda v: frozenset((v,)))
    )


def _matches(condition: Condition, frame: pd.DataFrame, split: DatasetSplit, cache: dict) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for test in condition.tests:
        separator = split.info.label_columns[test.column].separator
        if separator is None and not test.only and not test.none:
            mask &= frame[test.column].isin(test.any).to_numpy()
            continue
        if test.column not in cache:
            cache[test.column] = _cells(frame, test.column, separator).tolist()
        cells = cache[test.column]
        any_of, only, none_of = frozenset(test.any), frozenset(test.only), frozenset(test.none)
        mask &= np.fromiter(
            (
                (not any_of or not cell.isdisjoint(any_of))
                and (not only or cell <= only)
                and (not none_of or cell.isdisjoint(none_of))
                for cell in cells
            ),
            dtype=bool,
            count=len(cells),
        )
    return mask


def _any(conditions: Sequence[Condition], frame: pd.DataFrame, split: DatasetSplit, cache: dict) -> np.ndarray:
    mask = np.zeros(len(frame), dtype=bool)
    for condition in conditions:
        mask |= _matches(condition, frame, split, cache)
    return mask


def verdict_frame(split: DatasetSplit, mapping: LabelMapping) -> pd.DataFrame:
    """Item id x category of "violating", "allowed" or None (unknown)."""
    frame = split.raw_labels
    cache: dict = {}
    out = {}
    for category, rule in mapping.rules.items():
        violating = _any(rule.violating, frame, split, cache)
        allowed = _any(rule.allowed, frame, split, cache)
        both = violating & allowed
        if both.any():
            examples = ", ".join(frame.index[both][:3])
            raise CharterError(
                f"{rule.location}: label mapping {mapping.ref} makes {int(both.sum())} items of "
                f"{split.dataset}/{split.split} both violating and allowed for {category!r} (e.g. {examples}); "
                "make its violating and allowed conditions exclusive"
            )
        column = np.full(len(frame), None, dtype=object)
        column[violating] = VIOLATING
        column[allowed] = ALLOWED
        out[category] = column
    return pd.DataFrame(out, index=frame.index, dtype=object)


def apply_mapping(split: DatasetSplit, mapping: LabelMapping, policy: Policy) -> MappedSplit:
    """Gold labels (pathway "dataset") for the categories the mapping covers.

    An item's Label holds only the categories where it is violating or allowed; categories
    where it is unknown are left out, so evaluation never counts them either way.
    """
    if mapping.dataset != split.dataset:
        raise CharterError(f"label mapping {mapping.file} is for dataset {mapping.dataset!r}, not {split.dataset!r}")
    check_mapping(mapping, policy)
    verdicts = verdict_frame(split, mapping)
    stamp = {
        "pathway": GOLD_PATHWAY,
        "policy_id": policy.id,
        "policy_version": policy.version,
        "policy_hash": policy_hash(policy),
        "model_version": f"mapping:{mapping.ref}",
        "annotator_id": f"dataset:{split.dataset}",
    }
    categories = list(verdicts.columns)
    columns = [verdicts[c].tolist() for c in categories]
    labels = []
    for row, item in enumerate(split.items):
        verdict = {c: col[row] for c, col in zip(categories, columns) if isinstance(col[row], str)}
        labels.append(Label(item_id=item.id, labels=verdict, **stamp))
    return MappedSplit(split.dataset, split.split, split.source, mapping, split.items, labels, verdicts)


def gold_arrays(labels: Sequence[Decision], categories: Sequence[str]) -> dict[str, np.ndarray]:
    """Per category, an array aligned with `labels`: 1.0 violating, 0.0 allowed, NaN otherwise."""
    out = {}
    for category in categories:
        values = np.full(len(labels), np.nan)
        for i, label in enumerate(labels):
            verdict = label.labels.get(category)
            if verdict == VIOLATING:
                values[i] = 1.0
            elif verdict == ALLOWED:
                values[i] = 0.0
        out[category] = values
    return out
