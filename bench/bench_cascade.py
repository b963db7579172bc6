"""Cost and quality of the enforcement pathways on real data: classifier only, LLM only and
the cascade (rules → classifier → LLM for the uncertain band → human review), under the
example policy, on balanced samples of official test splits.

For each run and dataset: the share of items decided at each stage (rules, classifier, llm,
human), LLM calls per 1,000 items, wall time, and per category F1 with a 95% bootstrap
interval from the evaluation core, twice: counting a needs_review item as not flagged (what
the machines enforce on their own) and as if reviewers then agree with the gold label (the
quality the whole system reaches, paid for with the human share).

The classifier is trained on the train splits of the same datasets (needs ../shared/data or
$CHARTER_DATA_DIR), or reused from --classifier. The LLM is a local llama.cpp server (the packaged SmolLM2-135M unless
--packaged qwen2.5-coder-1.5b or --gguf says otherwise), or any OpenAI-compatible server
(--base-url/--model). Samples
are balanced (half violating), so precision is not production precision; they compare the
pathways on the same items.

    python bench/bench_cascade.py --n 100                      # SmolLM2, ~tens of minutes on 2 cores
    python bench/bench_cascade.py --no-llm --n 400             # classifier and cascade without an LLM
    python bench/bench_cascade.py --base-url http://localhost:8000/v1 --model my-model

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from charter.compile import LoadedBundle, compile_policy, load_bundle, write_bundle
from charter.datasets import apply_mapping, gold_arrays, load_mapping, load_split
from charter.datasets.apply import MappedSplit
from charter.engines.base import Engine
from charter.engines.cascade import build_cascade
from charter.engines.classifier import ClassifierEngine, TrainedClassifier, load_model, save_model, train_classifier
from charter.engines.llm import Backend, LLMEngine, LocalLlamaServer, OpenAIBackend, OpenAIConfig
from charter.evaluate import binary_metrics
from charter.policy.load import load_policy_source
from charter.records import ContentItem, Decision, Label

POLICY = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples" / "policy.yaml"
DATASETS = {"sms-spam": ("spam_scams",), "hatexplain": ("hate",)}
STAGES = ("rules", "classifier", "llm", "human")


def mapped(bundle: LoadedBundle, name: str, split: str) -> MappedSplit:
    return apply_mapping(load_split(name, split, source="shared"), load_mapping(name, bundle.policy), bundle.policy)


def train(bundle: LoadedBundle, names: Sequence[str]) -> TrainedClassifier:
    parts = [mapped(bundle, name, "train") for name in names]
    texts = [i.text for p in parts for i in p.items]
    categories = tuple(dict.fromkeys(c for name in names for c in DATASETS[name]))
    gold = gold_arrays([label for p in parts for label in p.labels], categories)
    return train_classifier(texts, gold, bundle.policy, label_mappings={p.dataset: p.mapping.version for p in parts})


def balanced(split: MappedSplit, category: str, n: int, seed: int) -> tuple[list[ContentItem], list[Label]]:
    """n items of the split with a known label for `category`, half violating, seeded."""
    rng = np.random.default_rng(seed)
    pairs = list(zip(split.items, split.labels))
    chosen = []
    for verdict, count in (("violating", n // 2), ("allowed", n - n // 2)):
        pool = [p for p in pairs if p[1].labels.get(category) == verdict]
        chosen += [pool[i] for i in sorted(rng.choice(len(pool), size=min(count, len(pool)), replace=False))]
    chosen.sort(key=lambda p: p[0].id)
    return [i for i, _ in chosen], [lab for _, lab in chosen]


def stage_of(engine: Engine, decision: Decision, escalate: str) -> str:
    if decision.pathway == "cascade":
        return str(decision.extra["decided_by"])
    return "human" if decision.action == escalate else decision.pathway


def llm_calls(decision: Decision) -> int:
    if decision.pathway == "cascade":
        return int(decision.extra["stages"].get("llm", {}).get("calls", 0))
    return int(decision.extra.get("llm", {}).get("calls", 0))


def f1(gold: np.ndarray, predicted: np.ndarray, n_boot: int) -> dict[str, Any]:
    m = binary_metrics(gold, y_pred=predicted.astype(float), n_boot=n_boot, seed=0)
    interval = m.intervals.get("f1")
    return {
        "f1": None if m.f1 is None else round(m.f1, 4),
        "ci": [round(interval.low, 4), round(interval.high, 4)] if interval else None,
        "precision": None if m.precision is None else round(m.precision, 4),
        "recall": None if m.recall is None else round(m.recall, 4),
    }


def measure(engine: Engine, items: list[ContentItem], labels: list[Label], categories: Sequence[str],
            escalate: str, n_boot: int) -> dict[str, Any]:  # fmt: skip
    started = time.perf_counter()
    decisions = engine.decide(items)
    wall = time.perf_counter() - started
    stages = Counter(stage_of(engine, d, escalate) for d in decisions)
    gold = gold_arrays(labels, list(categories))
    quality = {}
    for category in categories:
        verdicts = np.array([d.labels.get(category, "allowed") for d in decisions])
        enforced = verdicts == "violating"
        with_review = enforced | ((verdicts == "needs_review") & (gold[category] == 1))
        quality[category] = {"machines_alone": f1(gold[category], enforced, n_boot),
                             "reviewers_agree_with_gold": f1(gold[category], with_review, n_boot),
                             "review_share": round(float(np.mean(verdicts == "needs_review")), 4)}  # fmt: skip
    calls = sum(llm_calls(d) for d in decisions)
    return {
        "engine": engine.name,
        "items": len(items),
        "decided_by": {s: round(stages.get(s, 0) / len(items), 4) for s in STAGES},
        "llm_calls_per_1000": round(1000.0 * calls / len(items), 1),
        "tokens_in_per_item": round(float(np.mean([d.tokens_in or 0 for d in decisions])), 1),
        "wall_s": round(wall, 2),
        "ms_per_item": round(1000.0 * wall / len(items), 2),
        "quality": quality,
    }


def backend_for(args: argparse.Namespace, stack: contextlib.ExitStack) -> tuple[Backend | None, str]:
    if args.no_llm:
        return None, "none"
    if args.base_url:
        backend = OpenAIBackend(OpenAIConfig.from_env(args.base_url, args.model, concurrency=args.concurrency, timeout_s=300.0))
        return backend, backend.model
    server = stack.enter_context(
        LocalLlamaServer(args.gguf, n_ctx=args.ctx, parallel=args.concurrency, threads=args.threads, packaged=args.packaged)
    )
    backend = server.backend()
    return backend, backend.model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"comma-separated, of: {', '.join(DATASETS)}")
    parser.add_argument("--n", type=int, default=100, help="items per dataset (balanced)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--mode", default="single", choices=("single", "tree"))
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads (local server)")
    parser.add_argument("--ctx", type=int, default=4096, help="context tokens per slot (local server)")
    parser.add_argument("--gguf", type=Path, default=None, help="GGUF model file for the local server")
    parser.add_argument("--packaged", default=None,
                        help="packaged model for the local server: smollm2 (default) or qwen2.5-coder-1.5b")  # fmt: skip
    parser.add_argument("--base-url", help="OpenAI-compatible server instead of the local one")
    parser.add_argument("--model", help="model name on --base-url")
    parser.add_argument("--no-llm", action="store_true", help="skip the LLM: classifier only, and the cascade without it")
    parser.add_argument("--classifier", type=Path, default=None,
                        help="classifier directory: reused if it holds a model, else trained once and saved there")  # fmt: skip
    args = parser.parse_args()
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(DATASETS)}")

    started = time.perf_counter()
    source = load_policy_source(POLICY)
    bundle_dir = Path(tempfile.mkdtemp(prefix="charter-bench-cascade-"))
    write_bundle(compile_policy(source.policy, source), bundle_dir)
    bundle = load_bundle(bundle_dir)
    escalate = next(a.id for a in bundle.policy.actions if a.kind.value == "escalate")
    if args.classifier is not None and (args.classifier / "model.json").is_file():
        model = load_model(args.classifier)
    else:
        model = train(bundle, names)
        if args.classifier is not None:
            save_model(model, args.classifier)
    train_s = time.perf_counter() - started

    results: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        backend, llm_name = backend_for(args, stack)
        llm_options = {"max_tokens": args.max_tokens, "concurrency": args.concurrency}
        for name in names:
            categories = DATASETS[name]
            items, labels = balanced(mapped(bundle, name, "test"), categories[0], args.n, args.seed)
            engines: dict[str, Engine] = {"classifier_only": ClassifierEngine(model, bundle)}
            if backend is not None:
                engines["llm_only"] = LLMEngine(backend, bundle, mode=args.mode, categories=list(categories), **llm_options)
            engines["cascade"] = build_cascade(bundle, model, backend, llm_mode=args.mode, categories=list(categories),
                                               **(llm_options if backend else {}))  # fmt: skip
            results[name] = {
                run: measure(engine, items, labels, categories, escalate, args.n_boot) for run, engine in engines.items()
            }
    print(json.dumps({
        "bench": "cascade",
        "policy": str(bundle.identity),
        "classifier": model.card.model_id,
        "train_s": round(train_s, 1),
        "llm": llm_name,
        "llm_mode": args.mode,
        "n_per_dataset": args.n,
        "seed": args.seed,
        "results": results,
        "seconds": round(time.perf_counter() - started, 1),
        "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
