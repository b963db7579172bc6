"""Fast-classifier throughput at 100k / 1M / 4M short texts, beside alt-profanity-check.

The parent trains the fast classifier on the train splits of six shared datasets (as
bench_classifier_quality does), saves it, and writes a pool of the real short texts (<= 280
characters) of those datasets. Each (engine, size) then runs in its own single-threaded
subprocess (BLAS pinned to one thread), which draws `size` texts from the pool (seeded,
with repetition, in shuffled order) batch by batch and scores them as a stream: the fast
model with normalization included (`TrainedClassifier.score`: normalize, features,
calibrated scores for every category), and alt-profanity-check's `predict_prob`. Nothing
but one batch is held, so peak RSS per size shows whether memory stays flat.

`charter_parquet` is the whole batch-scoring path a user runs (`charter classifier batch`,
`engines.scale.score_parquet` in-process): a Parquet file of `size` items (written by the
parent beforehand, untimed) is read batch by batch, normalized, scored, routed by the
example bundle's thresholds and written as a Parquet decision log; its peak RSS is the
"memory stays flat as the input grows" number.

Rates are items per CPU-second of the process (one core) and per wall second. Texts repeat
(the pool holds ~100k distinct texts), so the per-word char-n-gram cache is warm after the
first batches; bench_normalize_score.py has the cold, all-distinct number. Prints one JSON
line, then a markdown table.

    pip install alt-profanity-check   # the `bench` extra
    python bench/bench_classifier_throughput.py [--sizes 100000 1000000 4000000]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

BATCH = 8192
MAX_CHARS = 280
SIZES = (100_000, 1_000_000, 4_000_000)
ENGINES = ("charter", "profanity_check", "charter_parquet")
DATASETS = ("hatexplain", "olid", "davidson", "germeval2018", "cold-chinese", "sms-spam")
POLICY = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples" / "policy.yaml"


def _rss_mib() -> float:
    """Peak resident memory of this process (VmHWM). Not getrusage's ru_maxrss: on Linux it
    survives exec, so a child would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(workdir: Path) -> dict:
    """Train and save the model; write the text pool. Returns facts for the report."""
    from charter.compile import compile_policy, write_bundle
    from charter.datasets import apply_mapping, gold_arrays, load_mapping, load_split
    from charter.engines.classifier import save_model, train_classifier
    from charter.policy.load import load_policy

    policy = load_policy(POLICY)
    texts: list[str] = []
    labels = []
    pool: list[str] = []
    for name in DATASETS:
        mapping = load_mapping(name, policy)
        train = apply_mapping(load_split(name, "train", source="shared"), mapping, policy)
        texts += [i.text for i in train.items]
        labels += train.labels
        pool += [i.text for i in load_split(name, "all", source="shared").items if 0 < len(i.text) <= MAX_CHARS]
    gold = gold_arrays(labels, ["hate", "harassment", "spam_scams"])
    model = train_classifier(texts, gold, policy)
    save_model(model, workdir / "model")
    write_bundle(compile_policy(policy), workdir / "bundle")
    pq.write_table(pa.table({"text": pool}), workdir / "pool.parquet")
    lengths = np.fromiter((len(t) for t in pool), dtype=np.int64, count=len(pool))
    return {"model": model.card.model_id, "pool_texts": len(pool), "pool_distinct": len(set(pool)),
            "mean_chars": round(float(lengths.mean()), 1), "median_chars": int(np.median(lengths))}  # fmt: skip


def write_items(workdir: Path, size: int) -> Path:
    """`size` pooled texts (seeded draw, as the streaming children use) as a Parquet item file."""
    pool = pq.read_table(workdir / "pool.parquet").column("text")
    path = workdir / f"items-{size}.parquet"
    rng = np.random.default_rng(size)
    with pq.ParquetWriter(path, pa.schema([("id", pa.string()), ("text", pa.string())]), compression="zstd") as writer:
        for start in range(0, size, 1 << 18):
            n = min(1 << 18, size - start)
            ids = pa.array([f"item-{k}" for k in range(start, start + n)])
            writer.write_table(pa.table({"id": ids, "text": pool.take(pa.array(rng.integers(0, len(pool), n)))}))
    return path


