"""Labelled item files: items plus their gold verdicts in one Parquet file.

`charter datasets import` writes them and evaluation commands read them: the item columns of
`items_table`, one `label_<category>` column per category (violating / allowed / null =
unknown), and in the schema metadata the policy the labels were made under and where they
came from (dataset, split, mapping).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from charter.errors import CharterError
from charter.io.items_arrow import items_table
from charter.io.tabular import RawTable
from charter.records import ContentItem, Label
from charter.store.decision_table import LABEL_PREFIX, META_KEY

FORMAT = "charter.labelled_items"
STAMP = ("pathway", "policy_id", "policy_version", "policy_hash", "model_version", "annotator_id")
VERDICTS = ("violating", "allowed", "needs_review")


@dataclass
class LabelledItems:
    items: list[ContentItem]
    labels: list[Label]
    categories: list[str]
    meta: dict[str, Any] = field(default_factory=dict)


def write_labelled_items(
    path: str | Path, items: Sequence[ContentItem], labels: Sequence[Label], categories: Sequence[str], **meta: Any
) -> Path:
    """One row per item; labels must be aligned with items and share one policy stamp."""
    path = Path(path)
    if len(items) != len(labels):
        raise CharterError(f"{len(items)} items but {len(labels)} labels; they must be aligned")
    if not items:
        raise CharterError(f"nothing to write to {path}: no items")
    for item, label in zip(items, labels):
        if item.id != label.item_id:
            raise CharterError(f"label for {label.item_id!r} is aligned with item {item.id!r}")
    stamp = {name: getattr(labels[0], name) for name in STAMP}
    for label in labels:
        if any(getattr(label, name) != stamp[name] for name in STAMP):
            raise CharterError(f"label for {label.item_id!r} has another policy or source stamp than the first label")
    table = items_table(items)
    for category in categories:
        values = [label.labels.get(category) for label in labels]
        table = table.append_column(LABEL_PREFIX + category, pa.array(values, pa.string()).dictionary_encode())
    info = {"format": FORMAT, "version": 1, "categories": list(categories), "stamp": stamp, **meta}
    table = table.replace_schema_metadata({META_KEY: json.dumps(info, default=str).encode("utf-8")})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    return path


def read_labelled_items(path: str | Path) -> LabelledItems:
    path = Path(path)
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise CharterError(f"{path} does not exist") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise CharterError(f"{path} is not a readable Parquet file: {exc}") from None
    raw = (table.schema.metadata or {}).get(META_KEY)
    info = json.loads(raw) if raw else {}
    if info.get("format") != FORMAT:
        raise CharterError(f"{path} is not a labelled-items file (write one with `charter datasets import`)")
    columns = {
        name: table.column(name).to_pylist()
        for name in ("id", "text", "language", "market", "surface", "created_at", "media")
    }
    provenance = table.column("provenance").to_pylist()
    metadata = table.column("metadata").to_pylist()
    categories = info["categories"]
    verdicts = {c: table.column(LABEL_PREFIX + c).cast(pa.string()).to_pylist() for c in categories}
    items, labels = [], []
    for row in range(table.num_rows):
        data = {name: values[row] for name, values in columns.items() if values[row] is not None}
        data["provenance"] = json.loads(provenance[row]) if provenance[row] else {}
        data["metadata"] = json.loads(metadata[row]) if metadata[row] else {}
        item = ContentItem.model_validate(data)
        items.append(item)
        label = {c: v[row] for c, v in verdicts.items() if v[row] is not None}
        labels.append(Label(item_id=item.id, labels=label, **info["stamp"]))
    return LabelledItems(items, labels, categories, {k: v for k, v in info.items() if k not in ("format", "stamp")})


def labels_from_table(
    table: RawTable, label_columns: dict[str, str], items: Sequence[ContentItem], **stamp: Any
) -> list[Label]:
    """Gold labels from a user's columns (category -> column): violating, allowed,
    needs_review, or empty for unknown; anything else is an error at its line."""
    for category, column in label_columns.items():
        if column not in table.columns:
            raise CharterError(
                f"{table.file}: column {column!r} (labels for {category}) not found; "
                f"available columns: {', '.join(table.columns)}"
            )
    labels = []
    for row, item in enumerate(items):
        verdicts = {}
        for category, column in label_columns.items():
            value = table.columns[column][row]
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            verdict = str(value).strip().lower()
            if verdict not in VERDICTS:
                raise CharterError(
                    f"{table.where(row)}: column {column!r}: {value!r} is not a verdict; "
                    f"use {', '.join(VERDICTS)} or leave it empty for unknown"
                )
            verdicts[category] = verdict
        labels.append(Label(item_id=item.id, labels=verdicts, **stamp))
    return labels
