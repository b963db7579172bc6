"""Dataset items as a platform would send them: the dataset's label and annotation columns
removed from each item's metadata (labels, vote counts and spans all give the answer away), so
an engine, a stored decision or a human reviewer never sees what an evaluation will grade
against. The dataset name and split stay, for slicing."""

from __future__ import annotations

from collections.abc import Sequence

from charter.datasets.registry import REGISTRY
from charter.records import ContentItem


def blind(items: Sequence[ContentItem]) -> list[ContentItem]:
    """Copies of `items` without the label and metadata columns of the dataset each one names in
    `metadata["dataset"]` (items from elsewhere are returned unchanged)."""
    out = []
    for item in items:
        entry = REGISTRY.get(str(item.metadata.get("dataset")))
        if entry is None:
            out.append(item)
            continue
        hidden = {*entry.info.label_columns, *entry.info.metadata_columns}
        out.append(item.model_copy(update={"metadata": {k: v for k, v in item.metadata.items() if k not in hidden}}))
    return out
