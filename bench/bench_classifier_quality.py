"""Quality of the fast classifier on the official (or seeded hold-out) test splits of the
shared datasets, in-domain and cross-dataset, side by side with alt-profanity-check.

- in-domain: one model trained on the train splits of all six datasets (HateXplain, OLID,
  Davidson, GermEval 2018, COLD, SMS spam), tested on each test split;
- cross-dataset: for each English hate/offence set, a model trained on the train splits of
  the other two and tested on its test split (how far the model carries to new sources).

Per (test split, category): F1 at score >= 0.5 and AUPRC, each with a 95% bootstrap interval
from the evaluation core, for the fast model and for alt-profanity-check's `predict_prob` on
the same items (a generic offensive-language model: its one score stands in for every
category, which is the comparison a team replacing it would make). Needs ../shared/data
(or $CHARTER_DATA_DIR). Prints one JSON line, then a markdown table.

    pip install alt-profanity-check   # the `bench` extra
    python bench/bench_classifier_quality.py [--n-boot 1000]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
from profanity_check import predict_prob

from charter.datasets import apply_mapping, gold_arrays, load_mapping, load_split
from charter.datasets.apply import MappedSplit
from charter.engines.classifier import TrainedClassifier, train_classifier
from charter.evaluate import binary_metrics
from charter.policy.load import load_policy
from charter.policy.spec import Policy

POLICY = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples" / "policy.yaml"
DATASETS = ("hatexplain", "olid", "davidson", "germeval2018", "cold-chinese", "sms-spam")
CROSS = {  # held-out set -> training sets
    "hatexplain": ("davidson", "olid"),
    "davidson": ("hatexplain", "olid"),
    "olid": ("hatexplain", "davidson"),
}
CROSS_CATEGORIES = ("hate", "harassment")
MIN_POSITIVES = 10  # below this a test split says little about a category


def mapped(policy: Policy, name: str, split: str) -> MappedSplit:
    data = load_split(name, split, source="shared")
    return apply_mapping(data, load_mapping(name, policy), policy)


def train(policy: Policy, parts: list[MappedSplit], categories: tuple[str, ...] | None = None) -> TrainedClassifier:
    texts = [i.text for p in parts for i in p.items]
    labels = [label for p in parts for label in p.labels]
    wanted = categories or tuple(dict.fromkeys(c for p in parts for c in p.mapping.categories))
    gold = gold_arrays(labels, wanted)
    gold = {c: g for c, g in gold.items() if min(np.nansum(g), np.sum(g == 0)) >= 20}
    return train_classifier(texts, gold, policy, label_mappings={p.dataset: p.mapping.version for p in parts})


def metrics(gold: np.ndarray, scores: np.ndarray, n_boot: int) -> dict[str, float | list[float] | None]:
    m = binary_metrics(gold, y_score=scores, threshold=0.5, n_boot=n_boot, seed=0)

    def iv(name: str) -> list[float] | None:
        interval = m.intervals.get(name)
        return [round(interval.low, 4), round(interval.high, 4)] if interval else None

    return {"f1": m.f1, "f1_ci": iv("f1"), "auprc": m.auprc, "auprc_ci": iv("auprc"), "precision": m.precision, "recall": m.recall}


def evaluate(setting: str, model: TrainedClassifier, test: MappedSplit, categories: tuple[str, ...], n_boot: int) -> list[dict]:
    texts = [i.text for i in test.items]
    ours = model.score(texts).scores
    baseline = np.asarray(predict_prob(texts), dtype=np.float64)
    gold = gold_arrays(test.labels, categories)
    rows = []
    for category in categories:
        if category not in ours:
            continue
        g = gold[category]
        known = ~np.isnan(g)
        positives = int(np.nansum(g))
        if positives < MIN_POSITIVES or positives == int(known.sum()):
            continue
        rows.append(
            {
                "setting": setting,
                "test": f"{test.dataset}:{test.split}",
                "category": category,
                "n": int(known.sum()),
                "positives": positives,
                "charter": metrics(g, ours[category], n_boot),
                "profanity_check": metrics(g, baseline, n_boot),
            }
        )
    return rows


def markdown(rows: list[dict]) -> str:
    def cell(m: dict, name: str) -> str:
        value, iv = m[name], m[f"{name}_ci"]
        if value is None:
            return "—"
        return f"{value:.3f}" + (f" [{iv[0]:.2f}, {iv[1]:.2f}]" if iv else "")

    lines = [
        "| setting | test split | category | n | pos | Charter F1 | profanity-check F1 | Charter AUPRC | profanity-check AUPRC |",
        "|---|---|---|---:|---:|---|---|---|---|",
    ]
    for r in rows:
        c, p = r["charter"], r["profanity_check"]
        lines.append(
            f"| {r['setting']} | {r['test']} | {r['category']} | {r['n']:,} | {r['positives']:,} | "
            f"{cell(c, 'f1')} | {cell(p, 'f1')} | {cell(c, 'auprc')} | {cell(p, 'auprc')} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-boot", type=int, default=1000)
    args = parser.parse_args()
    policy = load_policy(POLICY)
    started = time.perf_counter()
    rows: list[dict] = []

    tests = {name: mapped(policy, name, "test") for name in DATASETS}
    model = train(policy, [mapped(policy, name, "train") for name in DATASETS])
    train_seconds = time.perf_counter() - started
    for name, test in tests.items():
        rows += evaluate("in-domain (all six)", model, test, tuple(test.mapping.categories), args.n_boot)

    for held_out, sources in CROSS.items():
        cross = train(policy, [mapped(policy, name, "train") for name in sources], CROSS_CATEGORIES)
        rows += evaluate(f"cross: train {'+'.join(sources)}", cross, tests[held_out], CROSS_CATEGORIES, args.n_boot)

    result = {
        "bench": "classifier_quality",
        "model": model.card.model_id,
        "training_counts": model.card.training_counts,
        "train_seconds_all_six": round(train_seconds, 1),
        "threshold": 0.5,
        "n_boot": args.n_boot,
        "baseline": {"package": "alt-profanity-check", "version": version("alt-profanity-check")},
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
    }
    print(json.dumps(result))
    print()
    print(markdown(rows))


if __name__ == "__main__":
    main()
