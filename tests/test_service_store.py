"""The service's durable decision log, API keys, idempotency and exports, on SQLite and on
the real PostgreSQL (review_support's `store` fixture)."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from charter.compile.loader import LoadedBundle
from charter.dsa.config import PlatformConfig
from charter.dsa.export import BATCH_SIZE, batches
from charter.dsa.validate import validate_statement
from charter.errors import CharterError
from charter.records import ContentItem
from charter.service.errors import IdempotencyConflict, NotFound
from charter.service.export import Window, export_decision_log, export_statements
from charter.service.keys import ADMIN_KEY_ENV, authenticate_key, bootstrap_admin, create_api_key, revoke_api_key
from charter.service.models import ApiKey, IdempotencyKey, ServicePolicy, StoredDecision
from charter.store.decision_log import read_decision_log, score_arrays
from charter.store.sql import full_metadata, make_engine
from service_support import Store, moderator_key, service_on, slow_factory
from service_support import bundle, model_dir, next_bundle, postgres_url, sample_items, store  # noqa: F401

ROUTE = "/v1/moderate/batch"


def _count(store: Store, table: type) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(table))


def test_migration_matches_the_service_models(store: Store) -> None:
    engine = make_engine(store.url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), full_metadata())
    engine.dispose()
    assert [d for d in diff if "service_" in str(d)] == []


def test_decisions_are_stored_whole_with_their_items_and_policy(
    store: Store, bundle: LoadedBundle, model_dir: Path, sample_items: list[ContentItem]
) -> None:
    service = service_on(store.url, model_dir, bundle.root)
    key = moderator_key(service)
    result = service.moderate(sample_items[:10], route=ROUTE, batch=True, api_key_id=key)
    assert not result.replayed and result.policy == bundle.identity
    for decision, item in zip(result.decisions, sample_items[:10]):
        logged = service.decision(decision.decision_id)
        assert logged.decision == decision and logged.item == item
        assert logged.decided_by == "classifier" and logged.api_key_id == key
    with store.session() as session:
        policy = session.get(ServicePolicy, bundle.identity.hash)
        assert policy is not None and policy.policy_version == bundle.identity.version
        actions = set(session.scalars(select(StoredDecision.action)))
    assert actions == {d.action for d in result.decisions}
    with pytest.raises(NotFound, match="no decision with id 'missing'"):
        service.decision("missing")
    service.store.close()


def test_a_retry_with_the_same_key_returns_the_stored_decisions_and_decides_nothing(
    store: Store, bundle: LoadedBundle, model_dir: Path, sample_items: list[ContentItem]
) -> None:
    service = service_on(store.url, model_dir, bundle.root)
    key = moderator_key(service)
    first = service.moderate(sample_items[:3], route=ROUTE, batch=True, api_key_id=key, idempotency_key="k-1")
    again = service.moderate(sample_items[:3], route=ROUTE, batch=True, api_key_id=key, idempotency_key="k-1")
    assert again.replayed and again.decisions == first.decisions and again.policy == first.policy
    assert _count(store, StoredDecision) == 3
    with pytest.raises(IdempotencyConflict, match="already used on /v1/moderate/batch"):
        service.moderate(sample_items[3:6], route=ROUTE, batch=True, api_key_id=key, idempotency_key="k-1")
    with pytest.raises(IdempotencyConflict):
        service.moderate(sample_items[:1], route="/v1/moderate", batch=False, api_key_id=key, idempotency_key="k-1")
    other = moderator_key(service)  # keys are per client: another client's k-1 is its own
    assert not service.moderate(sample_items[:3], route=ROUTE, batch=True, api_key_id=other, idempotency_key="k-1").replayed
    assert _count(store, StoredDecision) == 6 and _count(store, IdempotencyKey) == 2
    service.store.close()


def test_concurrent_requests_with_one_key_are_decided_once(
    store: Store, bundle: LoadedBundle, model_dir: Path, sample_items: list[ContentItem]
) -> None:
    service = service_on(store.url, model_dir, bundle.root, slow_factory(0.3))
    key = moderator_key(service)
    results = []

    def send() -> None:
        results.append(service.moderate(sample_items[:2], route=ROUTE, batch=True, api_key_id=key, idempotency_key="same"))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and results[0].decisions == results[1].decisions
    assert sorted(r.replayed for r in results) == [False, True]
    assert _count(store, StoredDecision) == 2
    service.store.close()


def test_api_keys_are_stored_as_hashes_scoped_and_revocable(store: Store) -> None:
    with store.session() as session, session.begin():
        issued = create_api_key(session, "ingest", ["moderate", "read"])
    with store.session() as session:
        row = session.get(ApiKey, issued.info.id)
        assert row.token_sha256 == hashlib.sha256(issued.token.encode()).hexdigest()
        dumped = " ".join(str(v) for v in session.execute(text("SELECT * FROM service_api_keys")).one())
        assert issued.token not in dumped
        found = authenticate_key(session, issued.token)
        assert found is not None and found.allows("moderate") and found.allows("read") and not found.allows("admin")
        assert authenticate_key(session, issued.token + "x") is None
    with store.session() as session, session.begin():
        revoked = revoke_api_key(session, issued.info.id)
        assert revoked.revoked_at is not None
        assert authenticate_key(session, issued.token) is None
        with pytest.raises(CharterError, match="unknown scope"):
            create_api_key(session, "x", ["write"])
        with pytest.raises(NotFound):
            revoke_api_key(session, "nope")


def test_admin_bootstrap_generates_once_or_registers_the_environment_token(store: Store) -> None:
    with store.session() as session, session.begin():
        generated = bootstrap_admin(session, env={})
        assert generated is not None and generated.info.scopes == ("admin",)
        assert bootstrap_admin(session, env={}) is None  # a live admin key exists: nothing new, nothing printed
        token = "t" * 40
        registered = bootstrap_admin(session, env={ADMIN_KEY_ENV: token})
        assert registered is not None and registered.token == token
        assert bootstrap_admin(session, env={ADMIN_KEY_ENV: token}) is None
        with pytest.raises(CharterError, match="at least 32"):
            bootstrap_admin(session, env={ADMIN_KEY_ENV: "short"})
        revoke_api_key(session, registered.info.id)
        with pytest.raises(CharterError, match="revoked"):
            bootstrap_admin(session, env={ADMIN_KEY_ENV: token})


def test_the_store_exports_a_parquet_log_the_evaluation_core_reads(
    store: Store, bundle: LoadedBundle, model_dir: Path, sample_items: list[ContentItem], tmp_path: Path
) -> None:
    service = service_on(store.url, model_dir, bundle.root)
    key = moderator_key(service)
    decided = [d for i in range(0, 30, 10) for d in service.moderate(sample_items[i:i + 10], route=ROUTE, batch=True, api_key_id=key).decisions]
    single = export_decision_log(service.store, tmp_path / "log.parquet")
    assert single.decisions == 30 and read_decision_log(single.path) == decided
    parts = export_decision_log(service.store, tmp_path / "parts", page_size=7)
    assert parts.files == 5 and read_decision_log(parts.path) == decided
    ids, scores = score_arrays(single.path, ["spam_scams"])
    assert list(ids) == [d.item_id for d in decided]
    assert list(scores["spam_scams"]) == [d.scores["spam_scams"] for d in decided]
    with pytest.raises(CharterError, match="holds no decisions"):
        export_decision_log(service.store, tmp_path / "none.parquet", Window(policy_hash="0" * 64))
    with pytest.raises(CharterError, match="not an empty directory"):
        export_decision_log(service.store, tmp_path / "parts")
    service.store.close()


def test_statements_of_reasons_come_from_the_store_alone_under_each_decisions_policy(
    store: Store, bundle: LoadedBundle, next_bundle: LoadedBundle, model_dir: Path, sample_items: list[ContentItem]
) -> None:
    service = service_on(store.url, model_dir, bundle.root)
    key = moderator_key(service)
    under_first = service.moderate(sample_items, route=ROUTE, batch=False, api_key_id=key).decisions
    service.activate(next_bundle.root)
    edited = [item.model_copy(update={"text": item.text + " (edited)"}) for item in sample_items[:40]]
    under_next = service.moderate(edited, route=ROUTE, batch=False, api_key_id=key).decisions
    result = export_statements(service.store, PlatformConfig(puid_prefix="svc-test"))
    decisions = under_first + under_next
    assert {d.policy_hash for d in decisions} == {bundle.identity.hash, next_bundle.identity.hash}
    assert result.policies == [str(bundle.identity), str(next_bundle.identity)]
    statements = result.export.statements
    assert statements and len(statements) + sum(result.export.skipped.values()) == len(decisions)
    wire = [s for body in batches(statements) for s in body["statements"]]
    assert all(len(body["statements"]) <= BATCH_SIZE for body in batches(statements))
    assert len({s["puid"] for s in wire}) == len(wire)
    assert not [e for s in wire for e in validate_statement(s)]
    only_next = export_statements(service.store, PlatformConfig(), Window(policy_hash=next_bundle.identity.hash))
    assert only_next.policies == [str(next_bundle.identity)]
    service.store.close()
