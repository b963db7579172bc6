"""`charter classifier ...`: the at-scale classifier pathway: train on policy-mapped datasets,
score item files into decision logs, evaluate into reports (numbers kept in the model card),
inspect a model, and measure its robustness to evasion.

Scoring streams: items are read, decided and written in batches, so memory stays flat for
any input size (Parquet inputs are read batch by batch; JSONL/CSV are parsed whole first).
`batch` runs the same scoring over a Parquet dataset in-process, on a process pool or on
Ray Data (`charter.engines.scale`).

How odd inputs are handled: an empty (or whitespace-only) text is decided like any other,
with the calibrated scores of an item without features (allow under the example policy's
thresholds); a text of any length is scored whole, no truncation (about a second per
megabyte); text that is not valid UTF-8 is refused naming its line, row or item, or scored
with U+FFFD for the bad bytes under --replace-invalid; a label file that labels a category
the policy lacks, or was made under another policy, is refused (another version of the same
policy gets a warning); a model trained for other policy content is refused unless
--allow-policy-mismatch, and then every decision records the mismatch in `extra`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import typer
from pydantic import ValidationError
from rich import box
from rich.table import Table

from charter.cli.common import console, err_console, user_errors
from charter.cli.eval_cmd import run_eval, summary_table
from charter.cli.robustness_report import write_robustness_report
from charter.compile import load_bundle
from charter.datasets import apply_mapping, get_info, gold_arrays, load_mapping, load_split
from charter.datasets.load import SourceChoice
from charter.engines.classifier import ClassifierEngine, TrainConfig, save_model, train_classifier
from charter.engines.classifier.embedders import BACKENDS, distill_model2vec
from charter.engines.classifier.embeddings import EmbeddingCard, EmbeddingTrainConfig, save_embedding_model, train_embedding_classifier
from charter.engines.classifier.feature_names import read_feature_names, top_features, write_feature_names
from charter.engines.classifier.kinds import engine_for, load_scoring_model, read_any_card, record_any_evaluation
from charter.engines.classifier.model import BATCH_SIZE
from charter.engines.classifier.table import valid_utf8
from charter.engines.robustness import TIERS, robustness_suite, summary
from charter.engines.scale import ENGINES, score_parquet
from charter.errors import CharterError
from charter.io import items_from_table, read_labelled_items, read_table, write_labelled_items
from charter.io.tabular import RawTable, detect_format
from charter.policy.load import load_policy
from charter.policy.spec import Policy
from charter.policy.hashing import policy_hash
from charter.records import ContentItem, Decision, Label
from charter.report.evaluation import EvalOptions
from charter.store.decision_table import META_KEY, decisions_to_table

app = typer.Typer(help="Train, score, evaluate, inspect and stress-test the classifiers (fast and embedding).", no_args_is_help=True)

LABELLED_FORMAT = "charter.labelled_items"
LABELLED_FIELDS = ("id", "text", "language", "market", "surface", "created_at", "media", "provenance", "metadata")
TOP_FEATURES = 15

SourceOption = typer.Option("auto", "--source", help="auto (shared data, else the vendored sample), shared or sample.")
BundleOption = typer.Option(..., "--bundle", "-b", help="Compiled bundle (from `charter compile`).")
MismatchOption = typer.Option(
    False, "--allow-policy-mismatch", help="Use a model trained for other policy content (recorded on every decision)."
)


# --------------------------------------------------------------------------- datasets


def _source(value: str) -> SourceChoice:
    if value not in ("auto", "shared", "sample"):
        raise CharterError(f"--source must be auto, shared or sample, not {value!r}")
    return value  # type: ignore[return-value]


def parse_dataset_ref(value: str, default_split: str) -> tuple[str, str]:
    """NAME or NAME:SPLIT."""
    name, _, split = value.partition(":")
    if not name.strip():
        raise CharterError(f"--dataset {value!r}: write NAME or NAME:SPLIT, e.g. olid:test")
    return name.strip(), (split.strip() or default_split)


@dataclass
class LabelledPart:
    """Items with gold labels under the policy: a mapped dataset split or a labelled-items file."""

    name: str
    split: str
    source: str
    items: list[ContentItem]
    labels: list[Label]
    categories: list[str]
    version: str  # the label mapping's version, or the file's sha256 prefix


def mapped_splits(refs: Sequence[str], policy: Policy, source: SourceChoice, default_split: str) -> list[LabelledPart]:
    """Each NAME[:SPLIT] loaded and mapped onto the policy with the dataset's shipped mapping."""
    parts = []
    for ref in refs:
        name, split = parse_dataset_ref(ref, default_split)
        info = get_info(name)
        if not info.mapping:
            raise CharterError(f"dataset {name!r} has no label mapping ({info.mapping_note or 'no gold labels'}); it cannot train or evaluate")
        mapped = apply_mapping(load_split(name, split, source), load_mapping(info.mapping, policy), policy)
        parts.append(LabelledPart(mapped.dataset, mapped.split, mapped.source, mapped.items, mapped.labels,
                                  list(mapped.mapping.categories), mapped.mapping.version))  # fmt: skip
    return parts


