"""A backend for any OpenAI-compatible chat-completions server (vLLM, llama.cpp server,
Ollama, hosted APIs) over httpx, with the politeness a batch job needs: timeouts, retries
with exponential backoff and jitter on transport errors, 429 and 5xx (a server's
Retry-After is honoured), a concurrency cap and a requests-per-second limit. Structured
output uses `response_format` json_schema when the server accepts it and falls back to a
plain JSON instruction when it does not."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from charter.engines.llm.backend import Backend, BackendError, Completion, Message, TokenLogprob
from charter.errors import CharterError

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class OpenAIConfig:
    """Where the server is and how hard to push it."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_s: float = 0.5
    concurrency: int = 4
    requests_per_second: float | None = None
    json_schema: bool = True

    @classmethod
    def from_env(cls, base_url: str | None = None, model: str | None = None, api_key: str | None = None, **options: Any) -> OpenAIConfig:
        """Arguments win over CHARTER_LLM_BASE_URL / CHARTER_LLM_MODEL / CHARTER_LLM_API_KEY."""
        base_url = base_url or os.environ.get("CHARTER_LLM_BASE_URL")
        model = model or os.environ.get("CHARTER_LLM_MODEL")
        if not base_url:
            raise CharterError("no LLM server given: pass --base-url (or set CHARTER_LLM_BASE_URL), or use --embedded")
        if not model:
            raise CharterError("no LLM model given: pass --model (or set CHARTER_LLM_MODEL)")
        return cls(base_url=base_url, model=model, api_key=api_key or os.environ.get("CHARTER_LLM_API_KEY"), **options)


class RateLimiter:
    """Spaces request starts at least 1/rate seconds apart across threads."""

    def __init__(self, per_second: float | None):
        self._interval = 1.0 / per_second if per_second else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            time.sleep(start - now)


def chat_url(base_url: str) -> str:
    """The chat-completions endpoint for a base URL given with or without /v1."""
    base = base_url.rstrip("/")
    return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"


def schema_instruction(json_schema: dict[str, Any]) -> str:
    """The fallback for servers without structured output: the schema, stated in words."""
    return (
        "\n\nReply with exactly one JSON object that validates against this JSON schema, and nothing else:\n"
        + json.dumps(json_schema.get("schema", json_schema), sort_keys=True)
    )


class OpenAIBackend(Backend):
    """Chat completions against `config.base_url`; thread-safe, one pooled httpx client."""

    name = "openai"

    def __init__(self, config: OpenAIConfig, *, transport: httpx.BaseTransport | None = None):
        self.config = config
        self.model = config.model
        self.url = chat_url(config.base_url)
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._client = httpx.Client(timeout=config.timeout_s, headers=headers, transport=transport)
        self._slots = threading.BoundedSemaphore(max(1, config.concurrency))
        self._limiter = RateLimiter(config.requests_per_second)
        self._json_schema = config.json_schema

    def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int = 512,
        seed: int | None = None,
        logprobs: bool = False,
    ) -> Completion:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        if seed is not None:
            payload["seed"] = seed
        if logprobs:
            payload["logprobs"] = True
        if json_schema is not None and self._json_schema:
            try:
                return self._post({**payload, "response_format": {"type": "json_schema", "json_schema": json_schema}})
            except _Rejected:
                pass  # perhaps no structured output here: try the schema in words once
        if json_schema is not None:
            payload["messages"] = _with_instruction(messages, schema_instruction(json_schema))
        try:
            completion = self._post(payload)
        except _Rejected as rejected:
            raise BackendError(f"{self.url} rejected the request: HTTP 400: {rejected}") from None
        if json_schema is not None:
            self._json_schema = False  # it worked without response_format: stop sending it
        return completion

    def _post(self, payload: dict[str, Any]) -> Completion:
        """One request with retries on transport errors, 429 and 5xx; latency is the time the
        request held a slot (waiting for the concurrency cap is not the server's latency)."""
        attempts = self.config.max_retries + 1
        for attempt in range(attempts):
            self._limiter.wait()
            retry_after: float | None = None
            try:
                with self._slots:
                    started = time.perf_counter()
                    response = self._client.post(self.url, json=payload)
                    latency_ms = (time.perf_counter() - started) * 1000.0
            except httpx.RequestError as exc:  # connect/read/write errors, timeouts, bad encodings
                problem = f"{type(exc).__name__}: {exc or 'no detail'}"
            else:
                if response.status_code == 200:
                    return _completion(response, latency_ms)
                if response.status_code == 400:
                    raise _Rejected(response.text[:300])
                problem = f"HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code not in RETRY_STATUS:
                    raise BackendError(f"{self.url}: {problem}")
                retry_after = _retry_after(response)
            if attempt + 1 < attempts:
                time.sleep(self.backoff(attempt, retry_after))
        raise BackendError(f"{self.url}: {problem} (after {attempts} attempts)")

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before retry `attempt` + 1: exponential with jitter (so parallel workers do
        not retry in lockstep), at least what the server's Retry-After asks, at most 30 s."""
        exponential = self.config.backoff_s * 2**attempt * random.uniform(0.5, 1.0)
        return min(MAX_BACKOFF_S, max(exponential, retry_after or 0.0))

    def close(self) -> None:
        self._client.close()


class _Rejected(Exception):
    """HTTP 400: the server refused the request as given."""


def _retry_after(response: httpx.Response) -> float | None:
    """A Retry-After given in seconds (the HTTP-date form is rare from model servers)."""
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def _with_instruction(messages: list[Message], instruction: str) -> list[Message]:
    if messages and messages[0]["role"] == "system":
        return [{**messages[0], "content": messages[0]["content"] + instruction}, *messages[1:]]
    return [{"role": "system", "content": instruction.strip()}, *messages]


def _completion(response: httpx.Response, latency_ms: float) -> Completion:
    try:
        body = response.json()
        choice = body["choices"][0]
        text = choice["message"].get("content") or ""
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise BackendError(f"the server's reply is not a chat completion: {exc}") from None
    usage = body.get("usage") or {}
    content = (choice.get("logprobs") or {}).get("content")
    logprobs = [TokenLogprob(t["token"], float(t["logprob"])) for t in content] if content else None
    return Completion(
        text=text,
        tokens_in=int(usage.get("prompt_tokens") or 0),
        tokens_out=int(usage.get("completion_tokens") or 0),
        latency_ms=latency_ms,
        logprobs=logprobs,
        raw={"id": body.get("id"), "model": body.get("model"), "finish_reason": choice.get("finish_reason")},
    )
