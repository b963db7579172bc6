"""Quality of the classifiers on the official (or seeded hold-out) test splits of the shared
datasets, in-domain and cross-dataset, side by side with alt-profanity-check on the same items.

Models (all trained on the same policy-mapped items, class-weighted, calibrated):

- `fast`: hashed word and char n-grams + SGD logistic regression (the at-scale model);
- `minilm`: all-MiniLM-L6-v2 sentence embeddings + a logistic-regression head;
- `minilm+fast`: the MiniLM head stacked on the cross-fitted fast model's scores (the
  stronger model: `EmbeddingTrainConfig(stack_fast=True)`);
- `model2vec`, `model2vec+fast`: the same with the static model distilled from MiniLM;
- `profanity-check`: alt-profanity-check's `predict_prob`, a generic offensive-language model
  whose one score stands in for every category (the comparison a team replacing it makes).

Settings:

- in-domain: one model per kind trained on the train splits of all six datasets (HateXplain,
  OLID, Davidson, GermEval 2018, COLD, SMS spam), tested on each test split;
- cross-dataset: for each English hate/offence set, models trained on the train splits of
  the other two, tested on its test split (how far a model carries to a new source).

Per (test split, category): F1 at score >= 0.5 and AUPRC with 95% bootstrap intervals
(`charter.evaluate.binary_metrics`), and for every model the paired-bootstrap AUPRC difference
against profanity-check on the same items (`charter.evaluate.compare`): "clearly better"
means that interval lies above zero. Embeddings are cached on disk per text, so re-runs only
pay for training. Needs ../shared/data (or $CHARTER_DATA_DIR). Prints one JSON line, then
markdown tables.

    pip install alt-profanity-check   # the `bench` extra
    python bench/bench_classifier_quality.py [--models fast minilm+fast] [--n-boot 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from profanity_check import predict_prob

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_embeddings import CachedEmbedder  # noqa: E402

from charter.datasets import apply_mapping, gold_arrays, load_mapping, load_split  # noqa: E402
from charter.datasets.apply import MappedSplit  # noqa: E402
from charter.engines.classifier import train_classifier  # noqa: E402
from charter.engines.classifier.embedders import distill_model2vec, load_embedder  # noqa: E402
from charter.engines.classifier.embeddings import EmbeddingTrainConfig, train_embedding_classifier  # noqa: E402
from charter.evaluate import binary_metrics  # noqa: E402
from charter.evaluate.compare import compare  # noqa: E402
from charter.policy.load import load_policy  # noqa: E402
from charter.policy.spec import Policy  # noqa: E402

POLICY = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples" / "policy.yaml"
DATASETS = ("hatexplain", "olid", "davidson", "germeval2018", "cold-chinese", "sms-spam")
CROSS = {  # held-out set -> training sets
    "hatexplain": ("davidson", "olid"),
    "davidson": ("hatexplain", "olid"),
    "olid": ("hatexplain", "davidson"),
}
CROSS_CATEGORIES = ("hate", "harassment")
MODELS = ("fast", "minilm", "minilm+fast", "model2vec", "model2vec+fast")
BASELINE = "profanity-check"
MIN_POSITIVES = 10  # below this a test split says little about a category
MIN_TRAIN = 20  # fewest positives and negatives a category needs to be trained


def mapped(policy: Policy, name: str, split: str) -> MappedSplit:
    data = load_split(name, split, source="shared")
    return apply_mapping(data, load_mapping(name, policy), policy)


def trainer(kind: str, embedders: dict[str, CachedEmbedder]) -> Callable[..., Any]:
    """A function (texts, gold, policy, label_mappings) -> fitted model, for one model kind."""
    if kind == "fast":
        return lambda texts, gold, policy, mappings: train_classifier(texts, gold, policy, label_mappings=mappings)
    backend, _, stacked = kind.partition("+")
    config = EmbeddingTrainConfig(stack_fast=bool(stacked))
    return lambda texts, gold, policy, mappings: train_embedding_classifier(
        texts, gold, policy, embedders[backend], config, label_mappings=mappings
    )


def capped(part: MappedSplit, limit: int) -> MappedSplit:
    """A seeded sample of at most `limit` items of a training split (0: all); the same rows
    whichever setting asks, so embeddings cached for one setting serve the others."""
    if not limit or len(part.items) <= limit:
        return part
    rows = np.sort(np.random.default_rng(0).choice(len(part.items), limit, replace=False))
    return dataclasses.replace(part, items=[part.items[i] for i in rows], labels=[part.labels[i] for i in rows])


def training_data(parts: Sequence[MappedSplit], categories: Sequence[str] | None = None) -> tuple[list[str], dict[str, np.ndarray], dict[str, str]]:
    texts = [i.text for p in parts for i in p.items]
    labels = [label for p in parts for label in p.labels]
    wanted = categories or tuple(dict.fromkeys(c for p in parts for c in p.mapping.categories))
    gold = gold_arrays(labels, wanted)
    gold = {c: g for c, g in gold.items() if min(np.nansum(g), np.sum(g == 0)) >= MIN_TRAIN}
    return texts, gold, {p.dataset: p.mapping.version for p in parts}


def metrics(gold: np.ndarray, scores: np.ndarray, n_boot: int) -> dict[str, Any]:
    m = binary_metrics(gold, y_score=scores, threshold=0.5, n_boot=n_boot, seed=0)

    def iv(name: str) -> list[float] | None:
        interval = m.intervals.get(name)
        return [round(interval.low, 4), round(interval.high, 4)] if interval else None

    return {"f1": m.f1, "f1_ci": iv("f1"), "auprc": m.auprc, "auprc_ci": iv("auprc"), "precision": m.precision, "recall": m.recall}


def versus_baseline(gold: np.ndarray, baseline: np.ndarray, ours: np.ndarray, n_boot: int) -> dict[str, Any]:
    """Paired-bootstrap AUPRC difference (ours - baseline) on the same items."""
    known = ~np.isnan(gold)
    c = compare(gold[known], baseline[known] >= 0.5, ours[known] >= 0.5, score_a=baseline[known], score_b=ours[known], n_boot=n_boot, seed=0)
    d = c.auprc
    interval = [round(d.interval.low, 4), round(d.interval.high, 4)] if d and d.interval else None
    return {"auprc_diff": d.difference if d else None, "auprc_diff_ci": interval, "clearly_better": bool(interval and interval[0] > 0)}


def evaluate(setting: str, models: dict[str, Any], test: MappedSplit, categories: Sequence[str], baseline: np.ndarray, n_boot: int) -> list[dict]:
    texts = [i.text for i in test.items]
    scores = {kind: model.score(texts).scores for kind, model in models.items()}
    gold = gold_arrays(test.labels, categories)
    rows = []
    for category in categories:
        g = gold[category]
        known = ~np.isnan(g)
        positives = int(np.nansum(g))
        if positives < MIN_POSITIVES or positives == int(known.sum()):
            continue
        row: dict[str, Any] = {"setting": setting, "test": f"{test.dataset}:{test.split}", "category": category,
                               "n": int(known.sum()), "positives": positives, BASELINE: metrics(g, baseline, n_boot)}  # fmt: skip
        for kind, by_category in scores.items():
            if category in by_category:
                row[kind] = {**metrics(g, by_category[category], n_boot), **versus_baseline(g, baseline, by_category[category], n_boot)}
        rows.append(row)
    return rows


def _cell(m: dict | None, name: str) -> str:
    if not m or m.get(name) is None:
        return "—"
    iv = m.get(f"{name}_ci")
    return f"{m[name]:.3f}" + (f" [{iv[0]:.2f}, {iv[1]:.2f}]" if iv else "")


def markdown(rows: list[dict], kinds: Sequence[str]) -> str:
    out = []
    for metric in ("auprc", "f1"):
        columns = [*kinds, BASELINE]
        lines = [f"{metric.upper()} (95% bootstrap interval){'; * = paired AUPRC difference vs profanity-check > 0' if metric == 'auprc' else ' at score >= 0.5'}",
                 "", "| setting | test split | category | n | pos | " + " | ".join(columns) + " |",
                 "|---|---|---|---:|---:|" + "---|" * len(columns)]  # fmt: skip
        for r in rows:
            cells = []
            for kind in columns:
                mark = "*" if metric == "auprc" and r.get(kind, {}).get("clearly_better") else ""
                cells.append(_cell(r.get(kind), metric) + mark)
            lines.append(f"| {r['setting']} | {r['test']} | {r['category']} | {r['n']:,} | {r['positives']:,} | " + " | ".join(cells) + " |")
        out.append("\n".join(lines))
    return "\n\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--no-cross", action="store_true", help="in-domain only")
    parser.add_argument("--tests", nargs="+", choices=DATASETS, default=list(DATASETS), help="test splits to score (default: all six)")
    parser.add_argument("--max-train", type=int, default=0, help="train every model on at most this many items per training split (seeded; 0: all)")
    parser.add_argument("--cache", type=Path, default=Path("~/.cache/charter/bench-embeddings").expanduser())
    args = parser.parse_args()
    policy = load_policy(POLICY)
    started = time.perf_counter()
    backends = {kind.partition("+")[0] for kind in args.models if kind != "fast"}
    if "model2vec" in backends:
        distill_model2vec()
    embedders = {name: CachedEmbedder(load_embedder(name), args.cache) for name in sorted(backends)}
    trainers = {kind: trainer(kind, embedders) for kind in args.models}

    tests = {name: mapped(policy, name, "test") for name in args.tests}
    baselines = {name: np.asarray(predict_prob([i.text for i in t.items]), dtype=np.float64) for name, t in tests.items()}
    rows: list[dict] = []
    seconds: dict[str, dict[str, float]] = {}

    def report(new_rows: list[dict]) -> None:
        """Keep rows, and show each on stderr as it is measured (a long run can be read as it goes)."""
        rows.extend(new_rows)
        for row in new_rows:
            print(json.dumps(row), file=sys.stderr)

    def train_all(setting: str, texts: list[str], gold: dict[str, np.ndarray], mappings: dict[str, str]) -> dict[str, Any]:
        models = {}
        for kind, fit in trainers.items():
            t0 = time.perf_counter()
            models[kind] = fit(texts, gold, policy, mappings)
            seconds.setdefault(setting, {})[kind] = round(time.perf_counter() - t0, 1)
            print(f"{setting}: trained {kind} in {seconds[setting][kind]}s", file=sys.stderr)
        return models

    train_splits = {name: capped(mapped(policy, name, "train"), args.max_train) for name in DATASETS}
    texts, gold, mappings = training_data(list(train_splits.values()))
    counts = {c: {"known": int((~np.isnan(g)).sum()), "positive": int(np.nansum(g))} for c, g in gold.items()}
    models = train_all("in-domain", texts, gold, mappings)
    for name, test in tests.items():
        report(evaluate("in-domain (all six)", models, test, tuple(test.mapping.categories), baselines[name], args.n_boot))

    if not args.no_cross:
        for held_out, sources in ((h, s) for h, s in CROSS.items() if h in tests):
            setting = f"cross: train {'+'.join(sources)}"
            cross = train_all(setting, *training_data([train_splits[name] for name in sources], CROSS_CATEGORIES))
            report(evaluate(setting, cross, tests[held_out], CROSS_CATEGORIES, baselines[held_out], args.n_boot))

    result = {
        "bench": "classifier_quality",
        "models": list(args.models),
        "model_ids": {kind: m.card.model_id for kind, m in models.items()},
        "training_counts_all_six": counts,
        "train_seconds": seconds,
        "max_train_per_split": args.max_train or None,
        "threshold": 0.5,
        "n_boot": args.n_boot,
        "baseline": {"package": "alt-profanity-check", "version": version("alt-profanity-check")},
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
    }
    print(json.dumps(result))
    print()
    print(markdown(rows, args.models))


if __name__ == "__main__":
    main()
