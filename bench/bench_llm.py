"""The LLM pathway on one local llama.cpp server, variants side by side on the same items:
single-shot vs tree-walk, concurrency 1 vs 4, cold vs warm completion cache. Per run it
measures decisions per second, tokens per decision (prompt and completion, model calls per
decision), how often the reply validated (vs. escalation, with the reasons), and F1 of the
verdicts against the gold labels; it ends with the ratios between variants and, with
--injection, the prompt-injection probes (flagged share with and without the injection).

    python bench/bench_llm.py --n 200                                  # SmolLM2-135M, offline
    python bench/bench_llm.py --packaged qwen2.5-coder-1.5b --n 40 --concurrency 1 --modes single --injection
    python bench/bench_llm.py --base-url http://localhost:8000/v1 --model my-model --n 200

"Cold" starts from an empty completion cache (the server's own prompt cache is warm after the
first run, as it is in production); "warm" re-runs the same items on the filled cache. A tiny
model's F1 is near chance: the numbers that matter here are speed, tokens and validity.
Prints one JSON line per run, then one summary line with the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from charter.compile import compile_policy, load_bundle, write_bundle
from charter.datasets import apply_mapping, gold_arrays, load_mapping, load_split
from charter.engines.llm import CachedBackend, CompletionCache, LLMEngine, LocalLlamaServer, OpenAIBackend, OpenAIConfig
from charter.engines.llm.injection import injection_report
from charter.engines.llm.models import PACKAGED_MODELS
from charter.evaluate import binary_metrics
from charter.io.labelled import write_labelled_items
from charter.policy.load import load_policy_source
from charter.store.decision_log import write_decision_log

POLICY = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples" / "policy.yaml"


def balanced(items, labels, category: str, n: int):
    """Up to n/2 violating items, the rest allowed, in split order (fewer violating if the split has fewer)."""
    violating = [(i, l) for i, l in zip(items, labels) if l.labels.get(category) == "violating"][: n // 2]
    allowed = [(i, l) for i, l in zip(items, labels) if l.labels.get(category) == "allowed"][: n - len(violating)]
    chosen = sorted(violating + allowed, key=lambda pair: items.index(pair[0]))
    return [i for i, _ in chosen], [l for _, l in chosen]


def escalation_reason(detail: dict) -> str:
    """The reason's kind, without item-specific text."""
    reason = detail.get("reason", "")
    if reason.startswith("low confidence"):
        return "low confidence"
    for kind in ("backend error", "cut off", "empty", "no JSON object", "not valid JSON", "output schema",
                 "tree_path", "outcome", "unexpected error"):
        if kind in reason:
            return kind
    return "other" if reason else "tree says review"


def run(engine: LLMEngine, items, gold, category: str) -> tuple[dict, list]:
    started = time.perf_counter()
    decisions = engine.decide(items)
    wall = time.perf_counter() - started
    details = [d.extra["llm"]["categories"][category] for d in decisions]
    invalid = ["outcome" not in detail for detail in details]
    predicted = np.array([d.labels[category] == "violating" for d in decisions], dtype=float)
    metrics = binary_metrics(gold, y_pred=predicted, n_boot=200, seed=0)
    n = len(decisions)
    return {
        "items": n,
        "wall_s": round(wall, 2),
        "decisions_per_s": round(n / wall, 4),
        "tokens_in_per_decision": round(sum(d.tokens_in or 0 for d in decisions) / n, 1),
        "tokens_out_per_decision": round(sum(d.tokens_out or 0 for d in decisions) / n, 1),
        "cached_tokens_in_per_decision": round(sum(d.extra["llm"]["cached_tokens_in"] for d in decisions) / n, 1),
        "calls_per_decision": round(sum(d.extra["llm"]["calls"] for d in decisions) / n, 2),
        "median_latency_ms": round(float(np.median([d.latency_ms for d in decisions])), 1),
        "valid_share": round(1.0 - float(np.mean(invalid)), 4),
        "review_share": round(float(np.mean([d.labels[category] == "needs_review" for d in decisions])), 4),
        "allowed_share": round(float(np.mean([d.labels[category] == "allowed" for d in decisions])), 4),
        "escalations": dict(Counter(escalation_reason(x) for x in details if x.get("escalated"))),
        **{name: _round(getattr(metrics, name)) for name in ("f1", "precision", "recall")},
    }, decisions


