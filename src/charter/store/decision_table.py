"""Decisions (and Labels) as Arrow tables: one row per decision, one column per category.

Scores become float64 columns `score_<category>` and verdicts dictionary-encoded string
columns `label_<category>`, so per-category arrays come straight out of the columns (and
DuckDB can read them without unnesting). A missing score or verdict is a null. The columns
are built directly from the records' attributes, never through a dict per row.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import TypeAdapter

from charter.errors import CharterError
from charter.records import Decision, Label

SCORE_PREFIX = "score_"
LABEL_PREFIX = "label_"
META_KEY = b"charter"
FORMAT = "charter.decision_log"
FORMAT_VERSION = 1

STRING_FIELDS = ("rationale", "model_version", "decision_id", "escalation_queue")
DICT_FIELDS = ("pathway", "policy_id", "policy_version", "policy_hash", "action")
FLOAT_FIELDS = ("latency_ms", "cost_usd")
INT_FIELDS = ("tokens_in", "tokens_out")
LIST_FIELDS = ("rule_ids", "tree_path")
LABEL_ONLY_FIELDS = ("annotator_id", "note")
TIMESTAMP = pa.timestamp("us", tz="UTC")


def _kind(records: Sequence[Decision]) -> str:
    labels = sum(isinstance(r, Label) for r in records)
    if labels and labels != len(records):
        raise CharterError("a decision log holds either Decisions or Labels, not both; write them to separate logs")
    return "label" if labels else "decision"


def _per_category(records: Sequence[Decision], attribute: str) -> dict[str, dict[int, Any]]:
    found: dict[str, dict[int, Any]] = {}
    for row, record in enumerate(records):
        for category, value in getattr(record, attribute).items():
            found.setdefault(category, {})[row] = value
    return found


def _score_array(values: dict[int, float], n: int) -> pa.Array:
    data = np.zeros(n, dtype=np.float64)
    present = np.zeros(n, dtype=bool)
    rows = np.fromiter(values.keys(), dtype=np.int64, count=len(values))
    data[rows] = np.fromiter(values.values(), dtype=np.float64, count=len(values))
    present[rows] = True
    return pa.array(data, mask=~present)


def _label_array(values: dict[int, str], n: int) -> pa.Array:
    column: list[str | None] = [None] * n
    for row, verdict in values.items():
        column[row] = verdict
    return pa.array(column, type=pa.string()).dictionary_encode()


def _timestamps(records: Sequence[Decision]) -> tuple[pa.Array, bool]:
    """UTC timestamps; naive datetimes are read as UTC and flagged so they come back naive."""
    values = [r.decided_at for r in records]
    given = [v for v in values if v is not None]
    naive = bool(given) and all(v.tzinfo is None for v in given)
    converted = [None if v is None else (v.replace(tzinfo=dt.UTC) if v.tzinfo is None else v) for v in values]
    return pa.array(converted, type=TIMESTAMP), naive


def _json_or_none(value: dict[str, Any], record: Decision) -> str | None:
    if not value:
        return None
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError) as exc:
        raise CharterError(f"decision for item {record.item_id!r}: `extra` is not JSON-serialisable ({exc})") from None


def decisions_to_table(decisions: Iterable[Decision]) -> pa.Table:
    """One Arrow table for a batch of decisions (or of labels)."""
    records = decisions if isinstance(decisions, list) else list(decisions)
    n = len(records)
    kind = _kind(records)
    columns: dict[str, pa.Array] = {"item_id": pa.array([r.item_id for r in records], type=pa.string())}
    for name in DICT_FIELDS:
        columns[name] = pa.array([getattr(r, name) for r in records], type=pa.string()).dictionary_encode()
    scores = _per_category(records, "scores")
    labels = _per_category(records, "labels")
    for category in sorted(scores):
        columns[SCORE_PREFIX + category] = _score_array(scores[category], n)
    for category in sorted(labels):
        columns[LABEL_PREFIX + category] = _label_array(labels[category], n)
    for name in LIST_FIELDS:
        columns[name] = pa.array([getattr(r, name) for r in records], type=pa.list_(pa.string()))
    for name in STRING_FIELDS:
        columns[name] = pa.array([getattr(r, name) for r in records], type=pa.string())
    columns["decided_at"], naive = _timestamps(records)
    for name in FLOAT_FIELDS:
        columns[name] = pa.array([getattr(r, name) for r in records], type=pa.float64())
    for name in INT_FIELDS:
        columns[name] = pa.array([getattr(r, name) for r in records], type=pa.int64())
    columns["extra"] = pa.array([_json_or_none(r.extra, r) for r in records], type=pa.string())
    if kind == "label":
        for name in LABEL_ONLY_FIELDS:
            columns[name] = pa.array([getattr(r, name) for r in records], type=pa.string())
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "kind": kind,
        "score_categories": sorted(scores),
        "label_categories": sorted(labels),
        "naive_decided_at": naive,
    }
    table = pa.table(columns)
    return table.replace_schema_metadata({META_KEY: json.dumps(meta).encode("utf-8")})


def table_meta(schema: pa.Schema) -> dict[str, Any]:
    """The Charter metadata of a decision-log table, inferred from column names if absent."""
    raw = (schema.metadata or {}).get(META_KEY)
    if raw:
        return json.loads(raw)
    names = schema.names
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "kind": "label" if "annotator_id" in names else "decision",
        "score_categories": [c[len(SCORE_PREFIX) :] for c in names if c.startswith(SCORE_PREFIX)],
        "label_categories": [c[len(LABEL_PREFIX) :] for c in names if c.startswith(LABEL_PREFIX)],
        "naive_decided_at": False,
    }


def _column(table: pa.Table, name: str, n: int) -> list[Any]:
    """A column as Python values; dictionary columns are decoded first (much faster)."""
    if name not in table.column_names:
        return [None] * n
    column = table.column(name)
    if pa.types.is_dictionary(column.type):
        column = column.cast(pa.string())
    return column.to_pylist()


def _datetimes(table: pa.Table, n: int, naive: bool) -> list[dt.datetime | None]:
    if "decided_at" not in table.column_names:
        return [None] * n
    column = table.column("decided_at")
    if column.null_count == n:
        return [None] * n
    micros = column.cast(TIMESTAMP).cast(pa.int64()).to_numpy(zero_copy_only=False)
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    values = micros.astype("datetime64[us]").astype(object)
    if naive:
        return [v if ok else None for v, ok in zip(values, valid)]
    return [v.replace(tzinfo=dt.UTC) if ok else None for v, ok in zip(values, valid)]


_ADAPTERS = {Decision: TypeAdapter(list[Decision]), Label: TypeAdapter(list[Label])}


def table_to_decisions(table: pa.Table) -> list[Decision]:
    """Decisions (or Labels) back from a table written by `decisions_to_table`."""
    meta = table_meta(table.schema)
    model: type[Decision] = Label if meta["kind"] == "label" else Decision
    n = table.num_rows
    if "item_id" not in table.column_names:
        raise CharterError("not a decision log: the table has no item_id column")
    plain = ["item_id", *DICT_FIELDS, *LIST_FIELDS, *STRING_FIELDS, *FLOAT_FIELDS, *INT_FIELDS]
    if model is Label:
        plain += LABEL_ONLY_FIELDS
    columns = {name: _column(table, name, n) for name in plain}
    columns = {name: values for name, values in columns.items() if any(v is not None for v in values)}
    scores = {c: _column(table, SCORE_PREFIX + c, n) for c in meta["score_categories"]}
    labels = {c: _column(table, LABEL_PREFIX + c, n) for c in meta["label_categories"]}
    decided = _datetimes(table, n, bool(meta.get("naive_decided_at")))
    extras = _column(table, "extra", n)
    rows = []
    for row in range(n):
        data = {name: values[row] for name, values in columns.items() if values[row] is not None}
        data["scores"] = {c: v[row] for c, v in scores.items() if v[row] is not None}
        data["labels"] = {c: v[row] for c, v in labels.items() if v[row] is not None}
        if extras[row]:
            data["extra"] = json.loads(extras[row])
        if decided[row] is not None:
            data["decided_at"] = decided[row]
        rows.append(data)
    return _ADAPTERS[model].validate_python(rows)
