"""The enforcement service under load: a real `charter serve` (one uvicorn process, decisions
committed to the store before each response) driven by wrk on loopback with POST bodies of
real vendored-sample items, for the classifier path (cascade: rules + classifier + human) and
the full cascade with the LLM band served by a local llama.cpp server (SmolLM2-135M).

Side by side on the same run and the same items, the same engine called in-process without
HTTP (`engine`), and the service core without HTTP (`core`: engine + store commit), so the
costs of the store and of HTTP are ratios, not guesses:

    python bench/bench_service_load.py                     # SQLite store, 10 s + 180 s of load
    python bench/bench_service_load.py --db postgresql://postgres@127.0.0.1:5432/bench --no-llm

Prints one JSON line. Latencies are per request (one item each), in milliseconds; `http` is
under `--connections` concurrent connections (its latency includes queueing), and
`http_1_connection` one request at a time, comparable with the sequential in-process runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from charter.cli.serve_cmd import example_artifacts
from charter.compile import load_bundle
from charter.datasets import load_split
from charter.engines.base import Engine
from charter.engines.llm import LocalLlamaServer, OpenAIBackend, OpenAIConfig
from charter.engines.llm.embedded import free_port
from charter.records import ContentItem
from charter.service.engines import EngineRecipe
from charter.service.export import pages
from charter.service.moderation import ModerationService
from charter.service.store import ServiceStore
from charter.store.sql import migrate

DATASETS = ("sms-spam", "olid", "davidson", "hatexplain", "toxic-spans")
ADMIN = "chtr_" + "bench-service-load-admin-token-000000"
SERVE = "import typer; from charter.cli.serve_cmd import serve; typer.run(serve)"
WRK = "/usr/bin/wrk"
LUA = r"""
local bodies = {}
for line in io.lines(os.getenv("CHARTER_BENCH_BODIES")) do bodies[#bodies + 1] = line end
local headers = {["Content-Type"] = "application/json", ["X-API-Key"] = os.getenv("CHARTER_BENCH_KEY")}
local n = math.random(#bodies)
request = function()
  n = n % #bodies + 1
  return wrk.format("POST", "/v1/moderate", headers, bodies[n])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def note(message: str) -> None:
    print(f"[bench_service_load] {message}", file=sys.stderr, flush=True)


def sample_items(n: int) -> list[ContentItem]:
    """Up to n real items, interleaved across the sample's test splits."""
    per = [load_split(name, "test", source="sample").items for name in DATASETS]
    mixed = [item for group in zip(*per) for item in group] + [i for g in per for i in g[min(map(len, per)):]]
    return mixed[:n]


def stats(latencies_s: list[float], wall_s: float) -> dict[str, float]:
    ms = np.asarray(latencies_s) * 1000.0
    return {
        "requests": len(ms),
        "rps": round(len(ms) / wall_s, 3),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
    }


def timed(call: Callable[[ContentItem], Any], items: list[ContentItem], seconds: float) -> dict[str, float]:
    """Call `call` on one item at a time, cycling through `items`, for `seconds`."""
    latencies, started, i = [], time.perf_counter(), 0
    while time.perf_counter() - started < seconds or i < 3:
        t = time.perf_counter()
        call(items[i % len(items)])
        latencies.append(time.perf_counter() - t)
        i += 1
    return stats(latencies, time.perf_counter() - started)


@contextlib.contextmanager
def serving(work: Path, bundle: Path, model: Path, db: str, llm: tuple[str, str] | None) -> Iterator[str]:
    """A `charter serve` subprocess on a free loopback port; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-c", SERVE, "--bundle", str(bundle), "--model", str(model), "--db", db,
               "--port", str(port), "--log-level", "warning"]
    if llm:
        command += ["--llm-url", llm[0], "--llm-model", llm[1]]
    log = (work / f"serve-{port}.log").open("w")
    process = subprocess.Popen(command, env={**os.environ, "CHARTER_ADMIN_KEY": ADMIN}, stdout=log,
                               stderr=subprocess.STDOUT, cwd=work, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("charter serve did not start:\n" + (work / f"serve-{port}.log").read_text())
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # graceful: in-flight requests finish (LLM calls can be slow)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def wrk(base: str, bodies: Path, script: Path, threads: int, connections: int, seconds: int, timeout_s: int) -> dict[str, Any]:
    env = {**os.environ, "CHARTER_BENCH_BODIES": str(bodies), "CHARTER_BENCH_KEY": ADMIN}
    done = subprocess.run(
        [WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout_s}s", "-s", str(script), f"{base}/v1/moderate"],
        env=env, capture_output=True, text=True, check=True,
    )
    raw = json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 3),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "errors": {k: raw[k] for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts") if raw[k]},
        "threads": threads,
        "connections": connections,
        "seconds": seconds,
    }


def stored(db: str) -> dict[str, Any]:
    """What the service committed: decisions, who decided them, how many asked the LLM."""
    store = ServiceStore(db)
    by, asked, total = Counter(), 0, 0
    for page in pages(store):
        for logged in page:
            total += 1
            by[logged.decided_by] += 1
            asked += "llm" in logged.decision.extra.get("stages", {})
    store.close()
    return {"decisions": total, "decided_by": dict(by.most_common()), "llm_asked_share": round(asked / max(total, 1), 3)}


def phase(name: str, args: argparse.Namespace, work: Path, bundle: Path, model: Path, items: list[ContentItem],
          engine: Engine, llm: tuple[str, str] | None, seconds: int, connections: int) -> dict[str, Any]:
    """One path measured three ways on the same items: engine, core, HTTP."""
    bodies = work / f"{name}.jsonl"
    bodies.write_text("".join(item.model_dump_json(exclude_defaults=True) + "\n" for item in items), encoding="utf-8")
    script = work / "post.lua"
    script.write_text(LUA, encoding="utf-8")
    note(f"{name}: the engine in-process for {seconds / 2:.0f} s")
    in_process = timed(lambda item: engine.decide([item]), items, seconds / 2)

    core_db = args.db or f"sqlite:///{work / f'{name}-core.db'}"
    migrate(core_db)
    core = ModerationService(ServiceStore(core_db), lambda bundle_, model_: engine)
    core.activate(bundle, model)
    key = core.create_key("bench", ["moderate"]).info.id
    note(f"{name}: the service core (engine + store) for {seconds / 2:.0f} s")
    core_run = timed(lambda item: core.moderate([item], route="/v1/moderate", batch=False, api_key_id=key), items, seconds / 2)
    core.store.close()

    http_db = args.db or f"sqlite:///{work / f'{name}-http.db'}"
    note(f"{name}: charter serve under wrk for {seconds // 2} s (1 connection: per-request latency, no queueing)")
    with serving(work, bundle, model, http_db, llm) as base:
        wrk(base, bodies, script, 1, 1, 2, args.timeout)  # warm-up
        # one connection first: requests a loaded run abandons at its end keep the server busy
        http_one = wrk(base, bodies, script, 1, 1, max(1, seconds // 2), args.timeout)
        note(f"{name}: charter serve under wrk for {seconds} s ({connections} connections)")
        http = wrk(base, bodies, script, args.threads, connections, seconds, args.timeout)
    return {
        "engine": engine.name,
        "http": http,
        "http_1_connection": http_one,
        "core_no_http": core_run,
        "engine_in_process": in_process,
        "ratios": {
            "engine_rps_over_http_rps": round(in_process["rps"] / http["rps"], 2) if http["rps"] else None,
            "core_rps_over_http_rps": round(core_run["rps"] / http["rps"], 2) if http["rps"] else None,
            "http_1_connection_p50_over_engine_p50": round(http_one["p50_ms"] / in_process["p50_ms"], 2) if http_one["requests"] else None,
            "core_p50_over_engine_p50": round(core_run["p50_ms"] / in_process["p50_ms"], 2),
        },
        "store": stored(http_db) if not args.db else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500, help="distinct sample items cycled through")
    parser.add_argument("--seconds", type=int, default=10, help="load duration of the classifier path")
    parser.add_argument("--llm-seconds", type=int, default=180, help="load duration of the LLM cascade")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (classifier path)")
    parser.add_argument("--llm-connections", type=int, default=4, help="wrk connections (LLM cascade)")
    parser.add_argument("--llm-parallel", type=int, default=2, help="llama.cpp slots")
    parser.add_argument("--timeout", type=int, default=120, help="wrk request timeout, seconds")
    parser.add_argument("--db", default=None, help="store URL (default: a fresh SQLite file per run)")
    parser.add_argument("--no-llm", action="store_true", help="classifier path only")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="charter-bench-service-") as tmp:
        work = Path(tmp)
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries the one JSON line
            bundle, model = example_artifacts(work / "example")
        items = sample_items(args.items)
        recipe = EngineRecipe()
        result: dict[str, Any] = {
            "bench": "service_load",
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_1m": round(os.getloadavg()[0], 2)},
            "store": "postgresql" if args.db and args.db.startswith("postgres") else "sqlite",
            "items": len(items),
        }
        loaded = load_bundle(bundle)
        result["classifier"] = phase("classifier", args, work, bundle, model, items, recipe(loaded, model), None,
                                     args.seconds, args.connections)
        if args.no_llm:
            result["cascade_llm"] = {"skipped": "--no-llm"}
        else:
            with LocalLlamaServer(parallel=args.llm_parallel) as server:
                backend = OpenAIBackend(OpenAIConfig.from_env(server.base_url, server.label))
                engine = EngineRecipe(backend)(loaded, model)
                result["cascade_llm"] = phase("cascade_llm", args, work, bundle, model, items, engine,
                                              (server.base_url, server.label), args.llm_seconds, args.llm_connections)
                result["cascade_llm"]["llm"] = {"server": "llama.cpp (xllamacpp)", "model": server.label, "slots": args.llm_parallel}
                backend.close()
        result["machine"]["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
