"""Throughput of evasion normalization and fast-classifier scoring, per core.

Trains the fast classifier on the train splits of the shared datasets that have label
mappings onto the example policy, then times, in one process with BLAS pinned to one thread:

- normalize() alone, over 100k short texts;
- end to end (normalize + features + calibrated scores for every category), over the same.

Rates are per CPU-second of the process (one core) and per wall second. Two corpora of 100k
texts: `repeated` is Davidson tweets repeated (the per-word char-n-gram
cache is warm after the first 25k), `distinct` is distinct texts from several datasets (the
honest number for new traffic). Prints one JSON line.

    python bench/bench_normalize_score.py [--n 100000]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from charter.datasets import apply_mapping, gold_arrays, load_mapping, load_split  # noqa: E402
from charter.engines.classifier import TrainedClassifier, train_classifier  # noqa: E402
from charter.engines.normalize import normalize  # noqa: E402
from charter.policy.load import load_policy  # noqa: E402

POLICY = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples" / "policy.yaml"
TRAIN_SETS = ("davidson", "sms-spam", "olid", "toxic-spans", "twitter_suicidal_intention", "tweepfake")
DISTINCT_SETS = ("davidson", "hatexplain", "olid", "cyberbullying_tweets", "tweepfake", "sms-spam", "twitter_suicidal_intention")


def train_model() -> TrainedClassifier:
    policy = load_policy(POLICY)
    texts: list[str] = []
    gold: dict[str, list[float]] = {c: [] for c in policy.category_ids()}
    for name in TRAIN_SETS:
        mapped = apply_mapping(load_split(name, "train"), load_mapping(name, policy), policy)
        arrays = gold_arrays(mapped.labels, list(gold))
        texts += [item.text for item in mapped.items]
        for category in gold:
            gold[category] += arrays[category].tolist()
    trainable = {}
    for category, values in gold.items():
        array = np.asarray(values)
        known = array[~np.isnan(array)]
        if known.size and 20 <= known.sum() <= known.size - 20:
            trainable[category] = array
    return train_classifier(texts, trainable, policy)


def corpora(n: int) -> dict[str, list[str]]:
    tweets = [item.text for item in load_split("davidson", "all").items]
    seen: dict[str, None] = {}
    for name in DISTINCT_SETS:
        for item in load_split(name, "all").items:
            seen.setdefault(item.text, None)
    distinct = [t for t in seen if 0 < len(t) <= 400]
    return {"repeated": (tweets * (n // len(tweets) + 1))[:n], "distinct": distinct[:n]}


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()

    started = time.perf_counter()
    model = train_model()
    train_seconds = time.perf_counter() - started
    results: dict[str, object] = {
        "bench": "normalize_score",
        "categories": model.categories,
        "train_rows": sum(c["known"] for c in model.card.training_counts.values()),
        "train_seconds": round(train_seconds, 1),
    }
    texts_by_corpus = corpora(args.n)
    # Loading left millions of objects behind; park them outside the cyclic GC, as a
    # long-running scorer would, so that collections do not rescan them in the timed loops.
    gc.collect()
    gc.freeze()
    for name, texts in texts_by_corpus.items():
        w0, c0 = time.perf_counter(), time.process_time()
        for text in texts:
            normalize(text)
        w1, c1 = time.perf_counter(), time.process_time()
        fresh = TrainedClassifier(model.card, model.weights, model.intercepts)  # cold word cache
        scored = fresh.score(texts)
        w2, c2 = time.perf_counter(), time.process_time()
        results[name] = {
            "n_items": len(texts),
            "mean_chars": round(float(np.mean([len(t) for t in texts])), 1),
            "normalize_items_per_s_per_core": rate(len(texts), c1 - c0),
            "end_to_end_items_per_s_per_core": rate(len(texts), c2 - c1),
            "normalize_items_per_s_wall": rate(len(texts), w1 - w0),
            "end_to_end_items_per_s_wall": rate(len(texts), w2 - w1),
            "flagged_share": round(float(np.mean([bool(f) for f in scored.fired])), 4),
        }
    results.update(
        python=platform.python_version(),
        machine=platform.machine(),
        cpus=os.cpu_count(),
        note="single process, BLAS pinned to one thread; per_core = items per CPU-second of this "
        "process (robust to other load on the machine), wall = items per elapsed second; "
        "end_to_end = normalize + features + calibrated scores",
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
