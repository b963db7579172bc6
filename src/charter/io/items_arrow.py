"""ContentItems as an Arrow table, shared by item files and labelled-item files."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from charter.records import ContentItem


def items_table(items: Sequence[ContentItem], columns: Mapping[str, str] | None = None) -> pa.Table:
    """Items as an Arrow table: plain columns, dict fields as JSON text, media as a list."""

    def json_or_none(value: dict[str, Any]) -> str | None:
        return json.dumps(value, ensure_ascii=False, default=str) if value else None

    data = {
        "id": pa.array([i.id for i in items], pa.string()),
        "text": pa.array([i.text for i in items], pa.string()),
        "language": pa.array([i.language for i in items], pa.string()),
        "market": pa.array([i.market for i in items], pa.string()),
        "surface": pa.array([i.surface for i in items], pa.string()),
        "created_at": pa.array([i.created_at.isoformat() if i.created_at else None for i in items], pa.string()),
        "media": pa.array([i.media for i in items], pa.list_(pa.string())),
        "provenance": pa.array([json_or_none(i.provenance) for i in items], pa.string()),
        "metadata": pa.array([json_or_none(i.metadata) for i in items], pa.string()),
    }
    return pa.table({(columns or {}).get(k, k): v for k, v in data.items()})
