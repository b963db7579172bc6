"""A persistent completion cache (SQLite), so re-running an evaluation or a back-test on the
same items, prompts and model costs nothing.

The key is a sha256 over its named parts, each also stored in its own column so a cache can
be inspected and pruned (all entries of one policy version, one model): the backend, the
model, the sampling parameters with the output schema, the policy hash the prompts were
compiled from, the prompt hash (the system messages) and the content hash (the rest of the
conversation, which carries the item). Only completions with text are stored: a transport
error or an empty reply is tried again next time, never replayed.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from charter.engines.llm.backend import Backend, Completion, Message, TokenLogprob
from charter.errors import CharterError

FORMAT = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    params_hash TEXT NOT NULL,
    policy_hash TEXT,
    prompt_hash TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    tokens_in INTEGER NOT NULL,
    tokens_out INTEGER NOT NULL,
    logprobs TEXT,
    raw TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CacheKey:
    """The parts a reply depends on, and the key they hash to."""

    backend: str
    model: str
    params_hash: str
    policy_hash: str | None
    prompt_hash: str
    content_hash: str

    @property
    def key(self) -> str:
        return _digest(asdict(self))


def cache_key(backend: Backend, messages: list[Message], options: dict[str, Any], policy_hash: str | None = None) -> CacheKey:
    """Split a request into its key parts: system messages are the prompt, the rest the content."""
    prompt = [m for m in messages if m["role"] == "system"]
    content = [m for m in messages if m["role"] != "system"]
    return CacheKey(
        backend=backend.name,
        model=backend.model,
        params_hash=_digest(options),
        policy_hash=policy_hash,
        prompt_hash=_digest(prompt),
        content_hash=_digest(content),
    )


class CompletionCache:
    """One SQLite file of completions; safe to share between threads and processes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            if self._db.execute("PRAGMA user_version").fetchone()[0] != FORMAT:
                # an older layout: a cache holds nothing that cannot be recomputed
                self._db.execute("DROP TABLE IF EXISTS completions")
                self._db.execute(f"PRAGMA user_version={FORMAT}")
            self._db.execute(SCHEMA)
            self._db.commit()
        except sqlite3.Error as exc:
            raise CharterError(f"cannot open the LLM cache {self.path}: {exc}") from None
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> Completion | None:
        with self._lock:
            row = self._db.execute(
                "SELECT text, tokens_in, tokens_out, logprobs, raw FROM completions WHERE key = ?", (key.key,)
            ).fetchone()
        if row is None:
            return None
        text, tokens_in, tokens_out, logprobs, raw = row
        tokens = [TokenLogprob(**t) for t in json.loads(logprobs)] if logprobs else None
        return Completion(text, tokens_in, tokens_out, 0.0, tokens, json.loads(raw), cached=True)

    def put(self, key: CacheKey, completion: Completion) -> None:
        logprobs = json.dumps([asdict(t) for t in completion.logprobs]) if completion.logprobs else None
        row = (
            key.key, key.backend, key.model, key.params_hash, key.policy_hash, key.prompt_hash, key.content_hash,
            completion.text, completion.tokens_in, completion.tokens_out, logprobs,
            json.dumps(completion.raw, default=str), time.time(),
        )
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO completions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedBackend(Backend):
    """Wraps a backend: a hit returns the stored completion marked `cached`, with no call made.

    `policy_hash` scopes entries to one policy version (the LLMEngine passes its bundle's);
    a reply is then never reused across policy versions, even where a prompt did not change.
    """

    def __init__(self, inner: Backend, cache: CompletionCache, *, policy_hash: str | None = None):
        self.inner = inner
        self.cache = cache
        self.policy_hash = policy_hash
        self.name = inner.name
        self.model = inner.model

    def scoped(self, policy_hash: str) -> CachedBackend:
        """The same backend and cache, scoped to `policy_hash`."""
        return self if policy_hash == self.policy_hash else CachedBackend(self.inner, self.cache, policy_hash=policy_hash)

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
        key = cache_key(self.inner, messages, options, self.policy_hash)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        completion = self.inner.complete(messages, **options)
        if completion.text.strip():
            self.cache.put(key, completion)
        return completion

    def close(self) -> None:
        self.inner.close()
        self.cache.close()
