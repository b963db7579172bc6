"""Scoring an Arrow table: the pure core that in-process, process-pool and distributed
(Ray Data `map_batches`, Spark `mapInArrow`) batch scoring all share.

`score_table(table, model, routing)` returns the input columns (without the text, unless
asked) plus `score_<category>` for every category the model covers, `evasion` (the
transformations that fired), and, with a routing, `label_<category>`, `action` and
`escalation_queue`. Rows stream through in batches, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from charter.engines.classifier.model import BATCH_SIZE, TrainedClassifier
from charter.engines.routing import VERDICTS, Routing
from charter.errors import CharterError


REPLACE_HINT = "convert the input to UTF-8, or replace bad bytes with U+FFFD (CLI: --replace-invalid)"


def valid_utf8(array: pa.Array | pa.ChunkedArray, where: Callable[[int], str], *, replace: bool = False) -> pa.ChunkedArray:
    """A string column with only valid UTF-8: Parquet and Arrow do not guarantee it, and one
    bad value would otherwise surface as a decode error mid-batch. Invalid values are refused
    (naming the first, `where(row)`) or, with `replace`, decoded with U+FFFD for bad bytes."""
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    fixed, offset = [], 0
    for chunk in chunks:
        try:
            chunk.validate(full=True)
            fixed.append(chunk)
        except pa.ArrowInvalid:
            raw = chunk.view(pa.large_binary() if pa.types.is_large_string(chunk.type) else pa.binary()).to_pylist()
            if not replace:
                row = next(i for i, value in enumerate(raw) if value is not None and not _decodes(value))
                raise CharterError(f"{where(offset + row)}: invalid UTF-8 ({_first_bad(raw[row])}); {REPLACE_HINT}") from None
            fixed.append(pa.array([None if v is None else v.decode("utf-8", "replace") for v in raw], type=chunk.type))
        offset += len(chunk)
    return pa.chunked_array(fixed, type=array.type)


def _decodes(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _first_bad(value: bytes) -> str:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"byte 0x{value[exc.start]:02x} at byte offset {exc.start}"
    return "no bad byte"


def _texts(table: pa.Table, column: str, id_column: str | None, replace_invalid: bool) -> pa.ChunkedArray:
    if column not in table.column_names:
        raise CharterError(f"table has no text column {column!r} (columns: {', '.join(table.column_names)})")
    texts = table.column(column)
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        raise CharterError(f"column {column!r} must hold strings, not {texts.type}")
    if texts.null_count:
        raise CharterError(f"column {column!r} has {texts.null_count} null text(s); use '' for items without text")
    ids = table.column(id_column) if id_column and id_column in table.column_names else None

    def where(row: int) -> str:
        return f"text of item {ids[row].as_py()!r}" if ids is not None else f"text in row {row + 1} of the batch"

    return valid_utf8(texts, where, replace=replace_invalid)


def score_table(
    table: pa.Table,
    model: TrainedClassifier,
    routing: Routing | None = None,
    *,
    text_column: str = "text",
    market_column: str = "market",
    batch_size: int = BATCH_SIZE,
    keep_text: bool = False,
    id_column: str | None = None,
    replace_invalid: bool = False,
) -> pa.Table:
    """Scores (and, with `routing`, labels and actions) for every row of `table`.

    Text that is not valid UTF-8 is refused, naming the item by `id_column` when given, or
    scored with U+FFFD for the bad bytes when `replace_invalid`."""
    texts_column = _texts(table, text_column, id_column, replace_invalid)
    has_market = market_column in table.column_names
    parts = []
    for start in range(0, table.num_rows, batch_size):
        batch = table.slice(start, batch_size)
        text_slice = texts_column.slice(start, batch_size)
        scored = model.score(text_slice.to_pylist(), batch_size=batch_size)
        columns: dict[str, pa.Array] = {
            name: text_slice if name == text_column else batch.column(name)
            for name in batch.column_names
            if keep_text or name != text_column
        }
        for category, values in scored.scores.items():
            columns[f"score_{category}"] = pa.array(values, type=pa.float64())
        columns["evasion"] = pa.array(scored.fired, type=pa.list_(pa.string()))
        if routing is not None:
            markets = batch.column(market_column).to_pylist() if has_market else None
            routed = routing.route(scored.scores, markets)
            for category, codes in routed.codes.items():
                columns[f"label_{category}"] = pa.array([VERDICTS[c] for c in codes], type=pa.string())
            columns["action"] = pa.array(routed.actions, type=pa.string())
            columns["escalation_queue"] = pa.array(routed.queues, type=pa.string())
        parts.append(pa.table(columns))
    if not parts:
        return _empty_result(table, model, routing, text_column, keep_text)
    return pa.concat_tables(parts)


def _empty_result(table: pa.Table, model: TrainedClassifier, routing: Routing | None, text_column: str, keep_text: bool) -> pa.Table:
    fields = [f for f in table.schema if keep_text or f.name != text_column]
    fields += [pa.field(f"score_{c}", pa.float64()) for c in model.categories]
    fields.append(pa.field("evasion", pa.list_(pa.string())))
    if routing is not None:
        fields += [pa.field(f"label_{c}", pa.string()) for c in model.categories]
        fields += [pa.field("action", pa.string()), pa.field("escalation_queue", pa.string())]
    return pa.schema(fields).empty_table()
