"""`charter llm moderate` and `charter llm evaluate`: run the LLM pathway over items and write
a decision log that `charter eval` reads (evaluate does both in one go)."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import typer

from charter.cli.common import console, user_errors
from charter.cli.eval_cmd import run_eval, summary_table
from charter.compile import load_bundle
from charter.engines.llm import (
    Backend,
    CachedBackend,
    CompletionCache,
    EmbeddedBackend,
    LLMEngine,
    OpenAIBackend,
    OpenAIConfig,
)
from charter.errors import CharterError
from charter.io.records_io import read_items
from charter.records import ContentItem, Decision
from charter.store.decision_log import write_decision_log

app = typer.Typer(no_args_is_help=True, help="Moderate and evaluate with an LLM (chain-of-thought pathway).")

BUNDLE = typer.Option(..., "--bundle", "-b", help="Compiled bundle directory (`charter compile`).")
INPUT = typer.Argument(..., help="Items: labelled Parquet from `charter datasets import`, or JSONL/CSV/Parquet of items.")
MODE = typer.Option("single", "--mode", help="single (one JSON verdict) or tree (one question per node).")
BASE_URL = typer.Option(None, "--base-url", help="OpenAI-compatible server (or CHARTER_LLM_BASE_URL).")
MODEL = typer.Option(None, "--model", help="Model name on that server (or CHARTER_LLM_MODEL).")
EMBEDDED = typer.Option(False, "--embedded", help="Run the packaged SmolLM2-135M in-process (offline plumbing check, low accuracy).")
CATEGORY = typer.Option(None, "--category", "-c", help="Only these categories (repeatable).")
LIMIT = typer.Option(None, "--limit", help="Only the first N items.")
CONCURRENCY = typer.Option(4, "--concurrency", help="Requests in flight at once.")
SAMPLES = typer.Option(1, "--samples", help="Self-consistency samples per category (majority vote).")
CACHE = typer.Option(None, "--cache", help="SQLite completion cache; re-runs on the same prompts cost nothing.")
RETRIES = typer.Option(3, "--retries", help="Retries per request on refused connections, 429 and 5xx.")
TIMEOUT = typer.Option(None, "--timeout", help="Seconds per request (default 60; 300 for --embedded).")
RPS = typer.Option(None, "--rps", help="At most this many requests per second.")
MAX_TOKENS = typer.Option(512, "--max-tokens", help="Most tokens per reply.")
PRICE_IN = typer.Option(0.0, "--price-in", help="USD per 1k prompt tokens (for cost_usd).")
PRICE_OUT = typer.Option(0.0, "--price-out", help="USD per 1k completion tokens (for cost_usd).")
LOGPROBS = typer.Option(False, "--logprobs", help="Score from the label token's probability (servers that return logprobs).")


@contextlib.contextmanager
def open_backend(
    base_url: str | None, model: str | None, embedded: bool, concurrency: int, retries: int, timeout: float | None,
    rps: float | None, cache: Path | None,
) -> Iterator[Backend]:
    """The backend the options ask for, wrapped by the cache if one is given; closed on exit."""
    if embedded and base_url:
        raise CharterError("give either --embedded or --base-url, not both")
    options = {"max_retries": retries, "requests_per_second": rps}
    if timeout is not None:
        options["timeout_s"] = timeout
    if embedded:
        backend: Backend = EmbeddedBackend(parallel=max(1, min(concurrency, 4)), **options)
    else:
        backend = OpenAIBackend(OpenAIConfig.from_env(base_url, model, concurrency=concurrency, **options))
    if cache is not None:
        backend = CachedBackend(backend, CompletionCache(cache))
    try:
        yield backend
    finally:
        backend.close()


def load_items(path: Path, limit: int | None) -> list[ContentItem]:
    items = read_items(path)
    if limit is not None:
        if limit < 1:
            raise CharterError(f"--limit must be at least 1, got {limit}")
        items = items[:limit]
    if not items:
        raise CharterError(f"{path} holds no items")
    return items


def moderate(
    bundle: Path, input: Path, out: Path, *, mode: str, base_url: str | None, model: str | None, embedded: bool,
    categories: list[str] | None, limit: int | None, concurrency: int, samples: int, cache: Path | None,
    retries: int, timeout: float | None, rps: float | None, max_tokens: int, price_in: float, price_out: float,
    logprobs: bool = False,
) -> list[Decision]:
    """Moderate the items of `input` and write the decision log to `out`."""
    loaded = load_bundle(bundle)
    items = load_items(input, limit)
    with open_backend(base_url, model, embedded, concurrency, retries, timeout, rps, cache) as backend:
        engine = LLMEngine(
            backend, loaded, mode=mode, categories=categories, samples=samples,  # type: ignore[arg-type]
            max_tokens=max_tokens, concurrency=concurrency, price_in_per_1k=price_in, price_out_per_1k=price_out,
            logprobs=logprobs,
        )
        decisions = engine.decide(items)
    write_decision_log(decisions, out)
    return decisions


def report(decisions: list[Decision], out: Path) -> None:
    actions = Counter(d.action for d in decisions)
    escalated = sum(
        any(c.get("escalated") for c in d.extra.get("llm", {}).get("categories", {}).values()) for d in decisions
    )
    tokens = sum(d.tokens_in or 0 for d in decisions), sum(d.tokens_out or 0 for d in decisions)
    cost = sum(d.cost_usd or 0.0 for d in decisions)
    console.print(
        f"{len(decisions)} decisions → {out}; actions {dict(actions)}; {escalated} with an escalated category; "
        f"tokens in/out {tokens[0]}/{tokens[1]}; cost ${cost:.4f}",
        highlight=False,
    )


@app.command("moderate")
@user_errors
def moderate_command(
    input: Path = INPUT,
    bundle: Path = BUNDLE,
    out: Path = typer.Option(..., "--out", "-o", help="Decision log to write (Parquet)."),
    mode: str = MODE, base_url: str = BASE_URL, model: str = MODEL, embedded: bool = EMBEDDED,
    category: list[str] = CATEGORY, limit: int = LIMIT, concurrency: int = CONCURRENCY, samples: int = SAMPLES,
    cache: Path = CACHE, retries: int = RETRIES, timeout: float = TIMEOUT, rps: float = RPS,
    max_tokens: int = MAX_TOKENS, price_in: float = PRICE_IN, price_out: float = PRICE_OUT, logprobs: bool = LOGPROBS,
) -> None:
    """Moderate items with an LLM and write a decision log."""
    decisions = moderate(
        bundle, input, out, mode=mode, base_url=base_url, model=model, embedded=embedded,
        categories=list(category or []) or None, limit=limit, concurrency=concurrency, samples=samples, cache=cache,
        retries=retries, timeout=timeout, rps=rps, max_tokens=max_tokens, price_in=price_in, price_out=price_out,
        logprobs=logprobs,
    )
    report(decisions, out)


@app.command("evaluate")
@user_errors
def evaluate_command(
    input: Path = typer.Argument(..., help="Labelled items (Parquet from `charter datasets import`)."),
    bundle: Path = BUNDLE,
    out: Path = typer.Option(Path("out/llm-eval"), "--out", "-o", help="Folder for decisions.parquet and the report."),
    mode: str = MODE, base_url: str = BASE_URL, model: str = MODEL, embedded: bool = EMBEDDED,
    category: list[str] = CATEGORY, limit: int = LIMIT, concurrency: int = CONCURRENCY, samples: int = SAMPLES,
    cache: Path = CACHE, retries: int = RETRIES, timeout: float = TIMEOUT, rps: float = RPS,
    max_tokens: int = MAX_TOKENS, price_in: float = PRICE_IN, price_out: float = PRICE_OUT, logprobs: bool = LOGPROBS,
) -> None:
    """Moderate labelled items with an LLM, then evaluate the decisions against the labels."""
    log = out / "decisions.parquet"
    categories = list(category or []) or None
    decisions = moderate(
        bundle, input, log, mode=mode, base_url=base_url, model=model, embedded=embedded, categories=categories,
        limit=limit, concurrency=concurrency, samples=samples, cache=cache, retries=retries, timeout=timeout,
        rps=rps, max_tokens=max_tokens, price_in=price_in, price_out=price_out, logprobs=logprobs,
    )
    report(decisions, log)
    run, html_path, json_path = run_eval(log, input, out, title=f"LLM ({mode}) evaluation", categories=categories)
    console.print(summary_table(run))
    for note in run.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    console.print(f"report: [bold]{html_path}[/]  numbers: {json_path}", highlight=False)
