"""Batch scoring of a Parquet item dataset into a Parquet decision log, on one machine or a
Ray cluster, all through the same pure function.

`score_log_table(table, model, routing)` (items in, decision-log rows out, no I/O) is what
every engine runs:

- `inprocess`: record batches streamed from the file (bounded memory), one process;
- `processes`: a process pool over the file's row groups, results written in input order;
  the single-machine default that won on this kind of machine (see the scale-out notes);
- `ray`: Ray Data, a stateful actor pool (the model loaded once per actor) that is smaller
  than the cluster's CPU count, so read tasks always have a core; local by default, or a
  cluster address.

`inprocess` and `processes` write one Parquet file in input order; `ray` writes a directory
of part files (a decision log may be either). The decisions are the same whichever engine
ran them, apart from decided_at and latency_ms.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from charter.compile import load_bundle
from charter.engines.classifier.artifact import check_policy
from charter.engines.classifier.engine import extra_fields
from charter.engines.classifier.kinds import ScoringModel, load_scoring_model
from charter.engines.classifier.model import BATCH_SIZE
from charter.engines.classifier.table import score_table
from charter.engines.routing import Routing
from charter.errors import CharterError
from charter.store.decision_table import FORMAT, FORMAT_VERSION, LABEL_PREFIX, META_KEY, SCORE_PREFIX, TIMESTAMP

ScaleEngine = Literal["inprocess", "processes", "ray"]
ENGINES: tuple[ScaleEngine, ...] = ("inprocess", "processes", "ray")
PATHWAY = "classifier"


@dataclass(frozen=True)
class ScaleResult:
    """What a batch-scoring run did."""

    engine: ScaleEngine
    rows: int
    seconds: float
    output: Path
    model_id: str
    policy_warning: str | None


# --------------------------------------------------------------------------- the pure core


def score_log_table(
    table: pa.Table,
    model: ScoringModel,
    routing: Routing,
    *,
    id_column: str = "id",
    text_column: str = "text",
    market_column: str = "market",
    replace_invalid: bool = False,
    policy_mismatch: str | None = None,
) -> pa.Table:
    """Items (id, text, optional market) in, decision-log rows out (the layout of
    `charter.store.decision_table`), stamped with the routing's policy.

    Text that is not valid UTF-8 is refused, naming the item, unless `replace_invalid`.
    `policy_mismatch` (the allowed mismatch between the model's and the routing's policy) is
    recorded in every row's `extra`, as the classifier Engine records it."""
    if id_column not in table.column_names:
        raise CharterError(f"items have no id column {id_column!r} (columns: {', '.join(table.column_names)})")
    started = time.perf_counter()
    scored = score_table(table, model, routing, text_column=text_column, market_column=market_column,
                         batch_size=max(table.num_rows, 1), id_column=id_column, replace_invalid=replace_invalid)  # fmt: skip
    n = scored.num_rows
    latency = (time.perf_counter() - started) * 1000.0 / max(n, 1)
    categories = sorted(model.categories)
    stamp = routing.identity

    def constant(value: str | None, kind: pa.DataType = pa.string()) -> pa.Array:
        return pa.array([value] * n, type=kind)

    columns: dict[str, pa.Array] = {"item_id": _item_ids(scored.column(id_column))}
    for name, value in (("pathway", PATHWAY), ("policy_id", stamp.id), ("policy_version", stamp.version), ("policy_hash", stamp.hash)):
        columns[name] = constant(value).dictionary_encode()
    columns["action"] = scored.column("action").combine_chunks().dictionary_encode()
    for category in categories:
        columns[SCORE_PREFIX + category] = scored.column(f"score_{category}").combine_chunks()
    for category in categories:
        columns[LABEL_PREFIX + category] = scored.column(f"label_{category}").combine_chunks().dictionary_encode()
    columns["rule_ids"] = pa.array([[]] * n, type=pa.list_(pa.string()))
    columns["tree_path"] = pa.array([[]] * n, type=pa.list_(pa.string()))
    columns["rationale"] = constant(None)
    columns["model_version"] = constant(model.card.model_id)
    columns["decision_id"] = constant(None)
    columns["escalation_queue"] = scored.column("escalation_queue").combine_chunks()
    columns["decided_at"] = pa.array([dt.datetime.now(dt.UTC)] * n, type=TIMESTAMP)
    columns["latency_ms"] = pa.array([latency] * n, type=pa.float64())
    columns["cost_usd"] = constant(None, pa.float64())
    columns["tokens_in"] = constant(None, pa.int64())
    columns["tokens_out"] = constant(None, pa.int64())
    fired = scored.column("evasion").to_pylist()
    columns["extra"] = pa.array([_extra(f, policy_mismatch) for f in fired], type=pa.string())
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "kind": "decision",
        "score_categories": categories,
        "label_categories": categories,
        "naive_decided_at": False,
    }
    return pa.table(columns).replace_schema_metadata({META_KEY: json.dumps(meta).encode("utf-8")})


