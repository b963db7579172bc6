"""`charter enforce`: run the cascade (or one pathway) of a bundle over a dataset split or an
items file, write the Parquet decision log that `charter eval` reads, and show how much each
stage decided and which actions were taken.

With a dataset, the gold labels are written beside the log (`<log>.gold.parquet`), so the
run is evaluated with `charter eval LOG --gold GOLD`. Items stream through in batches.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.table import Table

from charter.cli.classifier_cmd import LogWriter, _parse_maps, iter_item_batches
from charter.cli.common import console, err_console, user_errors
from charter.cli.llm_cmd import open_backend
from charter.compile import LoadedBundle, load_bundle
from charter.datasets import apply_mapping, get_info, load_mapping, load_split
from charter.datasets.apply import MappedSplit
from charter.engines.base import Engine
from charter.engines.cascade import build_cascade
from charter.engines.classifier import ClassifierEngine, load_model
from charter.engines.llm import Backend, LLMEngine
from charter.engines.rules import RulesEngine
from charter.errors import CharterError
from charter.io import write_labelled_items
from charter.records import ContentItem, Decision

PATHWAYS = ("cascade", "rules", "classifier", "llm")
STAGES = ("rules", "classifier", "llm", "human")
DEFAULT_BATCH = 1024


def _engine(pathway: str, bundle: LoadedBundle, model_dir: Path | None, backend: Backend | None, *, mode: str,
            categories: list[str], allow_policy_mismatch: bool, llm_options: dict[str, Any]) -> Engine:  # fmt: skip
    """The engine the options ask for, or a CharterError saying what is missing."""
    model = load_model(model_dir) if model_dir is not None else None
    if pathway == "cascade":
        return build_cascade(bundle, model, backend, llm_mode=mode, categories=categories or None,
                             allow_policy_mismatch=allow_policy_mismatch, **(llm_options if backend else {}))  # fmt: skip
    if pathway == "rules":
        return RulesEngine(bundle)
    if pathway == "classifier":
        if model is None:
            raise CharterError("--pathway classifier needs --model (a directory from `charter classifier train`)")
        return ClassifierEngine(model, bundle, allow_policy_mismatch=allow_policy_mismatch)
    if backend is None:
        raise CharterError("--pathway llm needs an LLM: --llm-url and --llm-model, or --llm-embedded")
    return LLMEngine(backend, bundle, mode=mode, categories=categories or None, **llm_options)  # type: ignore[arg-type]


def stage_of(decision: Decision, escalate: str | None) -> str:
    """Which stage settled a decision: the cascade's `decided_by`, else the pathway (or a
    person, for an escalation)."""
    if decision.pathway == "cascade":
        return str(decision.extra.get("decided_by", "cascade"))
    return "human" if escalate is not None and decision.action == escalate else decision.pathway


def _limited(batches: Iterator[list[ContentItem]], limit: int | None) -> Iterator[list[ContentItem]]:
    left = limit
    for batch in batches:
        if left is not None:
            batch = batch[:left]
            left -= len(batch)
        if batch:
            yield batch
        if left is not None and left <= 0:
            return


def _mapped(ref: str, bundle: LoadedBundle, source: str) -> MappedSplit:
    """NAME[:SPLIT] (split default: test) loaded and mapped onto the bundle's policy."""
    name, _, split = ref.partition(":")
    if not name.strip():
        raise CharterError(f"--dataset {ref!r}: write NAME or NAME:SPLIT, e.g. sms-spam:test")
    info = get_info(name.strip())
    if not info.mapping:
        raise CharterError(f"dataset {info.name!r} has no label mapping ({info.mapping_note or 'no gold labels'}); use it as an items file")
    data = load_split(info.name, split.strip() or "test", source)  # type: ignore[arg-type]
    return apply_mapping(data, load_mapping(info.mapping, bundle.policy), bundle.policy)


def _dataset_batches(refs: list[str], bundle: LoadedBundle, source: str, limit: int | None, log: Path,
                     batch_size: int) -> tuple[Iterator[list[ContentItem]], Path]:  # fmt: skip
    """Batches of the mapped splits' items, and the gold labels written beside the log."""
    if source not in ("auto", "shared", "sample"):
        raise CharterError(f"--source must be auto, shared or sample, not {source!r}")
    parts = [_mapped(ref, bundle, source) for ref in refs]
    items = [i for p in parts for i in p.items][:limit]
    labels = [lab for p in parts for lab in p.labels][: len(items)]
    if not items:
        raise CharterError(f"--dataset {', '.join(refs)} has no items")
    categories = list(dict.fromkeys(c for p in parts for c in p.mapping.categories))
    stamp = {"annotator_id": "dataset:" + "+".join(p.dataset for p in parts),
             "model_version": "mappings:" + ",".join(f"{p.dataset}@{p.mapping.version}" for p in parts)}  # fmt: skip
    gold = write_labelled_items(
        log.with_name(log.stem + ".gold.parquet"), items, [label.model_copy(update=stamp) for label in labels], categories,
        dataset="+".join(p.dataset for p in parts), split="+".join(sorted({p.split for p in parts})),
    )  # fmt: skip
    return (items[i : i + batch_size] for i in range(0, len(items), batch_size)), gold


def summary(decisions: Counter[str], actions: Counter[str], total: int) -> Table:
    table = Table("decided by", "items", "share", box=box.SIMPLE_HEAD, show_edge=False, title="stages", title_justify="left")
    for stage in [*STAGES, *sorted(set(decisions) - set(STAGES))]:
        if stage in decisions or stage in STAGES:
            table.add_row(stage, f"{decisions[stage]:,}", f"{decisions[stage] / total:.1%}")
    actions_table = Table("action", "items", "share", box=box.SIMPLE_HEAD, show_edge=False)
    for action, count in actions.most_common():
        actions_table.add_row(action, f"{count:,}", f"{count / total:.1%}")
    grid = Table.grid(padding=(0, 4))
    grid.add_row(table, actions_table)
    return grid


