"""A scripted backend: replies come from a list or a function, so the engine's logic (parsing,
repair, escalation, votes, tree walks, caching) is tested deterministically without a model."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from charter.engines.llm.backend import Backend, BackendError, Completion, Message

Reply = str | Completion | BaseException
Script = Sequence[Reply] | Callable[[list[Message], dict[str, Any]], Reply]


class ReplayBackend(Backend):
    """Replays `script`: a list consumed in order, or a function of (messages, options).

    A reply may be a string (the reply text), a Completion, or an exception to raise (a
    `BackendError` such as a timeout). Every call is kept in `calls` for assertions.
    """

    name = "replay"

    def __init__(self, script: Script, *, model: str = "replay-model", tokens_in: int = 10, tokens_out: int = 5):
        self.model = model
        self._script = script
        self._next = 0
        self._lock = threading.Lock()
        self._tokens = (tokens_in, tokens_out)
        self.calls: list[tuple[list[Message], dict[str, Any]]] = []

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
        options = {
            "json_schema": json_schema,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "seed": seed,
            "logprobs": logprobs,
        }
        with self._lock:
            self.calls.append((list(messages), options))
            if callable(self._script):
                reply = self._script(list(messages), options)
            else:
                if self._next >= len(self._script):
                    raise BackendError(f"replay script exhausted after {len(self._script)} replies")
                reply = self._script[self._next]
                self._next += 1
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, Completion):
            return reply
        return Completion(text=reply, tokens_in=self._tokens[0], tokens_out=self._tokens[1])
