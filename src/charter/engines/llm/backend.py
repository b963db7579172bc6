"""The one interface every LLM backend obeys: chat messages in, a Completion out.

Engines, the cache and the tests only see `Backend.complete`, so a hosted API, a local
llama.cpp server and a scripted replay are interchangeable. Transport failures (timeouts,
refused connections, server errors after retries) raise `BackendError`; the engine turns
them into escalations, never into an "allow".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, str]


class BackendError(RuntimeError):
    """The backend could not produce a completion (transport, timeout, HTTP error)."""


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token with its log-probability (natural log)."""

    token: str
    logprob: float


@dataclass(frozen=True)
class Completion:
    """One model reply: its text, usage, timing and (when asked for) token logprobs."""

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    logprobs: list[TokenLogprob] | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    cached: bool = False


class Backend(ABC):
    """Anything that completes a chat; `name` and `model` identify it in caches and decisions."""

    name: str
    model: str

    @abstractmethod
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
        """One completion; `json_schema` is an OpenAI json_schema entry ({name, strict, schema})."""

    def close(self) -> None:
        """Release connections; the default holds none."""
