"""Decision-log throughput: build, write, slice (score_arrays), query (DuckDB) and read back.

    .venv/bin/python bench/decision_log_bench.py [--n 1000000]

Prints one JSON line of timings (seconds) and rates (decisions per second).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from charter.records import Decision
from charter.store.decision_log import open_log, read_decision_log, score_arrays, write_decision_log

CATEGORIES = ["hate", "harassment", "violent_threats", "self_harm", "adult_sexual", "spam_scams", "synthetic_media"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    n = parser.parse_args().n
    rng = np.random.default_rng(13)
    scores = rng.random((n, len(CATEGORIES)))
    timings: dict[str, float] = {}

    start = time.perf_counter()
    decisions = [
        Decision(
            item_id=f"item-{i}",
            pathway="classifier",
            policy_id="charter-example",
            policy_version="1.0.0",
            policy_hash="0" * 64,
            scores=dict(zip(CATEGORIES, row)),
            labels={"hate": "violating" if row[0] > 0.9 else "allowed"},
            latency_ms=0.2,
        )
        for i, row in enumerate(scores.tolist())
    ]
    timings["build_s"] = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.parquet"
        start = time.perf_counter()
        write_decision_log(decisions, path)
        timings["write_s"] = time.perf_counter() - start
        start = time.perf_counter()
        _, arrays = score_arrays(path, CATEGORIES)
        timings["score_arrays_s"] = time.perf_counter() - start
        assert np.array_equal(arrays["hate"], scores[:, 0])
        start = time.perf_counter()
        open_log(path).execute("SELECT category, avg(score) FROM scores GROUP BY 1").fetchall()
        timings["duckdb_long_avg_s"] = time.perf_counter() - start
        start = time.perf_counter()
        back = read_decision_log(path)
        timings["read_s"] = time.perf_counter() - start
        assert back[-1] == decisions[-1]
        size = path.stat().st_size
    result = {
        "bench": "decision_log",
        "n": n,
        **{k: round(v, 3) for k, v in timings.items()},
        "write_per_s": round(n / timings["write_s"]),
        "read_per_s": round(n / timings["read_s"]),
        "file_mb": round(size / 2**20, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
