"""Scoring an Arrow table: the pure core that in-process, process-pool and distributed
(Ray Data `map_batches`, Spark `mapInArrow`) batch scoring all share.

`score_table(table, model, routing)` returns the input columns (without the text, unless
asked) plus `score_<category>` for every category the model covers, `evasion` (the
transformations that fired), and, with a routing, `label_<category>`, `action` and
`escalation_queue`. Rows stream through in batches, so memory stays bounded.
"""

from __future__ import annotations

import pyarrow as pa

from charter.engines.classifier.model import BATCH_SIZE, TrainedClassifier
from charter.engines.routing import VERDICTS, Routing
from charter.errors import CharterError


def _texts(table: pa.Table, column: str) -> pa.ChunkedArray:
    if column not in table.column_names:
        raise CharterError(f"table has no text column {column!r} (columns: {', '.join(table.column_names)})")
    texts = table.column(column)
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        raise CharterError(f"column {column!r} must hold strings, not {texts.type}")
    if texts.null_count:
        raise CharterError(f"column {column!r} has {texts.null_count} null text(s); use '' for items without text")
    return texts


def score_table(
    table: pa.Table,
    model: TrainedClassifier,
    routing: Routing | None = None,
    *,
    text_column: str = "text",
    market_column: str = "market",
    batch_size: int = BATCH_SIZE,
    keep_text: bool = False,
) -> pa.Table:
    """Scores (and, with `routing`, labels and actions) for every row of `table`."""
    _texts(table, text_column)
    has_market = market_column in table.column_names
    parts = []
    for start in range(0, table.num_rows, batch_size):
        batch = table.slice(start, batch_size)
        texts = batch.column(text_column).to_pylist()
        scored = model.score(texts, batch_size=batch_size)
        columns: dict[str, pa.Array] = {
            name: batch.column(name) for name in batch.column_names if keep_text or name != text_column
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