def labelled_files(paths: Sequence[Path], policy: Policy) -> list[LabelledPart]:
    """Labelled-items files (`charter datasets import` / `import-file`), checked against the policy:
    every labelled category must be the policy's, and labels made under another policy are refused.
    Labels made under other content of the same policy (another hash) are used with a warning."""
    parts = []
    current = policy_hash(policy)
    for path in paths:
        labelled = read_labelled_items(path)
        unknown = [c for c in labelled.categories if c not in policy.category_ids()]
        if unknown:
            raise CharterError(f"{path}: gold labels for {', '.join(map(repr, unknown))}, which policy {policy.id} does not have "
                               f"(categories: {', '.join(policy.category_ids())}); relabel or drop those columns")  # fmt: skip
        if not labelled.categories:
            raise CharterError(f"{path} has no gold labels (no label_<category> column); it cannot train or evaluate")
        stamp = labelled.labels[0] if labelled.labels else None
        if stamp is not None and stamp.policy_id != policy.id:
            raise CharterError(f"{path}: labels were made under policy {stamp.policy_id!r}, not {policy.id!r}; "
                               "re-import them under this policy")  # fmt: skip
        if stamp is not None and stamp.policy_hash != current:
            err_console.print(f"[yellow]warning:[/] {path}: labels were made under {stamp.policy_id}@{stamp.policy_version} "
                              f"({stamp.policy_hash[:12]}), the policy is now {policy.version} ({current[:12]})", highlight=False)  # fmt: skip
        digest = _sha256_prefix(path)
        meta = labelled.meta
        parts.append(LabelledPart(str(meta.get("dataset") or path.name), str(meta.get("split") or "file"), f"file {path}",
                                  labelled.items, labelled.labels, list(labelled.categories), f"sha256:{digest}"))  # fmt: skip
    return parts


