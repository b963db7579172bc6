"""A persistent completion cache (SQLite), so re-running an evaluation or a back-test on the
same items, prompts and model costs nothing. The key covers everything that changes a reply:
backend, model, sampling parameters, the full messages (which carry the policy-stamped
prompt) and the output schema. Only successful completions are stored: errors are retried."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from charter.engines.llm.backend import Backend, Completion, Message, TokenLogprob
from charter.errors import CharterError

SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    tokens_in INTEGER NOT NULL,
    tokens_out INTEGER NOT NULL,
    logprobs TEXT,
    raw TEXT NOT NULL
)
"""


def cache_key(backend: Backend, messages: list[Message], options: dict[str, Any]) -> str:
    """sha256 over backend, model, parameters, messages and schema (canonical JSON)."""
    material = {"backend": backend.name, "model": backend.model, "messages": messages, **options}
    return hashlib.sha256(json.dumps(material, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


class CompletionCache:
    """One SQLite file of completions; safe to share between threads of one process."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(SCHEMA)
            self._db.commit()
        except sqlite3.Error as exc:
            raise CharterError(f"cannot open the LLM cache {self.path}: {exc}") from None
        self._lock = threading.Lock()

    def get(self, key: str) -> Completion | None:
        with self._lock:
            row = self._db.execute(
                "SELECT text, tokens_in, tokens_out, logprobs, raw FROM completions WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        text, tokens_in, tokens_out, logprobs, raw = row
        tokens = [TokenLogprob(**t) for t in json.loads(logprobs)] if logprobs else None
        return Completion(text, tokens_in, tokens_out, 0.0, tokens, json.loads(raw), cached=True)

    def put(self, key: str, model: str, completion: Completion) -> None:
        logprobs = json.dumps([asdict(t) for t in completion.logprobs]) if completion.logprobs else None
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO completions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, model, completion.text, completion.tokens_in, completion.tokens_out, logprobs,
                 json.dumps(completion.raw, default=str)),
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedBackend(Backend):
    """Wraps a backend: a hit returns the stored completion marked `cached`, with no call made."""

    def __init__(self, inner: Backend, cache: CompletionCache):
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.model = inner.model

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
        key = cache_key(self.inner, messages, options)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        completion = self.inner.complete(messages, **options)
        self.cache.put(key, self.inner.model, completion)
        return completion

    def close(self) -> None:
        self.inner.close()
        self.cache.close()