def _round(value: float | None) -> float | None:
    """Metrics are None where undefined (precision with no positive prediction)."""
    return None if value is None else round(value, 4)


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="sms-spam")
    parser.add_argument("--split", default="test")
    parser.add_argument("--category", default="spam_scams")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--modes", default="single,tree")
    parser.add_argument("--concurrency", default="1,4", help="comma-separated concurrency levels")
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--packaged", default="smollm2", choices=sorted(PACKAGED_MODELS))
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: all cores, at most 4)")
    parser.add_argument("--injection", action="store_true", help="also run the prompt-injection probes per mode")
    parser.add_argument("--logs", type=Path, help="write each cold run's decision log and the gold items here, for `charter eval`")
    parser.add_argument("--base-url")
    parser.add_argument("--model")
    args = parser.parse_args()
    modes = args.modes.split(",")
    levels = [int(c) for c in args.concurrency.split(",")]

    source = load_policy_source(POLICY)
    bundle_dir = Path(tempfile.mkdtemp(prefix="charter-bench-llm-"))
    write_bundle(compile_policy(source.policy, source), bundle_dir)
    bundle = load_bundle(bundle_dir)
    mapped = apply_mapping(load_split(args.dataset, args.split), load_mapping(args.dataset, bundle.policy), bundle.policy)
    items, labels = balanced(mapped.items, mapped.labels, args.category, args.n)
    gold = gold_arrays(labels, [args.category])[args.category]
    if args.logs:
        write_labelled_items(args.logs / "gold.parquet", items, labels, [args.category], dataset=args.dataset, split=args.split)
    common = {"bench": "llm", "dataset": f"{args.dataset}/{args.split}", "category": args.category,
              "violating_items": int(gold.sum()), "cpus": os.cpu_count(), "machine": platform.machine(),
              "load_avg_1m_at_start": round(os.getloadavg()[0], 2)}

    results: dict[tuple[str, int, str], dict] = {}
    labels_by_run: dict[tuple[str, int], list[str]] = {}
    with contextlib.ExitStack() as stack:
        if args.base_url:
            backend = OpenAIBackend(OpenAIConfig.from_env(args.base_url, args.model, concurrency=max(levels)))
        else:
            server = stack.enter_context(LocalLlamaServer(parallel=max(levels), threads=args.threads, packaged=args.packaged))
            backend = server.backend(concurrency=max(levels))
        common["model"] = backend.model
        for mode in modes:
            for level in levels:
                cache = CompletionCache(Path(tempfile.mkdtemp(prefix="charter-bench-cache-")) / "llm.sqlite")
                engine = LLMEngine(CachedBackend(backend, cache), bundle, mode=mode, categories=[args.category],
                                   max_tokens=args.max_tokens, concurrency=level)
                for temperature in ("cold", "warm"):
                    numbers, decisions = run(engine, items, gold, args.category)
                    results[(mode, level, temperature)] = numbers
                    if temperature == "cold":
                        labels_by_run[(mode, level)] = [d.labels[args.category] for d in decisions]
                        if args.logs:
                            write_decision_log(decisions, args.logs / f"{mode}-c{level}.parquet")
                    print(json.dumps({**common, "mode": mode, "concurrency": level, "cache": temperature, **numbers}), flush=True)
            if args.injection:
                def judge(category: str, mode: str = mode) -> LLMEngine:
                    return LLMEngine(backend, bundle, mode=mode, categories=[category], max_tokens=args.max_tokens,
                                     concurrency=max(levels))

                report = injection_report(judge)
                print(json.dumps({**common, "mode": mode, "injection": {
                    "probes": report.probes, "injected_flagged": report.injected_flagged,
                    "control_flagged": report.control_flagged, "injected_violating": report.injected_violating,
                    "control_violating": report.control_violating, "effect": report.injection_effect,
                    "resisted_where_control_flagged": report.resisted_where_control_flagged,
                    "per_probe": report.per_probe}}), flush=True)

    summary: dict[str, object] = {}
    low, high = min(levels), max(levels)
    for level in levels:
        if {"single", "tree"} <= set(modes):
            s, t = results[("single", level, "cold")], results[("tree", level, "cold")]
            summary[f"tree_over_single_tokens_in_c{level}"] = ratio(t["tokens_in_per_decision"], s["tokens_in_per_decision"])
            summary[f"tree_over_single_tokens_out_c{level}"] = ratio(t["tokens_out_per_decision"], s["tokens_out_per_decision"])
            summary[f"tree_over_single_decisions_per_s_c{level}"] = ratio(t["decisions_per_s"], s["decisions_per_s"])
    for mode in modes:
        if high != low:
            summary[f"{mode}_c{high}_over_c{low}_decisions_per_s"] = ratio(
                results[(mode, high, "cold")]["decisions_per_s"], results[(mode, low, "cold")]["decisions_per_s"])
            same = np.mean([a == b for a, b in zip(labels_by_run[(mode, low)], labels_by_run[(mode, high)])])
            summary[f"{mode}_label_agreement_c{low}_vs_c{high}"] = round(float(same), 4)
        for level in levels:
            summary[f"{mode}_c{level}_warm_over_cold_decisions_per_s"] = ratio(
                results[(mode, level, "warm")]["decisions_per_s"], results[(mode, level, "cold")]["decisions_per_s"])
    print(json.dumps({**common, "summary": summary}), flush=True)


if __name__ == "__main__":
    main()
