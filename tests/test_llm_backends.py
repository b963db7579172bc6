"""OpenAIBackend against scripted HTTP (httpx.MockTransport) and a closed port: payloads,
structured-output fallback, retries with backoff, non-retryable errors, rate limiting."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from charter.engines.llm import BackendError, LLMEngine, OpenAIBackend, OpenAIConfig
from charter.engines.llm.embedded import free_port
from charter.engines.llm.openai import RateLimiter, chat_url
from charter.errors import CharterError
from llm_helpers import items, minimal_bundle

SCHEMA = {"name": "s", "strict": True, "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}


def ok(content: str = '{"a": "b"}', logprobs: list | None = None) -> httpx.Response:
    choice = {"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    if logprobs is not None:
        choice["logprobs"] = {"content": logprobs}
    return httpx.Response(200, json={"id": "x", "model": "m", "choices": [choice], "usage": {"prompt_tokens": 7, "completion_tokens": 3}})


def backend(handler, **options) -> tuple[OpenAIBackend, list[dict]]:
    sent: list[dict] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append({"url": str(request.url), "auth": request.headers.get("authorization"), **json.loads(request.content)})
        return handler(len(sent))

    config = OpenAIConfig(base_url="http://llm.test/v1", model="m1", api_key="k", backoff_s=0.001, **options)
    return OpenAIBackend(config, transport=httpx.MockTransport(record)), sent


def test_request_carries_schema_sampling_and_key_and_reads_usage() -> None:
    client, sent = backend(lambda n: ok(logprobs=[{"token": '{"a', "logprob": -0.5}]))
    done = client.complete([{"role": "user", "content": "hi"}], json_schema=SCHEMA, temperature=0.2, max_tokens=9, seed=4, logprobs=True)
    [request] = sent
    assert request["url"] == "http://llm.test/v1/chat/completions" and request["auth"] == "Bearer k"
    assert request["response_format"] == {"type": "json_schema", "json_schema": SCHEMA}
    assert (request["temperature"], request["max_tokens"], request["seed"], request["logprobs"]) == (0.2, 9, 4, True)
    assert (done.text, done.tokens_in, done.tokens_out) == ('{"a": "b"}', 7, 3)
    assert done.logprobs[0].logprob == -0.5 and done.latency_ms >= 0


def test_server_without_structured_output_gets_the_schema_in_words() -> None:
    client, sent = backend(lambda n: httpx.Response(400, json={"error": "response_format not supported"}) if n == 1 else ok())
    client.complete([{"role": "system", "content": "S"}, {"role": "user", "content": "u"}], json_schema=SCHEMA)
    client.complete([{"role": "user", "content": "u"}], json_schema=SCHEMA)
    assert "response_format" in sent[0] and "response_format" not in sent[1]
    assert sent[1]["messages"][0]["content"].startswith("S\n\nReply with exactly one JSON object")
    assert '"properties"' in sent[1]["messages"][0]["content"]
    assert len(sent) == 3 and "response_format" not in sent[2]  # remembered: no second refusal
    assert sent[2]["messages"][0]["role"] == "system"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retryable_statuses_are_retried_with_backoff(status: int) -> None:
    client, sent = backend(lambda n: httpx.Response(status, text="busy") if n < 3 else ok(), max_retries=3)
    assert client.complete([{"role": "user", "content": "u"}]).text == '{"a": "b"}'
    assert len(sent) == 3


def test_retries_run_out_into_a_backend_error() -> None:
    client, sent = backend(lambda n: httpx.Response(503, text="down"), max_retries=2)
    with pytest.raises(BackendError, match=r"HTTP 503.*after 3 attempts"):
        client.complete([{"role": "user", "content": "u"}])
    assert len(sent) == 3


def test_client_errors_are_not_retried() -> None:
    client, sent = backend(lambda n: httpx.Response(401, text="bad key"), max_retries=3)
    with pytest.raises(BackendError, match="HTTP 401"):
        client.complete([{"role": "user", "content": "u"}])
    assert len(sent) == 1


def test_timeouts_are_retried_then_reported() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadTimeout("timed out", request=request)

    client = OpenAIBackend(OpenAIConfig("http://llm.test", "m", max_retries=1, backoff_s=0.001), transport=httpx.MockTransport(handler))
    with pytest.raises(BackendError, match="ReadTimeout"):
        client.complete([{"role": "user", "content": "u"}])
    assert len(calls) == 2


def test_a_reply_that_is_not_a_chat_completion_is_a_backend_error() -> None:
    client, _ = backend(lambda n: httpx.Response(200, json={"unexpected": True}))
    with pytest.raises(BackendError, match="not a chat completion"):
        client.complete([{"role": "user", "content": "u"}])


def test_connection_refused_escalates_every_item_with_the_reason() -> None:
    dead = OpenAIBackend(OpenAIConfig(f"http://127.0.0.1:{free_port()}", "m", max_retries=1, backoff_s=0.001, timeout_s=2))
    decisions = LLMEngine(dead, minimal_bundle(), categories=["spam_scams"]).decide(items("a", "b"))
    for d in decisions:
        assert d.labels == {"spam_scams": "needs_review"} and d.action == "review"
        reason = d.extra["llm"]["categories"]["spam_scams"]["reason"]
        assert reason.startswith("backend error:") and "ConnectError" in reason and "after 2 attempts" in reason


def test_config_from_env_and_missing_settings(monkeypatch) -> None:
    monkeypatch.setenv("CHARTER_LLM_BASE_URL", "http://env.test")
    monkeypatch.setenv("CHARTER_LLM_MODEL", "env-model")
    monkeypatch.setenv("CHARTER_LLM_API_KEY", "secret")
    config = OpenAIConfig.from_env()
    assert (config.base_url, config.model, config.api_key) == ("http://env.test", "env-model", "secret")
    assert OpenAIConfig.from_env(model="other").model == "other"
    monkeypatch.delenv("CHARTER_LLM_BASE_URL")
    with pytest.raises(CharterError, match="--base-url"):
        OpenAIConfig.from_env()
    assert chat_url("http://h:1/") == "http://h:1/v1/chat/completions"


def test_rate_limiter_spaces_requests() -> None:
    limiter = RateLimiter(20.0)
    started = time.monotonic()
    for _ in range(5):
        limiter.wait()
    assert time.monotonic() - started >= 0.19


def test_a_bad_request_that_is_not_about_the_schema_is_reported_and_schema_kept() -> None:
    client, sent = backend(lambda n: httpx.Response(400, text="context length exceeded") if n <= 2 else ok())
    with pytest.raises(BackendError, match="context length exceeded"):
        client.complete([{"role": "user", "content": "u"}], json_schema=SCHEMA)
    client.complete([{"role": "user", "content": "u"}], json_schema=SCHEMA)
    assert "response_format" in sent[2]  # structured output was not given up on


def engine_over(handler, **options) -> LLMEngine:
    config = OpenAIConfig(base_url="http://llm.test/v1", model="m1", backoff_s=0.001, **options)
    return LLMEngine(OpenAIBackend(config, transport=httpx.MockTransport(handler)), minimal_bundle(), categories=["spam_scams"])


def completion_with(content) -> httpx.Response:
    return httpx.Response(200, json={"choices": [{"message": {"content": content}, "finish_reason": "stop"}], "usage": {}})


def read_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


@pytest.mark.parametrize(
    "handler, reason",
    [
        (lambda r: completion_with(""), "the reply was empty"),
        (lambda r: completion_with(None), "the reply was empty"),
        (lambda r: completion_with("Sure! This message looks fine to me."), "no JSON object"),
        (lambda r: completion_with('{"label": "allowed", "confidence": 2}'), "does not match the output schema"),
        (lambda r: completion_with('{"label": "allowed", "rule_ids": [], "tree_path": ["s1"], "outcome": "scam", '
                                   '"confidence": 0.9, "rationale": "x"}'), "outcome 'scam' has label 'violating'"),
        (lambda r: httpx.Response(500, text="model crashed"), "HTTP 500: model crashed (after 2 attempts)"),
        (lambda r: httpx.Response(200, text="<html>proxy error</html>"), "not a chat completion"),
        (read_timeout, "ReadTimeout: timed out (after 2 attempts)"),
    ],
    ids=["empty", "null", "prose", "schema", "tree", "http-500", "not-a-completion", "timeout"],
)
def test_every_failure_over_http_escalates_with_its_reason(handler, reason: str) -> None:
    decisions = engine_over(handler, max_retries=1).decide(items("a", "b", "c"))
    assert len(decisions) == 3  # nothing lost
    for d in decisions:
        assert d.labels == {"spam_scams": "needs_review"} and d.action == "review" and d.escalation_queue == "ts_review"
        detail = d.extra["llm"]["categories"]["spam_scams"]
        assert detail["escalated"] and reason in detail["reason"]
        assert "spam_scams" not in d.scores  # no made-up score either


def test_the_concurrency_cap_holds_across_threads() -> None:
    lock, state = threading.Lock(), {"now": 0, "most": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.03)
        with lock:
            state["now"] -= 1
        return ok()

    client = OpenAIBackend(OpenAIConfig("http://llm.test", "m", concurrency=2), transport=httpx.MockTransport(handler))
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: client.complete([{"role": "user", "content": "u"}]), range(12)))
    assert state["most"] == 2


def test_backoff_is_exponential_with_jitter_and_honours_retry_after(monkeypatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("charter.engines.llm.openai.time.sleep", slept.append)
    responses = [httpx.Response(503), httpx.Response(503), httpx.Response(429, headers={"Retry-After": "7"}), ok()]
    client, _ = backend(lambda n: responses[n - 1], max_retries=3)
    client.config = OpenAIConfig("http://llm.test/v1", "m1", backoff_s=1.0, max_retries=3)
    client.complete([{"role": "user", "content": "u"}])
    assert 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 2.0 and slept[2] == 7.0
    assert client.backoff(20) == 30.0  # capped
