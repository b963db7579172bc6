"""The enforcement workflow: check a request's limits, replay it if its idempotency key was
seen, decide it under one snapshot of the active bundle, and commit the decisions (with the
items and the key) before anything is returned. Also activating bundles and managing keys,
so the HTTP layer only translates."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic_core import PydanticSerializationError
from sqlalchemy.exc import IntegrityError

from charter.policy.hashing import PolicyIdentity
from charter.records import ContentItem, Decision
from charter.service import idempotency, keys
from charter.service.active import ActiveBundle, EngineFactory, Snapshot, prepare
from charter.service.errors import InvalidRequest, NotFound, PayloadTooLarge
from charter.service.keys import IssuedKey, KeyInfo
from charter.service.log import LoggedDecision, append_decisions, decisions_by_id, get_decision, record_activation
from charter.service.store import ServiceStore

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Limits:
    """What one request may hold (exceeding one is a 413 that names the field)."""

    max_text_bytes: int = 100_000
    max_batch_items: int = 100

    def check(self, items: Sequence[ContentItem], *, batch: bool) -> None:
        if batch and len(items) > self.max_batch_items:
            raise PayloadTooLarge(
                f"a batch holds at most {self.max_batch_items} items, this one {len(items)}; split it", field="items"
            )
        for index, item in enumerate(items):
            prefix = f"items[{index}]" if batch else ""
            try:
                size = len(item.text.encode("utf-8"))
                item.model_dump_json()
            except (UnicodeEncodeError, PydanticSerializationError):
                where = prefix or "item"
                raise InvalidRequest(
                    f"{where} holds an unpaired UTF-16 surrogate (a lone \\ud800-\\udfff escape); send valid Unicode",
                    field=where,
                ) from None
            if size > self.max_text_bytes:
                where = f"{prefix}.text" if prefix else "text"
                raise PayloadTooLarge(f"{where} is {size:,} bytes (UTF-8); the limit is {self.max_text_bytes:,}", field=where)


@dataclass(frozen=True)
class Moderated:
    """The answer to one moderation request."""

    decisions: list[Decision]
    policy: PolicyIdentity
    replayed: bool
    engine: str | None = None
    engine_seconds: float = 0.0
    store_seconds: float = 0.0


class ModerationService:
    """Moderation, the decision log, bundle activation and API keys over one store."""

    def __init__(self, store: ServiceStore, factory: EngineFactory, limits: Limits = Limits(), clock: Clock = utc_now):
        self.store = store
        self.factory = factory
        self.limits = limits
        self.clock = clock
        self.active = ActiveBundle()

    # ------------------------------------------------------------------ bundles

    def activate(self, bundle_dir: Path, model_dir: Path | None = None, *, api_key_id: str | None = None) -> tuple[Snapshot, Snapshot | None]:
        """Make a bundle active (with `model_dir`, default: the current snapshot's model).

        Swaps are serialised; the new snapshot is published only after it is verified, linted,
        built and its policy recorded in the store, so a refused bundle changes nothing.
        """
        with self.active.swap_lock:
            current = self.active.current
            chosen = model_dir if model_dir is not None else (current.model_dir if current else None)
            snapshot = prepare(bundle_dir, chosen, self.factory)
            with self.store.transaction() as session:
                record_activation(session, snapshot.bundle, snapshot.engine, api_key_id=api_key_id, now=self.clock())
            return snapshot, self.active.publish(snapshot)

    # ------------------------------------------------------------------ moderation

    def moderate(
        self,
        items: Sequence[ContentItem],
        *,
        route: str,
        batch: bool,
        api_key_id: str,
        idempotency_key: str | None = None,
    ) -> Moderated:
        if not items:
            raise InvalidRequest("a batch needs at least one item", field="items")
        self.limits.check(items, batch=batch)
        print_ = ""
        if idempotency_key is not None:
            idempotency.check_key(idempotency_key)
            print_ = idempotency.fingerprint(route, [item.model_dump(mode="json") for item in items])
            replayed = self._replay(api_key_id, idempotency_key, print_)
            if replayed is not None:
                return replayed
        snapshot = self.active.snapshot()
        started = time.perf_counter()
        decisions = self._complete(snapshot, items, snapshot.engine.decide(items))
        decided = time.perf_counter()
        try:
            with self.store.transaction() as session:
                now = self.clock()
                append_decisions(session, decisions, items, api_key_id=api_key_id, now=now)
                if idempotency_key is not None:
                    ids = [str(d.decision_id) for d in decisions]
                    idempotency.remember(session, api_key_id, idempotency_key, route, print_, ids, now)
        except IntegrityError:
            # a concurrent request with the same key committed first: answer with its decisions
            replayed = self._replay(api_key_id, idempotency_key, print_) if idempotency_key is not None else None
            if replayed is None:
                raise
            return replayed
        return Moderated(decisions, snapshot.identity, False, snapshot.engine.name, decided - started, time.perf_counter() - decided)

    def _replay(self, api_key_id: str, key: str, print_: str) -> Moderated | None:
        with self.store.transaction() as session:
            ids = idempotency.replay(session, api_key_id, key, print_)
            if ids is None:
                return None
            decisions = decisions_by_id(session, ids)
        first = decisions[0]
        return Moderated(decisions, PolicyIdentity(id=first.policy_id, version=first.policy_version, hash=first.policy_hash), True)

    def _complete(self, snapshot: Snapshot, items: Sequence[ContentItem], decisions: list[Decision]) -> list[Decision]:
        """Hold the engine to its contract for this request, and give every decision an id and time."""
        stamp = snapshot.identity.hash
        if len(decisions) != len(items) or any(
            d.item_id != i.id or d.policy_hash != stamp for d, i in zip(decisions, items)
        ):
            raise RuntimeError(f"engine {snapshot.engine.name} broke the Engine contract (ids, order or policy stamp)")
        now = self.clock()
        return [
            d if d.decision_id and d.decided_at else d.model_copy(
                update={"decision_id": d.decision_id or uuid.uuid4().hex, "decided_at": d.decided_at or now}
            )
            for d in decisions
        ]

    def decision(self, decision_id: str) -> LoggedDecision:
        with self.store.transaction() as session:
            found = get_decision(session, decision_id)
        if found is None:
            raise NotFound(f"no decision with id {decision_id!r}", field="decision_id")
        return found

    # ------------------------------------------------------------------ keys

    def authenticate(self, token: str) -> KeyInfo | None:
        with self.store.transaction() as session:
            return keys.authenticate_key(session, token)

    def create_key(self, name: str, scopes: Sequence[str]) -> IssuedKey:
        with self.store.transaction() as session:
            return keys.create_api_key(session, name, scopes, now=self.clock())

    def revoke_key(self, key_id: str) -> KeyInfo:
        with self.store.transaction() as session:
            return keys.revoke_api_key(session, key_id, now=self.clock())

    def list_keys(self) -> list[KeyInfo]:
        with self.store.transaction() as session:
            return keys.list_api_keys(session)
