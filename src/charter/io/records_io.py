"""Ingest and export ContentItems, Decisions and Labels as JSONL, CSV/TSV or Parquet.

Columns map to record fields explicitly: `columns={"id": "tweet_id", "text": "body"}` reads
the item id from `tweet_id`; a field not named in `columns` is read from the column of the
same name when there is one. Per-category fields are `scores.<category>` and
`labels.<category>` (and `metadata.<key>`, `provenance.<key>`, `extra.<key>`): a JSON object
`{"scores": {"hate": 0.9}}` and a CSV column `scores.hate` are the same thing. Columns that
map to no field go into an item's `metadata` (a decision's `extra`) unless
`unmapped="ignore"`. In CSV, list and dict fields are JSON text.

Parquet decisions and labels are written as a decision log (see charter.store), and a Parquet
decision log is read back losslessly.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from charter.errors import CharterError
from charter.io import labelled
from charter.io.items_arrow import items_table
from charter.io.tabular import Errors, RawTable, detect_format, read_table
from charter.records import ContentItem, Decision, Label
from charter.store.decision_log import write_decision_log
from charter.store.decision_table import FORMAT as LOG_FORMAT
from charter.store.decision_table import META_KEY, table_to_decisions

Kind = Literal["item", "decision", "label"]
Unmapped = Literal["keep", "ignore"]

ITEM_FIELDS = ("id", "text", "language", "market", "surface", "created_at", "media", "provenance", "metadata")
DECISION_FIELDS = tuple(f for f in Decision.model_fields)
LABEL_FIELDS = tuple(f for f in Label.model_fields)
REQUIRED = {
    "item": ("id", "text"),
    "decision": ("item_id", "pathway", "policy_id", "policy_version", "policy_hash"),
    "label": ("item_id", "policy_id", "policy_version", "policy_hash"),
}
DICT_FIELDS = ("scores", "labels", "metadata", "provenance", "extra")
LIST_FIELDS = ("media", "rule_ids", "tree_path")
DATETIME_FIELDS = ("created_at", "decided_at")
FLOAT_FIELDS = ("latency_ms", "cost_usd")
INT_FIELDS = ("tokens_in", "tokens_out")
SPILL = {"item": "metadata", "decision": "extra", "label": "extra"}
MAX_REPORTED = 5


def _fields(kind: Kind) -> tuple[str, ...]:
    return {"item": ITEM_FIELDS, "decision": DECISION_FIELDS, "label": LABEL_FIELDS}[kind]


class _Cell(Exception):
    """A cell that cannot become its field's type (reported with its location)."""


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_json(value: Any, want: type) -> Any:
    if isinstance(value, want):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise _Cell(f"expected a JSON {want.__name__}, found {value[:40]!r} ({exc.msg})") from None
        if isinstance(parsed, want):
            return parsed
    raise _Cell(f"expected a {'list' if want is list else 'map'}, found {value!r:.40}")


def _convert(field: str, value: Any) -> Any:
    if field in LIST_FIELDS:
        return _parse_json(value, list)
    if field in DICT_FIELDS:
        return _parse_json(value, dict)
    if field in DATETIME_FIELDS:
        if isinstance(value, dt.datetime):
            return value
        try:
            return dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise _Cell(f"expected an ISO 8601 date-time, found {value!r:.40}") from None
    if field in FLOAT_FIELDS or field.startswith("scores."):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise _Cell(f"expected a number, found {value!r:.40}") from None
    if field in INT_FIELDS:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise _Cell(f"expected an integer, found {value!r:.40}") from None
        if not number.is_integer():
            raise _Cell(f"expected an integer, found {value!r:.40}")
        return int(number)
    if field.startswith("labels."):
        return str(value).strip()
    if field.startswith(("metadata.", "provenance.", "extra.")) or isinstance(value, (str, dict, list)):
        return value
    return str(value)  # a number or boolean in a text field, e.g. a numeric id


def _check_field(field: str, kind: Kind, what: str) -> None:
    fields = _fields(kind)
    if field not in fields and not field.startswith(tuple(f"{name}." for name in DICT_FIELDS if name in fields)):
        raise CharterError(
            f"unknown {kind} field {field!r} in the {what}; fields: {', '.join(fields)} "
            "(and <dict field>.<key>, e.g. scores.<category>, labels.<category>, metadata.<key>)"
        )


