"""Loading a dataset split from the shared data folder, or from the vendored sample.

`load_split("davidson", "test")` reads ../shared/data/davidson when it is there and falls back
to the vendored sample otherwise; `source="sample"` or `source="shared"` forces one. Names are
the same either way; `DatasetSplit.source` says which one was read.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from charter.datasets import frames, paths
from charter.datasets.core import DatasetInfo, DatasetSplit, Source
from charter.datasets.registry import entry, get_info
from charter.errors import CharterError
from charter.records import ContentItem

SourceChoice = Literal["auto", "shared", "sample"]
Availability = Literal["shared", "sample", "missing"]
ALL = "all"


def availability(name: str) -> Availability:
    """Where `load_split(name)` would read from right now."""
    get_info(name)
    root = paths.shared_root()
    if root is not None and (root / name).is_dir():
        return "shared"
    if paths.sample_file(name).is_file():
        return "sample"
    return "missing"


def _not_found(name: str, wanted: SourceChoice) -> CharterError:
    looked = [f"{path / name} ({why})" for path, why in paths.shared_candidates()] if wanted != "sample" else []
    if wanted != "shared":
        looked.append(f"{paths.sample_file(name)} (vendored sample)")
    info = get_info(name)
    hint = (
        f" Put the dataset folder under ${paths.ENV_VAR} or ../shared/data."
        if info.redistributable
        else f" It is not in the vendored sample ({info.license_note or info.license}); put the folder under ${paths.ENV_VAR}."
    )
    return CharterError(f"dataset {name!r} not found; looked in: {'; '.join(looked)}.{hint}")


@functools.lru_cache(maxsize=32)
def _read_shared(name: str, folder: str) -> pd.DataFrame:
    frame = entry(name).read(Path(folder))
    return frames.check_frame(frame, get_info(name), folder)


@functools.lru_cache(maxsize=32)
def _read_sample(name: str, file: str) -> pd.DataFrame:
    frame = frames.read_sample(get_info(name), Path(file))
    return frames.check_frame(frame, get_info(name), file)


def load_frame(name: str, source: SourceChoice = "auto") -> tuple[pd.DataFrame, Source]:
    """The whole normalized frame of a dataset (every split) and where it came from."""
    get_info(name)
    if source not in ("auto", "shared", "sample"):
        raise CharterError(f"unknown source {source!r}; use auto, shared or sample")
    if source in ("auto", "shared"):
        root = paths.shared_root()
        if root is not None and (root / name).is_dir():
            return _read_shared(name, str(root / name)), "shared"
    if source in ("auto", "sample") and paths.sample_file(name).is_file():
        return _read_sample(name, str(paths.sample_file(name))), "sample"
    raise _not_found(name, source)


def _clean(value: Any) -> Any:
    """pandas missing values become None so item metadata stays plain JSON."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _items(frame: pd.DataFrame, info: DatasetInfo) -> list[ContentItem]:
    extra = [*info.label_columns, *info.metadata_columns]
    columns = {c: [_clean(v) for v in frame[c].tolist()] for c in extra}
    items = []
    for row, (item_id, split, text, language) in enumerate(
        zip(frame["id"].tolist(), frame["split"].tolist(), frame["text"].tolist(), frame["language"].tolist())
    ):
        metadata = {"dataset": info.name, "split": split}
        metadata.update({c: columns[c][row] for c in extra})
        items.append(ContentItem(id=item_id, text=text, language=language or None, metadata=metadata))
    return items


def resolve_split(info: DatasetInfo, split: str) -> str:
    if split == ALL:
        return ALL
    name = info.split_name(split)
    if name is None:
        known = ", ".join([*info.splits, ALL])
        raise CharterError(f"dataset {info.name} has no split {split!r}; splits: {known}")
    return name


def load_split(name: str, split: str = "test", source: SourceChoice = "auto") -> DatasetSplit:
    """One split (or "all") of a dataset as ContentItems plus its raw labels.

    Split names are train/val/test where the dataset has them; the authors' own names for a
    validation split (dev, trial, validation) are accepted too.
    """
    info = get_info(name)
    split = resolve_split(info, split)
    frame, where = load_frame(name, source)
    part = frame if split == ALL else frame[frame["split"] == split]
    if part.empty:
        raise CharterError(f"split {split!r} of dataset {name} is empty in the {where} copy")
    part = part.reset_index(drop=True)
    raw_labels = part.set_index("id")[list(info.label_columns)]
    return DatasetSplit(
        dataset=name,
        split=split,
        source=where,
        items=_items(part, info),
        raw_labels=raw_labels,
        frame=part.set_index("id", drop=False),
        info=info,
    )
