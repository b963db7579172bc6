"""One question to the model with exactly one repair attempt: if the reply fails validation,
the model sees its reply and the error once; a second failure (or a backend error) becomes an
`ExchangeFailed` carrying the reason and the raw replies, which the engine escalates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from charter.engines.llm.backend import Backend, BackendError, Completion, Message
from charter.engines.llm.verdict import VerdictError

T = TypeVar("T")

REPAIR = (
    "Your reply was not valid: {error}. Reply again with exactly one JSON object that follows "
    "the OUTPUT instructions, and nothing else."
)


@dataclass
class Usage:
    """Tokens, time and calls spent on one item; cached replies count apart and cost nothing."""

    tokens_in: int = 0
    tokens_out: int = 0
    cached_tokens_in: int = 0
    cached_tokens_out: int = 0
    latency_ms: float = 0.0
    calls: int = 0

    def add(self, completion: Completion) -> None:
        self.calls += 1
        if completion.cached:
            self.cached_tokens_in += completion.tokens_in
            self.cached_tokens_out += completion.tokens_out
        else:
            self.tokens_in += completion.tokens_in
            self.tokens_out += completion.tokens_out
            self.latency_ms += completion.latency_ms

    def merge(self, other: Usage) -> None:
        for name in ("tokens_in", "tokens_out", "cached_tokens_in", "cached_tokens_out", "latency_ms", "calls"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Sampling:
    """How each call samples; `seed` is offset per self-consistency sample."""

    temperature: float = 0.0
    max_tokens: int = 512
    seed: int | None = 0
    logprobs: bool = False


@dataclass
class ExchangeFailed(Exception):
    """No valid reply after the repair attempt (or the backend failed)."""

    reason: str
    raw: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.reason


def ask(
    backend: Backend,
    messages: list[Message],
    schema: dict[str, Any],
    read: Callable[[str], T],
    sampling: Sampling,
    usage: Usage,
) -> tuple[T, Completion]:
    """`read` turns reply text into a value or raises VerdictError; one repair on failure."""
    raw: list[str] = []
    conversation = list(messages)
    error = ""
    for attempt in range(2):
        try:
            completion = backend.complete(
                conversation,
                json_schema=schema,
                temperature=sampling.temperature,
                max_tokens=sampling.max_tokens,
                seed=sampling.seed,
                logprobs=sampling.logprobs,
            )
        except BackendError as exc:
            raise ExchangeFailed(f"backend error: {exc}", raw) from None
        usage.add(completion)
        raw.append(completion.text)
        try:
            return read(completion.text), completion
        except VerdictError as exc:
            error = str(exc)
            if completion.raw.get("finish_reason") == "length":
                error += f" (the reply was cut off at max_tokens={sampling.max_tokens})"
        conversation = [
            *messages,
            {"role": "assistant", "content": completion.text},
            {"role": "user", "content": REPAIR.format(error=error)},
        ]
    raise ExchangeFailed(f"invalid reply after one repair attempt: {error}", raw)