@user_errors
def enforce_command(
    input_path: Path = typer.Argument(None, metavar="[INPUT]", help="Items: labelled Parquet, or JSONL/CSV/TSV/Parquet items."),
    bundle_dir: Path = typer.Option(..., "--bundle", "-b", help="Compiled bundle (from `charter compile`)."),
    out: Path = typer.Option(..., "--out", "-o", help="Decision log (.parquet) to write."),
    pathway: str = typer.Option("cascade", "--pathway", help="cascade (default), or one pathway: rules, classifier, llm."),
    model_dir: Path = typer.Option(None, "--model", "-m", help="Classifier directory (from `charter classifier train`)."),
    datasets: list[str] = typer.Option(None, "--dataset", "-d", help="NAME[:SPLIT] instead of INPUT (split default: test); repeatable."),
    source: str = typer.Option("auto", "--source", help="For --dataset: auto (shared data, else the vendored sample), shared or sample."),
    llm_url: str = typer.Option(None, "--llm-url", help="OpenAI-compatible LLM server (or CHARTER_LLM_BASE_URL)."),
    llm_model: str = typer.Option(None, "--llm-model", help="Model name on that server (or CHARTER_LLM_MODEL)."),
    llm_embedded: bool = typer.Option(False, "--llm-embedded", help="Run a packaged model in-process (offline; low accuracy)."),
    llm_packaged: str = typer.Option("smollm2", "--llm-packaged", help="Packaged model for --llm-embedded: smollm2 (plumbing only) or qwen2.5-coder-1.5b."),
    mode: str = typer.Option("single", "--llm-mode", help="single (one JSON verdict) or tree (one question per node)."),
    category: list[str] = typer.Option(None, "--category", "-c", help="Categories the classifier/LLM stages cover (repeatable)."),
    limit: int = typer.Option(None, "--limit", min=1, help="Only the first N items."),
    maps: list[str] = typer.Option([], "--map", help="FIELD=COLUMN for item files, e.g. id=tweet_id, text=body."),
    file_format: str = typer.Option(None, "--format", help="jsonl, csv, tsv or parquet (default: from the suffix)."),
    batch_size: int = typer.Option(DEFAULT_BATCH, "--batch-size", min=1, help="Items decided and written per batch."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, help="LLM requests in flight at once."),
    max_tokens: int = typer.Option(512, "--max-tokens", min=16, help="Most tokens per LLM reply."),
    review_below: float = typer.Option(0.5, "--review-below", min=0.0, max=1.0, help="LLM verdicts less confident than this go to review."),
    retries: int = typer.Option(3, "--retries", min=0, help="LLM retries on refused connections, 429 and 5xx."),
    timeout: float = typer.Option(None, "--timeout", help="Seconds per LLM request."),
    cache: Path = typer.Option(None, "--cache", help="SQLite LLM completion cache; re-runs cost nothing."),
    allow_policy_mismatch: bool = typer.Option(False, "--allow-policy-mismatch", help="Use a model trained for other policy content."),
) -> None:
    """Enforce a bundle over items: the cascade (rules → classifier → LLM → human review) or one pathway."""
    if pathway not in PATHWAYS:
        raise CharterError(f"--pathway must be one of {', '.join(PATHWAYS)}, not {pathway!r}")
    if (input_path is None) == (not datasets):
        raise CharterError("give either INPUT (an items file) or --dataset NAME[:SPLIT], not both and not neither")
    if mode not in ("single", "tree"):
        raise CharterError(f"--llm-mode must be single or tree, not {mode!r}")
    if out.suffix != ".parquet":
        raise CharterError(f"--out {out}: the decision log is Parquet; give a path ending in .parquet")
    bundle = load_bundle(bundle_dir)
    wants_llm = pathway in ("cascade", "llm") and bool(llm_url or llm_model or llm_embedded)
    gold: Path | None = None
    if datasets:
        batches, gold = _dataset_batches(list(datasets), bundle, source, limit, out, batch_size)
    else:
        batches = _limited(iter_item_batches(input_path, _parse_maps(maps), file_format=file_format, batch_size=batch_size), limit)
    stages: Counter[str] = Counter()
    with contextlib.ExitStack() as stack:
        backend = (
            stack.enter_context(open_backend(llm_url, llm_model, llm_embedded, concurrency, retries, timeout, None, cache, llm_packaged))
            if wants_llm
            else None
        )
        llm_options = {"max_tokens": max_tokens, "review_below": review_below, "concurrency": concurrency}
        engine = _engine(pathway, bundle, model_dir, backend, mode=mode, categories=list(category or []),
                         allow_policy_mismatch=allow_policy_mismatch, llm_options=llm_options)  # fmt: skip
        mismatch = getattr(engine, "policy_mismatch", None)
        if mismatch:
            err_console.print(f"[yellow]warning:[/] {mismatch}", highlight=False)
        escalate = engine.routing.escalate_action if hasattr(engine, "routing") else None
        writer = LogWriter(out)
        try:
            for items in batches:
                decisions = engine.decide(items)
                writer.write(decisions)
                stages.update(stage_of(d, escalate) for d in decisions)
            writer.close()
        except BaseException:
            writer.abort()
            raise
    console.print(f"{writer.count:,} decisions by {engine.name} under {engine.identity} → {out}", highlight=False)
    console.print(summary(stages, writer.actions, writer.count))
    if gold is not None:
        console.print(f"gold labels → {gold}; evaluate with: charter eval {out} --gold {gold}", highlight=False)
