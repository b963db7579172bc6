"""Durability: a real `charter serve` (uvicorn) process moderates vendored-sample items over
HTTP and is killed with SIGKILL mid-load; the store, reopened, holds every decision that was
acknowledged, exactly as it was returned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from charter.compile.loader import LoadedBundle
from charter.engines.llm.embedded import free_port
from charter.records import ContentItem, Decision
from charter.service.export import export_decision_log
from charter.service.log import get_decision
from charter.service.store import ServiceStore
from service_support import bundle, model_dir, sample_items  # noqa: F401

ADMIN = "chtr_" + "crash-test-admin-token-0123456789abcdef"
SERVE = "import typer; from charter.cli.serve_cmd import serve; typer.run(serve)"


def _start(tmp_path: Path, bundle_dir: Path, model_dir: Path, url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, "--bundle", str(bundle_dir), "--model", str(model_dir), "--db", url,
         "--port", str(port), "--log-level", "warning"],
        env={**os.environ, "CHARTER_ADMIN_KEY": ADMIN}, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / "serve.log").read_text()
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("charter serve did not become healthy: " + (tmp_path / "serve.log").read_text())


def test_sigkill_loses_no_acknowledged_decision(
    tmp_path: Path, bundle: LoadedBundle, model_dir: Path, sample_items: list[ContentItem]
) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    process, base = _start(tmp_path, bundle.root, model_dir, url)
    acknowledged: dict[str, Decision] = {}
    enough = threading.Event()
    lock = threading.Lock()

    def send(worker: int) -> None:
        with httpx.Client(base_url=base, headers={"X-API-Key": ADMIN}, timeout=10) as client:
            for item in sample_items[worker::4] * 20:
                try:
                    response = client.post("/v1/moderate", json=item.model_dump(mode="json"))
                except httpx.TransportError:
                    return  # the server is gone; this request was never acknowledged
                assert response.status_code == 200, response.text
                decision = Decision.model_validate(response.json()["decision"])
                with lock:
                    acknowledged[decision.decision_id] = decision
                    if len(acknowledged) >= 60:
                        enough.set()

    workers = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    try:
        for worker in workers:
            worker.start()
        assert enough.wait(60), "the server acknowledged too few decisions"
        os.killpg(process.pid, signal.SIGKILL)  # mid-load: requests are in flight
        process.wait(10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        for worker in workers:
            worker.join(30)
    assert process.returncode == -signal.SIGKILL

    store = ServiceStore(url)  # reopens cleanly: schema intact after the crash
    with store.transaction() as session:
        for decision_id, decision in acknowledged.items():
            logged = get_decision(session, decision_id)
            assert logged is not None, f"acknowledged decision {decision_id} was lost"
            assert logged.decision == decision
    exported = export_decision_log(store, tmp_path / "after.parquet")
    assert exported.decisions >= len(acknowledged)
    store.close()