def _extra(fired: list[str], policy_mismatch: str | None) -> str | None:
    extra = extra_fields(fired, policy_mismatch)
    return json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None


def _item_ids(column: pa.ChunkedArray) -> pa.Array:
    """Item ids as strings (integer ids from a user's file included)."""
    array = column.combine_chunks()
    if array.null_count:
        raise CharterError(f"{array.null_count} item(s) have no id; every item needs one")
    return array if pa.types.is_string(array.type) else array.cast(pa.string())


# --------------------------------------------------------------------------- engines


def _open(path: Path, id_column: str, text_column: str) -> pq.ParquetFile:
    if not path.is_file():
        raise CharterError(f"input {path} does not exist or is not a file; give a Parquet file of items")
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise CharterError(f"{path} is not a readable Parquet file: {exc}") from None
    missing = [c for c in (id_column, text_column) if c not in parquet.schema_arrow.names]
    if missing:
        raise CharterError(f"{path} has no {' or '.join(missing)} column (columns: {', '.join(parquet.schema_arrow.names)})")
    if parquet.metadata.num_rows == 0:
        raise CharterError(f"{path} has no rows")
    return parquet


def _input_columns(parquet: pq.ParquetFile, id_column: str, text_column: str, market_column: str) -> list[str]:
    return [c for c in (id_column, text_column, market_column) if c in parquet.schema_arrow.names]


