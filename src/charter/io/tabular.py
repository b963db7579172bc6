"""Reading a user's JSONL, CSV/TSV or Parquet file into plain columns, with located errors.

Every reader returns a `RawTable`: column name -> list of values, plus where each row came
from (a line for JSONL and CSV, a row number for Parquet) so record-level errors can point
at it. Nested JSON objects (and Parquet structs) are flattened one level: {"scores":
{"hate": 0.9}} becomes the column "scores.hate".
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from charter.errors import CharterError

Format = Literal["jsonl", "csv", "tsv", "parquet"]
Errors = Literal["strict", "replace"]
SUFFIXES: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass
class RawTable:
    file: str
    columns: dict[str, list[Any]]
    rows: int
    lines: list[int] | None  # 1-based line where each row starts; None for Parquet

    def where(self, row: int) -> str:
        """`file:line` (text formats) or `file row N` (Parquet) for a 0-based row."""
        if self.lines is not None:
            return f"{self.file}:{self.lines[row]}"
        return f"{self.file} row {row + 1}"

    def place(self, row: int) -> str:
        """`line N` or `row N` for a 0-based row, without the file name."""
        return f"line {self.lines[row]}" if self.lines is not None else f"row {row + 1}"


def detect_format(path: Path, format: str | None = None) -> Format:
    if format:
        if format not in SUFFIXES.values():
            raise CharterError(f"unknown format {format!r}; use jsonl, csv, tsv or parquet")
        return format  # type: ignore[return-value]
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise CharterError(
            f"cannot tell the format of {path} from its suffix {suffix or '(none)'}; "
            f"name it {', '.join(SUFFIXES)} or pass format="
        )
    return SUFFIXES[suffix]


def _decode(path: Path, errors: Errors) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise CharterError(f"{path} is empty")
    try:
        text = data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CharterError(
            f"{path}:{line}: invalid UTF-8 at byte offset {exc.start} (byte 0x{data[exc.start]:02x}); "
            "convert the file to UTF-8, or read it with errors='replace' (CLI: --replace-invalid) "
            "to substitute U+FFFD for bad bytes"
        ) from None
    return text.removeprefix("\ufeff")


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict) and value:
            for sub, inner in value.items():
                out[f"{key}.{sub}"] = inner
        else:
            out[key] = value
    return out


def _columns_from_records(records: list[dict[str, Any]]) -> dict[str, list[Any]]:
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    return {name: [r.get(name) for r in records] for name in names}


def read_jsonl(path: Path, errors: Errors = "strict") -> RawTable:
    text = _decode(path, errors)
    records, lines = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CharterError(f"{path}:{number}: malformed JSON at column {exc.colno}: {exc.msg}") from None
        if not isinstance(record, dict):
            raise CharterError(f"{path}:{number}: each line must be a JSON object, found {type(record).__name__}")
        records.append(_flatten(record))
        lines.append(number)
    if not records:
        raise CharterError(f"{path} has no records")
    return RawTable(str(path), _columns_from_records(records), len(records), lines)


def read_csv(path: Path, delimiter: str = ",", errors: Errors = "strict") -> RawTable:
    text = _decode(path, errors)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise CharterError(f"{path}:1: cannot parse the header: {exc}") from None
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise CharterError(f"{path}:1: duplicate column names {', '.join(duplicates)}")
    columns: dict[str, list[Any]] = {h: [] for h in header}
    lines: list[int] = []
    start = reader.line_num + 1
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                start = reader.line_num + 1
                continue
            if len(row) != len(header):
                raise CharterError(
                    f"{path}:{start}: expected {len(header)} fields (as in the header), found {len(row)}"
                )
            for name, cell in zip(header, row):
                columns[name].append(cell)
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise CharterError(f"{path}:{reader.line_num}: {exc}") from None
    if not lines:
        raise CharterError(f"{path} has a header but no rows")
    return RawTable(str(path), columns, len(lines), lines)


def read_parquet(path: Path) -> RawTable:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise CharterError(f"{path} is not a readable Parquet file: {exc}") from None
    if table.num_rows == 0:
        raise CharterError(f"{path} has no rows")
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        columns[name] = column.to_pylist()
    return RawTable(str(path), columns, table.num_rows, None)


def read_table(path: str | Path, format: str | None = None, errors: Errors = "strict") -> RawTable:
    """Any supported file as a RawTable; `errors="replace"` substitutes U+FFFD for bad UTF-8."""
    path = Path(path)
    if not path.exists():
        raise CharterError(f"{path} does not exist")
    if path.is_dir():
        raise CharterError(f"{path} is a directory, not a file")
    if errors not in ("strict", "replace"):
        raise CharterError(f"errors must be 'strict' or 'replace', not {errors!r}")
    kind = detect_format(path, format)
    if kind == "jsonl":
        return read_jsonl(path, errors)
    if kind in ("csv", "tsv"):
        return read_csv(path, "\t" if kind == "tsv" else ",", errors)
    return read_parquet(path)