def _resolve(
    table: RawTable, kind: Kind, columns: Mapping[str, str] | None, constants: Mapping[str, Any]
) -> dict[str, str]:
    """field -> source column, from explicit `columns` first, then same-named columns."""
    explicit = {k: v for k, v in (columns or {}).items() if k not in constants}
    fields = _fields(kind)
    for field in constants:
        _check_field(field, kind, "constants")
    for field, source in explicit.items():
        _check_field(field, kind, "column mapping")
        if source not in table.columns:
            raise CharterError(
                f"{table.file}: column {source!r} (mapped to {field}) not found; "
                f"available columns: {', '.join(table.columns)}"
            )
    resolved = dict(explicit)
    taken = set(explicit.values())
    for name in table.columns:
        if name in taken or name in resolved or name in constants:
            continue
        base = name.split(".", 1)[0]
        if name in fields or ("." in name and base in DICT_FIELDS and base in fields):
            resolved[name] = name
    missing = [f for f in REQUIRED[kind] if f not in resolved and f not in constants]
    if missing:
        raise CharterError(
            f"{table.file}: no column for required field(s) {', '.join(missing)}; available columns: "
            f"{', '.join(table.columns)}; map one with columns={{'{missing[0]}': '<column>'}} or give it as a constant (CLI: --map {missing[0]}=<column> "
            f"or, where a command has it, --set {missing[0]}=<value>)"
        )
    return resolved


def _records(
    table: RawTable,
    kind: Kind,
    columns: Mapping[str, str] | None,
    constants: Mapping[str, Any] | None,
    unmapped: Unmapped,
) -> list[dict[str, Any]]:
    constants = dict(constants or {})
    resolved = _resolve(table, kind, columns, constants)
    used = set(resolved.values())
    spill = [c for c in table.columns if c not in used] if unmapped == "keep" else []
    out = []
    for row in range(table.rows):
        data: dict[str, Any] = dict(constants)
        nested: dict[str, dict[str, Any]] = {}
        try:
            for field, source in resolved.items():
                value = table.columns[source][row]
                if value is None and field == "text":
                    raise _Cell("the text is missing (null)")
                if _missing(value) and field != "text":
                    continue
                converted = _convert(field, value)
                if "." in field:
                    base, key = field.split(".", 1)
                    nested.setdefault(base, {})[key] = converted
                else:
                    data[field] = converted
        except _Cell as exc:
            raise CharterError(f"{table.where(row)}: column {source!r} ({field}): {exc}") from None
        for base, values in nested.items():
            data[base] = {**data.get(base, {}), **values}
        if spill:
            extra = {c: table.columns[c][row] for c in spill if not _missing(table.columns[c][row])}
            if extra:
                target = SPILL[kind]
                data[target] = {**extra, **data.get(target, {})}
        out.append(data)
    return out