class _Writer:
    """One Parquet file written batch by batch and published atomically."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.rows = path, 0
        self._tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        self._writer: pq.ParquetWriter | None = None

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._tmp, table.schema, compression="zstd")
        self._writer.write_table(table.cast(self._writer.schema))
        self.rows += table.num_rows

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if self._writer is not None:
            self._writer.close()
        if kind is None and self._writer is not None:
            os.replace(self._tmp, self.path)
        self._tmp.unlink(missing_ok=True)


def _batches(parquet: pq.ParquetFile, columns: list[str], batch_size: int) -> Iterator[pa.Table]:
    for batch in parquet.iter_batches(batch_size=batch_size, columns=columns):
        yield pa.Table.from_batches([batch])


# Per worker process: the model and routing, loaded once by the pool's initializer.
_WORKER: dict[str, Any] = {}


def _init_worker(model_dir: str, routing: Routing, options: dict[str, Any]) -> None:
    _WORKER.update(model=load_scoring_model(model_dir), routing=routing, options=options)


def _score_row_group(path: str, group: int, columns: list[str], batch_size: int) -> pa.Table:
    parquet = pq.ParquetFile(path)
    options = _WORKER["options"]
    parts = [
        score_log_table(pa.Table.from_batches([b]), _WORKER["model"], _WORKER["routing"], **options)
        for b in parquet.iter_batches(batch_size=batch_size, row_groups=[group], columns=columns)
    ]
    return pa.concat_tables(parts) if parts else pa.table({})


def _run_local(
    engine: ScaleEngine, model_dir: Path, model: ScoringModel, routing: Routing, input_path: Path, output_path: Path,
    batch_size: int, workers: int | None, options: dict[str, Any],
) -> int:
    parquet = _open(input_path, options["id_column"], options["text_column"])
    columns = _input_columns(parquet, options["id_column"], options["text_column"], options["market_column"])
    with _Writer(output_path) as writer:
        if engine == "inprocess":
            for table in _batches(parquet, columns, batch_size):
                writer.write(score_log_table(table, model, routing, **options))
        else:
            groups = range(parquet.metadata.num_row_groups)
            size = workers or max(1, min(os.cpu_count() or 1, len(groups)))
            with ProcessPoolExecutor(size, initializer=_init_worker, initargs=(str(model_dir), routing, options)) as pool:
                for table in pool.map(_score_row_group, [str(input_path)] * len(groups), groups, [columns] * len(groups), [batch_size] * len(groups)):
                    if table.num_rows:
                        writer.write(table)
        return writer.rows


class _RayScorer:
    """A Ray actor: gets the model from the object store once, then scores batch after batch."""

    def __init__(self, shared: dict[str, Any], routing: Routing, options: dict[str, Any]):
        import ray

        # The model travels once through the object store; a reference inside a constructor
        # argument arrives unresolved.
        self.model = ray.get(shared["model"])
        self.routing, self.options = routing, options

    def __call__(self, table: pa.Table) -> pa.Table:
        return score_log_table(table, self.model, self.routing, **self.options)


def _ray_session(address: str | None, num_cpus: int | None) -> bool:
    """Connect to (or start) Ray quietly on loopback; True when this call started it."""
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # keep every socket on 127.0.0.1
    try:
        import ray
    except ImportError:
        raise CharterError("the ray engine needs Ray Data: pip install 'ray[data]==2.60.0'") from None
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"include_dashboard": False, "logging_level": "ERROR", "log_to_driver": False}
    if address is None:
        options["num_cpus"] = num_cpus
    try:
        ray.init(address=address, **options)
    except ConnectionError as exc:
        raise CharterError(f"cannot reach the Ray cluster at {address}: {exc}") from None
    return True


def _run_ray(
    model: ScoringModel, routing: Routing, input_path: Path, output_path: Path, batch_size: int,
    workers: int | None, address: str | None, options: dict[str, Any],
) -> int:
    parquet = _open(input_path, options["id_column"], options["text_column"])
    columns = _input_columns(parquet, options["id_column"], options["text_column"], options["market_column"])
    rows = parquet.metadata.num_rows
    started_here = _ray_session(address, workers + 1 if workers else None)
    import ray
    import ray.data

    for name in ("ray", "ray.data"):  # after importing ray.data, which sets up its own logging
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        cpus = int(ray.cluster_resources().get("CPU", 1))
        pool = workers or max(1, cpus - 1)  # a pool of every CPU leaves none for read tasks: it hangs
        if pool >= cpus and cpus > 1:
            raise CharterError(f"{pool} Ray workers on {cpus} CPUs leaves no CPU for reading; use at most {cpus - 1}")
        blocks = max(pool * 2, -(-rows // batch_size))
        if output_path.exists():
            raise CharterError(f"{output_path} exists; the ray engine writes a new directory of part files")
        dataset = (
            ray.data.read_parquet(str(input_path.resolve())).select_columns(columns)
            .repartition(blocks)  # one file is one block: split it so the pool has work
            .map_batches(
                _RayScorer,
                batch_format="pyarrow",
                batch_size=batch_size,
                compute=ray.data.ActorPoolStrategy(size=pool),
                fn_constructor_args=({"model": ray.put(model)}, routing, options),
                num_cpus=1,
                # A restarted actor would need the model again from the object store (Ray warns
                # it may be gone); a failed batch fails the run instead, and the log is not written.
                max_restarts=0,
            )
        )
        dataset.write_parquet(str(output_path.resolve()), compression="zstd")
    finally:
        if started_here:
            ray.shutdown()
    return rows


def score_parquet(
    model_dir: Path | str,
    bundle_dir: Path | str,
    input_path: Path | str,
    output_path: Path | str,
    engine: ScaleEngine = "inprocess",
    ray_address: str | None = None,
    batch_size: int = BATCH_SIZE,
    *,
    workers: int | None = None,
    id_column: str = "id",
    text_column: str = "text",
    market_column: str = "market",
    allow_policy_mismatch: bool = False,
    replace_invalid: bool = False,
) -> ScaleResult:
    """Score every item of a Parquet file (id, text, optional market columns) with the model
    in `model_dir`, routed by the compiled bundle in `bundle_dir`, into a decision log at
    `output_path` (a file; a directory of part files for `ray`).

    `workers` is the process-pool size (default: one per CPU, at most one per row group) or
    the Ray actor-pool size (default: the cluster's CPUs minus one). `ray_address` is None
    for a local Ray, or a cluster address ("ray://host:10001" or "auto"). Text that is not
    valid UTF-8 is refused, naming the item, unless `replace_invalid` (U+FFFD for bad bytes).
    With `allow_policy_mismatch`, every decision's `extra` records the mismatch.
    """
    if engine not in ENGINES:
        raise CharterError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    if batch_size < 1:
        raise CharterError(f"batch_size must be at least 1, got {batch_size}")
    if workers is not None and workers < 1:
        raise CharterError(f"workers must be at least 1, got {workers}")
    started = time.perf_counter()
    model_dir, input_path, output_path = Path(model_dir), Path(input_path), Path(output_path)
    model = load_scoring_model(model_dir)
    routing = Routing.from_bundle(load_bundle(Path(bundle_dir)))
    warning = check_policy(model.card, routing.identity, routing.categories, allow_policy_mismatch=allow_policy_mismatch)  # type: ignore[arg-type]
    options: dict[str, Any] = {"id_column": id_column, "text_column": text_column, "market_column": market_column,
                               "replace_invalid": replace_invalid, "policy_mismatch": warning}  # fmt: skip
    if engine == "ray":
        rows = _run_ray(model, routing, input_path, output_path, batch_size, workers, ray_address, options)
    else:
        rows = _run_local(engine, model_dir, model, routing, input_path, output_path, batch_size, workers, options)
    return ScaleResult(engine, rows, round(time.perf_counter() - started, 3), output_path, model.card.model_id, warning)
