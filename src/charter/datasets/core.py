"""What a dataset is to Charter: its registry entry, and one loaded split of it.

Every loader turns a dataset's files into one *normalized frame* (columns `id`, `split`,
`text`, `language`, then the dataset's raw label columns, then its metadata columns); the
generic code in `charter.datasets.load` turns a slice of that frame into a `DatasetSplit`.
Label columns hold strings (missing = "NULL"), so label mappings compare plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from charter.records import ContentItem

ColumnKind = Literal["str", "int", "float", "bool", "json"]
Source = Literal["shared", "sample"]
MISSING = "NULL"
BASE_COLUMNS = ("id", "split", "text", "language")


@dataclass(frozen=True)
class LabelColumn:
    """A raw label column: its possible values, and `separator` when one cell holds several."""

    values: tuple[str, ...]
    description: str
    separator: str | None = None

    @property
    def multi(self) -> bool:
        return self.separator is not None


@dataclass(frozen=True)
class SplitInfo:
    """One split: its row count in the full data, and whether the authors published it.

    `carved_from` names the official split this one is a seeded part of: a dataset published
    with train and test only gets `train` and `val` carved from its official train split
    (see `charter.datasets.splits.carve_validation`); together they are that official split.
    """

    rows: int
    official: bool
    original_name: str | None = None
    carved_from: str | None = None


@dataclass(frozen=True)
class DatasetInfo:
    """The registry entry of one dataset in ../shared/data (one folder per dataset)."""

    name: str
    title: str
    description: str
    languages: tuple[str, ...]
    license: str
    redistributable: bool
    source: str
    files: tuple[str, ...]
    splits: dict[str, SplitInfo]
    split_method: str
    label_columns: dict[str, LabelColumn]
    metadata_columns: dict[str, ColumnKind] = field(default_factory=dict)
    mapping: str | None = None
    mapping_note: str | None = None
    quirks: tuple[str, ...] = ()
    citation: str | None = None
    license_note: str | None = None

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.splits.values())

    @property
    def published_splits(self) -> dict[str, int]:
        """Rows per split as the authors published them: carved splits are counted under the
        official split they were carved from (so OLID reads train 13,240, test 860)."""
        counts: dict[str, int] = {}
        for name, split in self.splits.items():
            key = split.carved_from or name
            counts[key] = counts.get(key, 0) + split.rows
        return counts

    @property
    def carved(self) -> list[str]:
        """Splits carved from an official one by Charter's seeded method (not by the authors)."""
        return [name for name, split in self.splits.items() if split.carved_from and name != split.carved_from]

    def split_name(self, split: str) -> str | None:
        """The canonical split name for `split` or one of the authors' names for it."""
        if split in self.splits:
            return split
        for name, info in self.splits.items():
            if info.original_name == split:
                return name
        return None


@dataclass
class DatasetSplit:
    """One split of one dataset, ready for engines (`items`) and evaluation (`raw_labels`).

    `raw_labels` is indexed by item id and holds the dataset's own label columns; `frame`
    holds every normalized column (labels and slice metadata such as annotator counts).
    """

    dataset: str
    split: str
    source: Source
    items: list[ContentItem]
    raw_labels: pd.DataFrame
    frame: pd.DataFrame
    info: DatasetInfo

    @property
    def languages(self) -> set[str]:
        return {item.language for item in self.items if item.language}

    @property
    def ids(self) -> list[str]:
        return [item.id for item in self.items]

    def __len__(self) -> int:
        return len(self.items)