def _sha256_prefix(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def labelled_parts(refs: Sequence[str], files: Sequence[Path], policy: Policy, source: SourceChoice, default_split: str) -> list[LabelledPart]:
    if not refs and not files:
        raise CharterError("give at least one --dataset NAME[:SPLIT] or --labelled FILE")
    return mapped_splits(refs, policy, source, default_split) + labelled_files(files, policy)


def _flatten(parts: Sequence[LabelledPart]) -> tuple[list[ContentItem], list[Any]]:
    return [i for p in parts for i in p.items], [lab for p in parts for lab in p.labels]


def _describe(parts: Sequence[LabelledPart]) -> str:
    return ", ".join(f"{p.name}:{p.split} ({p.source}, {len(p.items):,})" for p in parts)


# --------------------------------------------------------------------------- item input


@dataclass
class _Batch(RawTable):
    """A slice of a Parquet file: errors name the row in the whole file."""

    offset: int = 0

    def where(self, row: int) -> str:
        return f"{self.file} row {self.offset + row + 1}"

    def place(self, row: int) -> str:
        return f"row {self.offset + row + 1}"


def _parse_maps(entries: Sequence[str]) -> dict[str, str]:
    fields = {}
    for entry in entries:
        field, sep, column = entry.partition("=")
        if not sep or not field.strip() or not column:
            raise CharterError(f"--map {entry!r}: write FIELD=COLUMN, e.g. --map id=tweet_id")
        fields[field.strip()] = column
    return fields


def _arrow_columns(table: pa.Table, where: Any, replace_invalid: bool) -> dict[str, list[Any]]:
    """Python values per column; string columns are checked for valid UTF-8 first."""
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = valid_utf8(column, lambda row, name=name: f"{where(row)}, column {name!r}", replace=replace_invalid)
        columns[name] = column.to_pylist()
    return columns


def iter_item_batches(
    path: Path,
    maps: dict[str, str],
    *,
    file_format: str | None = None,
    replace_invalid: bool = False,
    batch_size: int = BATCH_SIZE,
) -> Iterator[list[ContentItem]]:
    """ContentItems of a labelled-items file or of a JSONL/CSV/TSV/Parquet item file, in batches."""
    if not path.exists():
        raise CharterError(f"{path} does not exist")
    if path.is_dir():
        raise CharterError(f"{path} is a directory, not an item file")
    if detect_format(path, file_format) == "parquet":
        yield from _parquet_batches(path, maps, batch_size, replace_invalid)
        return
    table = read_table(path, file_format, "replace" if replace_invalid else "strict")
    for start in range(0, table.rows, batch_size):
        end = min(start + batch_size, table.rows)
        part = RawTable(table.file, {k: v[start:end] for k, v in table.columns.items()}, end - start, table.lines[start:end] if table.lines else None)
        yield items_from_table(part, maps)


def _parquet_batches(path: Path, maps: dict[str, str], batch_size: int, replace_invalid: bool) -> Iterator[list[ContentItem]]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise CharterError(f"{path} is not a readable Parquet file: {exc}") from None
    meta = json.loads((parquet.schema_arrow.metadata or {}).get(META_KEY, b"{}"))
    labelled = meta.get("format") == LABELLED_FORMAT
    if labelled and maps:
        raise CharterError(f"{path} is a labelled-items file: its columns are fixed, drop --map")
    if parquet.metadata.num_rows == 0:
        raise CharterError(f"{path} has no rows")
    columns = [c for c in parquet.schema_arrow.names if c in LABELLED_FIELDS] if labelled else None
    offset = 0
    for batch in parquet.iter_batches(batch_size=batch_size, columns=columns):
        where = functools.partial(_row_in_file, path, offset)
        part = _Batch(str(path), _arrow_columns(pa.Table.from_batches([batch]), where, replace_invalid), batch.num_rows, None, offset)
        yield items_from_table(part, maps, unmapped="ignore" if labelled else "keep")
        offset += batch.num_rows


def _row_in_file(path: Path, offset: int, row: int) -> str:
    return f"{path} row {offset + row + 1}"


class LogWriter:
    """Decisions appended batch by batch to one Parquet decision log, published atomically."""

    def __init__(self, path: Path):
        if path.is_dir():
            raise CharterError(f"{path} is a directory; give a .parquet file for the decision log")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        self._writer: pq.ParquetWriter | None = None
        self.count = 0
        self.actions: Counter[str] = Counter()

    def write(self, decisions: list[Decision]) -> None:
        table = decisions_to_table(decisions)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._tmp, table.schema, compression="zstd")
        else:
            table = table.cast(self._writer.schema)
        self._writer.write_table(table)
        self.count += len(decisions)
        self.actions.update(d.action for d in decisions)

    def close(self) -> None:
        if self._writer is None:
            raise CharterError("no items to score: the input has no rows")
        self._writer.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._tmp.unlink(missing_ok=True)


def write_log(engine: ClassifierEngine, batches: Iterable[list[ContentItem]], path: Path) -> LogWriter:
    """Decide every batch and stream the decisions into `path`."""
    writer = LogWriter(path)
    try:
        for items in batches:
            writer.write(engine.decide(items))
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return writer


