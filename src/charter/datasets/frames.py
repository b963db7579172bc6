"""Normalized frames: checking what a loader produced, and the sample's CSV form of them.

The vendored sample stores normalized frames (not the source files), so item ids in the
sample are exactly the ids of the same rows in the full data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from charter.datasets.core import BASE_COLUMNS, MISSING, DatasetInfo
from charter.errors import CharterError


def columns(info: DatasetInfo) -> list[str]:
    return [*BASE_COLUMNS, *info.label_columns, *info.metadata_columns]


def check_frame(frame: pd.DataFrame, info: DatasetInfo, where: str) -> pd.DataFrame:
    """Columns in canonical order, label columns as clean strings, values within their domain.

    A value outside a label column's declared domain means the files are not the version the
    registry describes, so it is an error rather than something to map silently.
    """
    missing = [c for c in columns(info) if c not in frame.columns and c not in info.metadata_columns]
    if missing:
        raise CharterError(f"{where}: dataset {info.name} lacks columns {', '.join(missing)}")
    frame = frame.reindex(columns=columns(info))
    for name in ("id", "split", "text", "language"):
        frame[name] = frame[name].astype(object).where(frame[name].notna(), "").astype(str)
    for name, column in info.label_columns.items():
        values = frame[name].astype(object).where(frame[name].notna(), MISSING).astype(str).str.strip()
        values = values.replace("", MISSING)
        frame[name] = values
        if column.multi:
            seen = set(values.str.split(column.separator, regex=False).explode().unique())
        else:
            seen = set(values.unique())
        unexpected = sorted(seen - set(column.values))
        if unexpected:
            raise CharterError(
                f"{where}: column {name!r} of dataset {info.name} has values {unexpected[:5]} outside "
                f"the documented ones ({', '.join(column.values)}); is this the published version?"
            )
    duplicated = frame["id"][frame["id"].duplicated()]
    if len(duplicated):
        raise CharterError(f"{where}: dataset {info.name} has duplicate ids, e.g. {list(duplicated[:3])}")
    return frame


def write_sample(frame: pd.DataFrame, info: DatasetInfo, path: Path) -> None:
    """CSV with JSON-encoded list/dict columns and lowercase booleans."""
    out = frame[columns(info)].copy()
    for name, kind in info.metadata_columns.items():
        if kind == "json":
            out[name] = out[name].map(lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":")))
        elif kind == "bool":
            out[name] = out[name].map({True: "true", False: "false"})
    out.to_csv(path, index=False, lineterminator="\n")


def read_sample(info: DatasetInfo, path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    for name, kind in info.metadata_columns.items():
        if name not in raw:
            continue
        if kind == "json":
            raw[name] = raw[name].map(json.loads)
        elif kind == "bool":
            raw[name] = raw[name].map({"true": True, "false": False})
        elif kind == "int":
            raw[name] = pd.to_numeric(raw[name].replace("", np.nan)).astype("Int64")
        elif kind == "float":
            raw[name] = pd.to_numeric(raw[name].replace("", np.nan))
    return raw
