"""Decision logs: Parquet files that every evaluation, audit and RCA tool reads.

A log is one Parquet file or a directory of part files (`part-*.parquet`, one per append).
Rows follow `charter.store.decision_table`: `score_<category>` and `label_<category>`
columns, so `score_arrays` and `pred_arrays` read only the columns they need, and DuckDB
(`open_log`) queries the same files in place.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from pydantic import ValidationError

from charter.errors import CharterError
from charter.records import Decision
from charter.store.decision_table import (
    LABEL_PREFIX,
    META_KEY,
    SCORE_PREFIX,
    decisions_to_table,
    table_meta,
    table_to_decisions,
)

PART_GLOB = "*.parquet"


def log_files(path: str | Path) -> list[Path]:
    """The Parquet files of a log (the file itself, or a directory's parts in name order)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob(PART_GLOB))
        if not files:
            raise CharterError(f"decision log directory {path} has no {PART_GLOB} files")
        return files
    if not path.exists():
        raise CharterError(f"decision log {path} does not exist")
    return [path]


def _write_table(table: pa.Table, path: Path) -> None:
    """Write atomically: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_decision_log(decisions: Iterable[Decision], path: str | Path) -> Path:
    """Write (or overwrite) a single-file log."""
    path = Path(path)
    if path.is_dir():
        raise CharterError(f"{path} is a directory; use append_decision_log to add a part file to it")
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_table(decisions_to_table(decisions), path)
    return path


def append_decision_log(decisions: Iterable[Decision], path: str | Path) -> Path:
    """Add decisions to a log: a new part file in a directory, or a rewrite of a single file.

    A path that does not exist yet becomes a directory log. Returns the file written.
    """
    path = Path(path)
    table = decisions_to_table(decisions)
    if path.is_file():
        existing = pq.read_table(path)
        if table_meta(existing.schema)["kind"] != table_meta(table.schema)["kind"]:
            raise CharterError(f"{path} holds {table_meta(existing.schema)['kind']}s; cannot append the other kind")
        merged = pa.concat_tables([_plain(existing), _plain(table)], promote_options="default")
        meta = _merged_meta([existing.schema, table.schema])
        _write_table(merged.replace_schema_metadata({META_KEY: meta}), path)
        return path
    path.mkdir(parents=True, exist_ok=True)
    sequence = len(list(path.glob(PART_GLOB)))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    part = path / f"part-{sequence:06d}-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
    _write_table(table, part)
    return part


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded, so tables with different dictionaries concatenate."""
    columns = [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in table.columns]
    return pa.table(columns, names=table.column_names)


def _merged_meta(schemas: Sequence[pa.Schema]) -> bytes:
    metas = [table_meta(s) for s in schemas]
    merged = dict(metas[0])
    merged["score_categories"] = sorted({c for m in metas for c in m["score_categories"]})
    merged["label_categories"] = sorted({c for m in metas for c in m["label_categories"]})
    merged["naive_decided_at"] = all(m.get("naive_decided_at") for m in metas)
    return json.dumps(merged).encode("utf-8")


def read_decision_log(path: str | Path) -> list[Decision]:
    """Every decision in a log, as Decision (or Label) records, parts in name order."""
    out: list[Decision] = []
    for file in log_files(path):
        try:
            table = pq.read_table(file)
        except (pa.ArrowInvalid, OSError) as exc:
            raise CharterError(f"{file} is not a readable Parquet file: {exc}") from None
        try:
            out.extend(table_to_decisions(table))
        except ValidationError as exc:
            first = exc.errors()[0]
            row, *field = first["loc"]
            where = ".".join(str(p) for p in field)
            raise CharterError(f"{file}: row {int(row) + 1} is not a valid decision: {where}: {first['msg']}") from None
    return out


# --------------------------------------------------------------------------- analytics


def categories(path: str | Path) -> tuple[list[str], list[str]]:
    """(categories with scores, categories with verdicts) across every part of a log."""
    metas = [table_meta(pq.read_schema(f)) for f in log_files(path)]
    scores = sorted({c for m in metas for c in m["score_categories"]})
    labels = sorted({c for m in metas for c in m["label_categories"]})
    return scores, labels


def _dataset(path: str | Path) -> pads.Dataset:
    files = log_files(path)
    schemas = [_plain_schema(pq.read_schema(f)) for f in files]
    return pads.dataset([str(f) for f in files], schema=pa.unify_schemas(schemas), format="parquet")


def _plain_schema(schema: pa.Schema) -> pa.Schema:
    fields = [pa.field(f.name, pa.string()) if pa.types.is_dictionary(f.type) else f for f in schema]
    return pa.schema(fields)


def _read_columns(path: str | Path, columns: list[str], pathway: str | None) -> pa.Table:
    dataset = _dataset(path)
    flt = (pads.field("pathway") == pathway) if pathway else None
    return dataset.to_table(columns=columns, filter=flt)


def _require(path: str | Path, wanted: Sequence[str], have: Sequence[str], what: str) -> None:
    missing = [c for c in wanted if c not in have]
    if missing:
        raise CharterError(
            f"decision log {path} has no {what} for {', '.join(map(repr, missing))} "
            f"(it has {what} for: {', '.join(have) or 'no category'})"
        )


def score_arrays(
    path: str | Path, categories_wanted: Sequence[str], pathway: str | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Item ids and, per category, float64 scores aligned with them (NaN = no score).

    Rows are the log's rows (an item decided twice appears twice); filter with `pathway`.
    """
    have, _ = categories(path)
    _require(path, categories_wanted, have, "scores")
    table = _read_columns(path, ["item_id", *(SCORE_PREFIX + c for c in categories_wanted)], pathway)
    ids = table.column("item_id").to_numpy(zero_copy_only=False)
    arrays = {
        c: table.column(SCORE_PREFIX + c).to_numpy(zero_copy_only=False).astype(np.float64) for c in categories_wanted
    }
    return ids, arrays


def pred_arrays(
    path: str | Path, categories_wanted: Sequence[str], pathway: str | None = None, review_as: float = np.nan
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Item ids and, per category, 1.0 violating / 0.0 allowed / NaN no verdict.

    `needs_review` becomes `review_as` (NaN by default; pass 1.0 to count escalations as flags).
    """
    _, have = categories(path)
    _require(path, categories_wanted, have, "verdicts")
    table = _read_columns(path, ["item_id", *(LABEL_PREFIX + c for c in categories_wanted)], pathway)
    ids = table.column("item_id").to_numpy(zero_copy_only=False)
    arrays = {}
    for category in categories_wanted:
        verdicts = table.column(LABEL_PREFIX + category).to_numpy(zero_copy_only=False)
        values = np.full(len(verdicts), np.nan)
        values[verdicts == "violating"] = 1.0
        values[verdicts == "allowed"] = 0.0
        values[verdicts == "needs_review"] = review_as
        arrays[category] = values
    return ids, arrays


def open_log(path: str | Path, connection: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with views over the log's files, queried in place.

    - `decisions`: one row per decision, columns as in the files (`score_<cat>`, `label_<cat>`);
    - `scores`: long form (item_id, pathway, category, score), non-null scores only;
    - `verdicts`: long form (item_id, pathway, category, verdict), non-null verdicts only.
    """
    files = ", ".join("'" + str(f.resolve()).replace("'", "''") + "'" for f in log_files(path))
    con = connection or duckdb.connect()
    con.execute(f"CREATE OR REPLACE VIEW decisions AS SELECT * FROM read_parquet([{files}], union_by_name = true)")
    have_scores, have_labels = categories(path)
    for view, prefix, value, have in (
        ("scores", SCORE_PREFIX, "score", have_scores),
        ("verdicts", LABEL_PREFIX, "verdict", have_labels),
    ):
        if not have:
            continue
        cols = ", ".join(f'"{prefix}{c}"' for c in have)
        con.execute(
            f"CREATE OR REPLACE VIEW {view} AS SELECT item_id, pathway, "
            f"substr(category, {len(prefix) + 1}) AS category, {value} "
            f"FROM (UNPIVOT (SELECT item_id, pathway, {cols} FROM decisions) ON {cols} INTO NAME category VALUE {value})"
        )
    return con