def parquet_child(size: int, workdir: Path) -> dict:
    """`charter classifier batch` in-process: Parquet items in, Parquet decision log out."""
    from charter.engines.scale import score_parquet

    items = workdir / f"items-{size}.parquet"
    warm = workdir / "items-warm.parquet"
    pq.write_table(pa.Table.from_batches([next(pq.ParquetFile(items).iter_batches(batch_size=BATCH))]), warm)  # not the whole file
    score_parquet(workdir / "model", workdir / "bundle", warm, workdir / "warm-log.parquet", batch_size=BATCH)
    rss_ready = _rss_mib()
    cpu, wall = time.process_time(), time.perf_counter()
    result = score_parquet(workdir / "model", workdir / "bundle", items, workdir / "log.parquet", batch_size=BATCH)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert result.rows == size
    (workdir / "log.parquet").unlink()
    return {"engine": "charter_parquet", "size": size, "cpu_seconds": round(cpu, 2), "wall_seconds": round(wall, 2),
            "items_per_cpu_second": round(size / cpu), "items_per_wall_second": round(size / wall),
            "rss_ready_mib": round(rss_ready, 1), "peak_rss_mib": round(_rss_mib(), 1)}  # fmt: skip


def child(engine: str, size: int, workdir: Path) -> dict:
    """Score `size` pooled texts in streamed batches; one JSON object of timings and memory."""
    if engine == "charter_parquet":
        return parquet_child(size, workdir)
    pool = pq.read_table(workdir / "pool.parquet").column("text").to_pylist()
    score: Callable[[Sequence[str]], object]
    if engine == "charter":
        from charter.engines.classifier import load_model

        model = load_model(workdir / "model")
        score = model.score
    else:
        from profanity_check import predict_prob

        score = predict_prob
    score(pool[:BATCH])  # warm-up: imports, first allocations
    rss_ready = _rss_mib()
    rng = np.random.default_rng(size)
    cpu, wall = time.process_time(), time.perf_counter()
    done = 0
    while done < size:
        n = min(BATCH, size - done)
        score([pool[i] for i in rng.integers(0, len(pool), n)])
        done += n
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"engine": engine, "size": size, "cpu_seconds": round(cpu, 2), "wall_seconds": round(wall, 2),
            "items_per_cpu_second": round(size / cpu), "items_per_wall_second": round(size / wall),
            "rss_ready_mib": round(rss_ready, 1), "peak_rss_mib": round(_rss_mib(), 1)}  # fmt: skip


def markdown(runs: list[dict]) -> str:
    lines = ["| engine | texts | items/s/core | items/s (wall) | RSS ready (MiB) | peak RSS (MiB) |", "|---|---:|---:|---:|---:|---:|"]
    for r in runs:
        lines.append(f"| {r['engine']} | {r['size']:,} | {r['items_per_cpu_second']:,} | {r['items_per_wall_second']:,} | "
                     f"{r['rss_ready_mib']:,.0f} | {r['peak_rss_mib']:,.0f} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "SIZE", "WORKDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        engine, size, workdir = args.child
        print(json.dumps(child(engine, int(size), Path(workdir))))
        return
    with tempfile.TemporaryDirectory(prefix="charter-throughput-") as tmp:
        workdir = Path(tmp)
        facts = prepare(workdir)
        runs = []
        for size in args.sizes:
            if "charter_parquet" in args.engines:
                write_items(workdir, size)
            for engine in args.engines:
                out = subprocess.run([sys.executable, __file__, "--child", engine, str(size), str(workdir)],
                                     check=True, capture_output=True, text=True)  # fmt: skip
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(f"{engine} {size:,}: {runs[-1]['items_per_cpu_second']:,} items/s/core", file=sys.stderr)
    rates = {(r["engine"], r["size"]): r["items_per_cpu_second"] for r in runs}
    ratios = {f"{engine}/profanity_check@{size}": round(rates[engine, size] / rates["profanity_check", size], 2)
              for (engine, size) in rates if engine != "profanity_check" and ("profanity_check", size) in rates}  # fmt: skip
    result = {
        "bench": "classifier_throughput",
        **facts,
        "ratios_items_per_cpu_second": ratios,
        "batch": BATCH,
        "baseline": {"package": "alt-profanity-check", "version": version("alt-profanity-check")},
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "runs": runs,
    }
    print(json.dumps(result))
    print()
    print(markdown(runs))


if __name__ == "__main__":
    main()