def _chunks(items: Sequence[ContentItem], size: int = BATCH_SIZE) -> Iterator[list[ContentItem]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _engine(model_dir: Path, bundle_dir: Path, allow_policy_mismatch: bool) -> tuple[ClassifierEngine, Policy]:
    """The engine (fast or embedding model) and the policy of the bundle (gold labels are mapped under it)."""
    loaded = load_bundle(bundle_dir)
    engine = engine_for(load_scoring_model(model_dir), loaded, allow_policy_mismatch=allow_policy_mismatch)
    if engine.policy_mismatch:
        err_console.print(f"[yellow]warning:[/] {engine.policy_mismatch}", highlight=False)
    return engine, loaded.policy


# --------------------------------------------------------------------------- commands


LabelledOption = typer.Option(None, "--labelled", "-l", help="Labelled-items Parquet (`charter datasets import-file`); repeatable.")
KINDS = ("fast", *BACKENDS)


def _floats(value: str, option: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise CharterError(f"{option} {value!r}: write numbers separated by commas, e.g. 3e-6,1e-5,3e-5") from None


def _config(kind: str, stack_fast: bool, c: float, fast: dict[str, Any]) -> TrainConfig | EmbeddingTrainConfig:
    """The hyper-parameters of one model kind, with CLI-shaped messages for bad values."""
    if kind not in KINDS:
        raise CharterError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    try:
        fast_config = TrainConfig(**fast)
        if kind == "fast":
            return fast_config
        return EmbeddingTrainConfig(C=c, stack_fast=stack_fast, fast=fast_config, calibration=fast_config.calibration,
                                    random_state=fast_config.random_state)  # fmt: skip
    except ValidationError as exc:
        first = exc.errors()[0]
        name = {"max_iter": "max-iter", "random_state": "seed", "alpha_grid": "alpha-grid"}.get(str(first["loc"][0]), str(first["loc"][0]))
        raise CharterError(f"invalid --{name}: {first['msg']}") from None


@app.command("train")
@user_errors
def train(
    policy_path: Path = typer.Option(..., "--policy", "-p", help="Policy YAML the model is trained for."),
    out: Path = typer.Option(..., "-o", "--out", help="Model directory to write."),
    datasets: list[str] = typer.Option(None, "--dataset", "-d", help="NAME[:SPLIT] (split default: train); repeatable."),
    labelled: list[Path] = LabelledOption,
    source: str = SourceOption,
    kind: str = typer.Option("fast", "--kind", "-k", help="fast (hashed n-grams, at-scale) or an embedding model: minilm, model2vec."),
    stack_fast: bool = typer.Option(True, "--stack-fast/--no-stack-fast", help="Embedding kinds: also feed the head the cross-fitted fast model's scores."),
    category: list[str] = typer.Option(None, "--category", "-c", help="Train only these categories (default: every mapped one)."),
    alpha: float = typer.Option(TrainConfig().alpha, "--alpha", help="Fast model: L2 regularisation strength."),
    alpha_grid: str = typer.Option("", "--alpha-grid", help="Fast model: comma-separated alphas; each category takes the best by out-of-fold AUPRC."),
    max_iter: int = typer.Option(TrainConfig().max_iter, "--max-iter", help="Fast model: SGD epochs at most."),
    c: float = typer.Option(EmbeddingTrainConfig().C, "--C", help="Embedding head: inverse L2 strength."),
    calibration: str = typer.Option("auto", "--calibration", help="auto, sigmoid or isotonic."),
    seed: int = typer.Option(0, "--seed", help="Random state of SGD and the calibration folds."),
) -> None:
    """Train a classifier on policy-mapped datasets or labelled files and save a verified artifact."""
    policy = load_policy(policy_path)
    fast = {"alpha": alpha, "alpha_grid": _floats(alpha_grid, "--alpha-grid"), "max_iter": max_iter, "calibration": calibration, "random_state": seed}
    config = _config(kind, stack_fast, c, fast)
    parts = labelled_parts(datasets or [], labelled or [], policy, _source(source), "train")
    items, labels = _flatten(parts)
    mapped = list(dict.fromkeys(c for p in parts for c in p.categories))
    requested = list(category or [])
    for c in requested:
        if c not in policy.category_ids():
            raise CharterError(f"--category {c!r} is not a category of policy {policy.id} (categories: {', '.join(policy.category_ids())})")
        if c not in mapped:
            raise CharterError(f"--category {c!r}: none of the datasets' label mappings covers it (they cover {', '.join(mapped)})")
    gold = gold_arrays(labels, requested or mapped)
    needed = max(config.min_per_class, config.calibration_folds)
    if not requested:
        thin = {c: g for c, g in gold.items() if min(np.nansum(g), np.sum(g == 0)) < needed}
        for c, g in thin.items():
            console.print(f"[yellow]skipping {c}:[/] {int(np.nansum(g))} violating and {int(np.sum(g == 0))} allowed "
                          f"labels; training needs at least {needed} of each", highlight=False)  # fmt: skip
        gold = {c: g for c, g in gold.items() if c not in thin}
        if not gold:
            raise CharterError("no category has enough gold labels to train; add datasets or splits")
    versions = {p.name: p.version for p in parts}
    texts = [i.text for i in items]
    if isinstance(config, TrainConfig):
        model = train_classifier(texts, gold, policy, config, label_mappings=versions)
        save_model(model, out)
        write_feature_names(out, top_features(model, texts, k=TOP_FEATURES, seed=seed))
    else:
        model = train_embedding_classifier(texts, gold, policy, kind, config, label_mappings=versions)
        save_embedding_model(model, out)
    table = Table("category", "labelled", "violating", "allowed", "calibration", box=box.SIMPLE_HEAD, show_edge=False)
    for c, counts in model.card.training_counts.items():
        table.add_row(c, f"{counts['known']:,}", f"{counts['positive']:,}", f"{counts['known'] - counts['positive']:,}",
                      model.card.calibrators[c].method)  # fmt: skip
    console.print(f"trained [bold]{model.card.model_id}[/] for {model.card.policy} on {len(items):,} items: {_describe(parts)}", highlight=False)
    console.print(table)
    console.print(f"{model.card.training_seconds:.1f}s · model → {out}", highlight=False)


@app.command("score")
@user_errors
def score(
    model_dir: Path = typer.Argument(..., help="Model directory (from `charter classifier train`)."),
    input_path: Path = typer.Argument(..., metavar="INPUT", help="Labelled-items Parquet, or JSONL/CSV/TSV/Parquet items."),
    bundle: Path = BundleOption,
    out: Path = typer.Option(..., "-o", "--out", help="Decision log (.parquet) to write."),
    maps: list[str] = typer.Option([], "--map", help="FIELD=COLUMN for item files, e.g. id=tweet_id, text=body."),
    file_format: str | None = typer.Option(None, "--format", help="jsonl, csv, tsv or parquet (default: from the suffix)."),
    replace_invalid: bool = typer.Option(False, "--replace-invalid", help="Replace invalid UTF-8 bytes with U+FFFD instead of failing."),
    batch_size: int = typer.Option(BATCH_SIZE, "--batch-size", min=1, help="Items read, scored and written per batch."),
    allow_policy_mismatch: bool = MismatchOption,
) -> None:
    """Score items with the model under a bundle's thresholds and write a decision log."""
    engine, _ = _engine(model_dir, bundle, allow_policy_mismatch)
    batches = iter_item_batches(
        input_path, _parse_maps(maps), file_format=file_format, replace_invalid=replace_invalid, batch_size=batch_size
    )
    log = write_log(engine, batches, out)
    actions = ", ".join(f"{a} {n:,}" for a, n in log.actions.most_common())
    console.print(f"{log.count:,} decisions by {engine.model.card.model_id} under {engine.identity} → {out}; actions: {actions}",
                  highlight=False)  # fmt: skip


@app.command("batch")
@user_errors
def batch(
    model_dir: Path = typer.Argument(..., help="Model directory (fast or embedding)."),
    input_path: Path = typer.Argument(..., metavar="INPUT", help="Parquet file of items: id, text and optional market columns."),
    bundle: Path = BundleOption,
    out: Path = typer.Option(..., "-o", "--out", help="Decision log: a .parquet file, or a new directory of part files for --engine ray."),
    engine: str = typer.Option("inprocess", "--engine", "-e", help=f"{', '.join(ENGINES)}: one process, a process pool over row groups, or Ray Data."),
    ray_address: str | None = typer.Option(None, "--ray-address", help="Ray cluster address (ray://host:10001 or auto); default: a local Ray."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Process-pool or Ray actor-pool size (default: CPUs, or CPUs - 1 for Ray)."),
    batch_size: int = typer.Option(BATCH_SIZE, "--batch-size", min=1, help="Items scored per batch."),
    id_column: str = typer.Option("id", "--id-column", help="Column of item ids."),
    text_column: str = typer.Option("text", "--text-column", help="Column of item texts."),
    market_column: str = typer.Option("market", "--market-column", help="Column of markets (optional in the file)."),
    replace_invalid: bool = typer.Option(False, "--replace-invalid", help="Replace invalid UTF-8 bytes with U+FFFD instead of failing."),
    allow_policy_mismatch: bool = MismatchOption,
) -> None:
    """Batch-score a Parquet item dataset into a decision log, in-process or on a distributed engine (same engine code)."""
    if engine not in ENGINES:
        raise CharterError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    result = score_parquet(
        model_dir, bundle, input_path, out, engine, ray_address, batch_size, workers=workers, id_column=id_column,  # type: ignore[arg-type]
        text_column=text_column, market_column=market_column, allow_policy_mismatch=allow_policy_mismatch,
        replace_invalid=replace_invalid,
    )  # fmt: skip
    if result.policy_warning:
        err_console.print(f"[yellow]warning:[/] {result.policy_warning}", highlight=False)
    rate = result.rows / result.seconds if result.seconds else float("nan")
    console.print(f"{result.rows:,} decisions by {result.model_id} ({result.engine}) in {result.seconds:.1f}s "
                  f"({rate:,.0f} items/s) → {result.output}", highlight=False)  # fmt: skip


@app.command("distill-model2vec")
@user_errors
def distill_model2vec_command(
    directory: Path | None = typer.Option(None, "--dir", help="Where to keep it (default: $CHARTER_MODEL2VEC_DIR or ~/.cache/charter/model2vec-minilm)."),
    force: bool = typer.Option(False, "--force", help="Distill again even when the directory has a model."),
) -> None:
    """Distill the static model2vec embedder from the packaged MiniLM, once (offline, about a minute)."""
    path = distill_model2vec(directory, force=force)
    console.print(f"model2vec embedder ready in {path}; train with --kind model2vec", highlight=False)


def _headline(run: Any, html: Path, identity: Any, refs: Sequence[str]) -> dict[str, Any]:
    """The numbers a model card keeps from an evaluation."""

    def numbers(m: Any) -> dict[str, Any]:
        out = {name: getattr(m, name, None) for name in ("n", "support", "precision", "recall", "f1", "auprc")}
        out["intervals"] = {k: [round(v.low, 4), round(v.high, 4)] for k, v in m.intervals.items()}
        return out

    return {
        "evaluated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "bundle_policy": str(identity),
        "datasets": list(refs),
        "n_items": run.n_items,
        "report": str(html),
        "categories": {c: numbers(m) for c, m in run.summary.categories.items()},
        "micro": numbers(run.summary.micro),
    }


@app.command("evaluate")
@user_errors
def evaluate(
    model_dir: Path = typer.Argument(..., help="Model directory."),
    bundle: Path = BundleOption,
    datasets: list[str] = typer.Option(None, "--dataset", "-d", help="NAME[:SPLIT] (split default: test); repeatable."),
    labelled: list[Path] = LabelledOption,
    out: Path = typer.Option(..., "-o", "--out", help="Report folder (report.html, report.json, decisions, gold)."),
    source: str = SourceOption,
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap resamples for F1/AUPRC intervals."),
    min_support: int = typer.Option(30, "--min-support", help="Smallest slice (labelled items) that gets metrics."),
    allow_policy_mismatch: bool = MismatchOption,
) -> None:
    """Score held-out dataset splits or labelled files, write the evaluation report, record the numbers in the model card."""
    engine, policy = _engine(model_dir, bundle, allow_policy_mismatch)
    parts = labelled_parts(datasets or [], labelled or [], policy, _source(source), "test")
    items, labels = _flatten(parts)
    categories = [c for c in dict.fromkeys(c for p in parts for c in p.categories) if c in engine.model.categories]
    if not categories:
        raise CharterError(f"the datasets' label mappings cover none of the model's categories ({', '.join(engine.model.categories)})")
    stamp = {"annotator_id": "dataset:" + "+".join(p.name for p in parts),
             "model_version": "mappings:" + ",".join(f"{p.name}@{p.version}" for p in parts),
             "policy_id": engine.identity.id, "policy_version": engine.identity.version, "policy_hash": engine.identity.hash}  # fmt: skip
    gold_path = write_labelled_items(
        out / "gold.parquet", items, [label.model_copy(update=stamp) for label in labels], categories,
        dataset="+".join(p.name for p in parts), split="+".join(sorted({p.split for p in parts})),
    )  # fmt: skip
    log = write_log(engine, _chunks(items), out / "decisions.parquet")
    slices = ["metadata.dataset"] if len(parts) > 1 else []
    try:
        options = EvalOptions(n_boot=n_boot, min_support=min_support, slice_columns=slices + ["language"])
    except ValidationError as exc:
        raise CharterError(f"invalid option: {exc.errors()[0]['msg']}") from None
    run, html_path, json_path = run_eval(
        log.path, gold_path, out, title=f"{engine.model.card.model_id} on {_describe(parts)}", categories=categories, options=options
    )
    record_any_evaluation(model_dir, _headline(run, html_path, engine.identity, [*(datasets or []), *map(str, labelled or [])]))
    console.print(summary_table(run))
    console.print(f"report: [bold]{html_path}[/] · numbers: {json_path} · recorded in {model_dir / 'model.json'}", highlight=False)


@app.command("inspect")
@user_errors
def inspect(
    model_dir: Path = typer.Argument(..., help="Model directory."),
    top: int = typer.Option(10, "--top", min=0, help="Strongest features to show per category."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """The model card (policy, mappings, data hash, hyper-parameters, counts, evaluation) and top features."""
    card = read_any_card(model_dir)
    features = read_feature_names(model_dir) if not isinstance(card, EmbeddingCard) else None
    if as_json:
        payload = card.model_dump(mode="json")
        payload["top_features"] = {c: f[:top] for c, f in features.items()} if features else None
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    console.print(f"[bold]{card.model_id}[/] ({card.format})", highlight=False)
    console.print(f"policy: {card.policy}  · full hash {card.policy.hash}", highlight=False)
    console.print("label mappings: " + (", ".join(f"{k}@{v}" for k, v in card.label_mappings.items()) or "none"), highlight=False)
    console.print(f"training data sha256: {card.training_data_hash}", highlight=False)
    console.print(f"trained {card.trained_at:%Y-%m-%d %H:%M UTC} in {card.training_seconds:.1f}s · "
                  + ", ".join(f"{k} {v}" for k, v in card.library_versions.items()), highlight=False)  # fmt: skip
    console.print(_hyperparameters(card), highlight=False)
    table = Table("category", "labelled", "violating", "calibration", box=box.SIMPLE_HEAD, show_edge=False, title="training counts", title_justify="left")
    for c, counts in card.training_counts.items():
        table.add_row(c, f"{counts['known']:,}", f"{counts['positive']:,}", card.calibrators[c].method)
    console.print(table)
    if card.evaluation:
        ev = card.evaluation
        table = Table("category", "labelled", "violating", "precision", "recall", "F1", "AUPRC", box=box.SIMPLE_HEAD,
                      show_edge=False, title=f"evaluation {ev.get('evaluated_at', '')} on {', '.join(ev.get('datasets', []))}",
                      title_justify="left")  # fmt: skip

        def cell(m: dict, name: str) -> str:
            value, iv = m.get(name), m.get("intervals", {}).get(name)
            return "—" if value is None else f"{value:.3f}" + (f" [{iv[0]:.2f}, {iv[1]:.2f}]" if iv else "")

        for c, m in ev.get("categories", {}).items():
            table.add_row(c, str(m.get("n")), f"{m.get('support', 0):.0f}", cell(m, "precision"), cell(m, "recall"), cell(m, "f1"), cell(m, "auprc"))
        console.print(table)
    else:
        console.print("evaluation: none yet (run `charter classifier evaluate`)", style="dim")
    if isinstance(card, EmbeddingCard):
        return  # an embedding head's weights are over embedding dimensions, which have no names
    if features is None:
        console.print("top features: not available: hashed features keep no vocabulary, and this model has no "
                      "features.json from training (retrain with `charter classifier train` to get one)", style="yellow")  # fmt: skip
        return
    for c, ranked in features.items():
        shown = [f"{' | '.join(f['ngrams']) or '(unseen n-gram)'} ({f['weight']:+.2f})" for f in ranked[:top]]
        console.print(f"[bold]{c}[/] top features: " + "; ".join(shown), highlight=False)


def _hyperparameters(card: Any) -> str:
    if isinstance(card, EmbeddingCard):
        hp, e = card.hyperparameters, card.embedder
        stacked = f", stacked on fast model {card.stacked_fast_model}" if card.stacked_fast_model else ""
        return (f"embedder: {e.backend} ({e.model}, {e.dim} dims, weights {e.fingerprint[:12]}) · head: logistic regression "
                f"C {hp.C:g}, class-balanced, calibration {hp.calibration} ({hp.calibration_folds} folds){stacked}")  # fmt: skip
    hp = card.hyperparameters
    alpha = ", ".join(f"{c} {a:g}" for c, a in card.chosen_alpha.items()) + " (by out-of-fold AUPRC)" if card.chosen_alpha else f"{hp.alpha:g}"
    return (
        f"hyper-parameters: alpha {alpha}, max_iter {hp.max_iter}, tol {hp.tol:g}, calibration {hp.calibration} "
        f"({hp.calibration_folds} folds), features 2×{hp.features.n_features:,} hashed (word {hp.features.word_ngrams}, "
        f"char_wb {hp.features.char_ngrams}), evasion flags {'on' if hp.features.evasion_features else 'off'}"
    )


@app.command("robustness")
@user_errors
def robustness(
    model_dir: Path = typer.Argument(..., help="Model directory."),
    bundle: Path = BundleOption,
    datasets: list[str] = typer.Option(None, "--dataset", "-d", help="NAME[:SPLIT] (split default: test); repeatable."),
    labelled: list[Path] = LabelledOption,
    out: Path = typer.Option(..., "-o", "--out", help="Folder for report.json and report.html."),
    source: str = SourceOption,
    transformation: list[str] = typer.Option(None, "--transformation", "-t", help="Only these evasions (default: all, and combined)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the evasion variants (same seed, same variants)."),
    max_per_category: int | None = typer.Option(None, "--max-per-category", min=1, help="Score at most this many violating items per category."),
    allow_policy_mismatch: bool = MismatchOption,
) -> None:
    """Recall of violating items under evasion, with and without normalization, at the bundle's thresholds."""
    engine, policy = _engine(model_dir, bundle, allow_policy_mismatch)
    parts = labelled_parts(datasets or [], labelled or [], policy, _source(source), "test")
    items, labels = _flatten(parts)
    categories = [c for c in dict.fromkeys(c for p in parts for c in p.categories) if c in engine.model.categories]
    report = robustness_suite(
        engine.model, engine.routing, [i.text for i in items], gold_arrays(labels, categories),
        transformations=list(transformation or []) or None, seed=seed, max_per_category=max_per_category,
        sources={"datasets": _describe(parts)},
    )  # fmt: skip
    html_path, json_path = write_robustness_report(report, out)
    table = Table("category", "tier", "items", "original", "raw", "normalized", "recovered", box=box.SIMPLE_HEAD, show_edge=False,
                  title="recall of violating items under evasion (mean over transformations)", title_justify="left")  # fmt: skip
    for tier in TIERS:
        for c, s in summary(report, tier).items():
            share = "—" if s["recovered_share"] is None else f"{100 * s['recovered_share']:.0f}%"
            table.add_row(c, tier, str(report.violating[c]), f"{s['original_recall']:.3f}", f"{s['raw_recall']:.3f}",
                          f"{s['normalized_recall']:.3f}", share)  # fmt: skip
    console.print(table)
    console.print(f"report: [bold]{html_path}[/] · numbers: {json_path}", highlight=False)