def _validate(rows: list[dict[str, Any]], model: type, table: RawTable) -> list[Any]:
    out = []
    for row, data in enumerate(rows):
        try:
            out.append(model.model_validate(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            raise CharterError(f"{table.where(row)}: {where}: {first['msg']}") from None
    return out


def _check_duplicates(keys: Sequence[Any], table: RawTable, what: str) -> None:
    seen: dict[Any, int] = {}
    dupes: list[str] = []
    count = 0
    for row, key in enumerate(keys):
        if key is None:
            continue
        if key in seen:
            count += 1
            if len(dupes) < MAX_REPORTED:
                dupes.append(f"{key!r} ({table.place(seen[key])} and {table.place(row)})")
        else:
            seen[key] = row
    if count:
        raise CharterError(f"{table.file}: {count} duplicate {what}, e.g. {'; '.join(dupes)}")


# --------------------------------------------------------------------------- reading


def read_items(
    path: str | Path,
    columns: Mapping[str, str] | None = None,
    *,
    format: str | None = None,
    errors: Errors = "strict",
    unmapped: Unmapped = "keep",
    constants: Mapping[str, Any] | None = None,
) -> list[ContentItem]:
    """ContentItems from a file; ids must be unique."""
    path = Path(path)
    if detect_format(path, format) == "parquet" and _is_labelled(path):
        return labelled.read_labelled_items(path).items
    return items_from_table(read_table(path, format, errors), columns, unmapped=unmapped, constants=constants)


def items_from_table(
    table: RawTable,
    columns: Mapping[str, str] | None = None,
    *,
    unmapped: Unmapped = "keep",
    constants: Mapping[str, Any] | None = None,
    exclude: Sequence[str] = (),
) -> list[ContentItem]:
    """ContentItems from an already-read table; `exclude` names columns used for something else."""
    if exclude:
        table = RawTable(
            table.file, {k: v for k, v in table.columns.items() if k not in exclude}, table.rows, table.lines
        )
    items = _validate(_records(table, "item", columns, constants, unmapped), ContentItem, table)
    _check_duplicates([i.id for i in items], table, "item ids")
    return items


def _read_verdicts(path: Path, kind: Kind, columns, format, errors, unmapped, constants) -> list[Any]:
    model = Label if kind == "label" else Decision
    if detect_format(path, format) == "parquet" and not columns and not constants and _is_log(path):
        try:
            records = table_to_decisions(pq.read_table(path))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise CharterError(f"{path} row {int(first['loc'][0]) + 1}: {first['msg']}") from None
        return records
    table = read_table(path, format, errors)
    records = _validate(_records(table, kind, columns, constants, unmapped), model, table)
    if kind == "label":
        _check_duplicates(
            [(r.item_id, r.annotator_id) if r.annotator_id else None for r in records],
            table,
            "(item_id, annotator_id) pairs",
        )
    _check_duplicates([r.decision_id for r in records], table, "decision ids")
    return records


def read_decisions(
    path: str | Path,
    columns: Mapping[str, str] | None = None,
    *,
    format: str | None = None,
    errors: Errors = "strict",
    unmapped: Unmapped = "keep",
    constants: Mapping[str, Any] | None = None,
) -> list[Decision]:
    """Decisions from a file. `constants` fills fields the file lacks, e.g. {"pathway": "external"}."""
    return _read_verdicts(Path(path), "decision", columns, format, errors, unmapped, constants)


def read_labels(
    path: str | Path,
    columns: Mapping[str, str] | None = None,
    *,
    format: str | None = None,
    errors: Errors = "strict",
    unmapped: Unmapped = "keep",
    constants: Mapping[str, Any] | None = None,
) -> list[Label]:
    """Labels (human or gold verdicts) from a file; one label per (item, annotator)."""
    return _read_verdicts(Path(path), "label", columns, format, errors, unmapped, constants)


def _charter_format(path: Path) -> str | None:
    try:
        raw = (pq.read_schema(path).metadata or {}).get(META_KEY)
    except (pa.ArrowInvalid, OSError) as exc:
        raise CharterError(f"{path} is not a readable Parquet file: {exc}") from None
    return json.loads(raw).get("format") if raw else None


def _is_log(path: Path) -> bool:
    return path.exists() and _charter_format(path) == LOG_FORMAT


def _is_labelled(path: Path) -> bool:
    return path.exists() and _charter_format(path) == labelled.FORMAT


# --------------------------------------------------------------------------- writing


def _rename(record: dict[str, Any], columns: Mapping[str, str] | None) -> dict[str, Any]:
    return {(columns or {}).get(k, k): v for k, v in record.items()}


def _jsonl(rows: Iterable[dict[str, Any]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


def _flat_rows(records: Sequence[Any], kind: Kind) -> tuple[list[str], list[dict[str, Any]]]:
    """Rows for CSV: scores/labels as `scores.<cat>` columns, other lists/dicts as JSON text."""
    rows, names = [], {}
    for record in records:
        data = record.model_dump(mode="json")
        row: dict[str, Any] = {}
        for key, value in data.items():
            if kind != "item" and key in ("scores", "labels"):
                for category, inner in value.items():
                    row[f"{key}.{category}"] = inner
            elif isinstance(value, (list, dict)):
                row[key] = json.dumps(value, ensure_ascii=False) if value else ""
            else:
                row[key] = "" if value is None else value
        rows.append(row)
        names.update(dict.fromkeys(row))
    return list(names), rows


def _write_csv(
    records: Sequence[Any], kind: Kind, path: Path, delimiter: str, columns: Mapping[str, str] | None
) -> None:
    names, rows = _flat_rows(records, kind)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(
            out, fieldnames=[(columns or {}).get(n, n) for n in names], delimiter=delimiter, restval=""
        )
        writer.writeheader()
        for row in rows:
            writer.writerow(_rename(row, columns))


def write_items(
    items: Iterable[ContentItem],
    path: str | Path,
    *,
    format: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> Path:
    """Items to JSONL (one object per line), CSV/TSV or Parquet; `columns` renames fields."""
    path = Path(path)
    kind = detect_format(path, format)
    records = list(items)
    if not records:
        raise CharterError(f"nothing to write to {path}: no items")
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "jsonl":
        _jsonl((_rename(i.model_dump(mode="json", exclude_defaults=True), columns) for i in records), path)
    elif kind in ("csv", "tsv"):
        _write_csv(records, "item", path, "\t" if kind == "tsv" else ",", columns)
    else:
        pq.write_table(items_table(records, columns), path, compression="zstd")
    return path


def write_decisions(
    decisions: Iterable[Decision],
    path: str | Path,
    *,
    format: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> Path:
    """Decisions (or Labels) to JSONL, CSV/TSV, or Parquet (a decision log; `columns` not allowed)."""
    path = Path(path)
    kind = detect_format(path, format)
    records = list(decisions)
    if not records:
        raise CharterError(f"nothing to write to {path}: no decisions")
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "parquet":
        if columns:
            raise CharterError(
                "Parquet decisions are written as a decision log with fixed column names; drop the column mapping"
            )
        return write_decision_log(records, path)
    if kind == "jsonl":
        _jsonl((_rename(r.model_dump(mode="json", exclude_defaults=True), columns) for r in records), path)
    else:
        label_kind: Kind = "label" if isinstance(records[0], Label) else "decision"
        _write_csv(records, label_kind, path, "\t" if kind == "tsv" else ",", columns)
    return path


write_labels = write_decisions
