"""Review store: migrations from empty on both backends, URLs, accounts and projects."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from charter.errors import CharterError
from charter.review import authenticate, create_project, create_user, database_url, get_project, migrate
from charter.store.sql import DEFAULT_URL, ENV_VAR, alembic_config
from charter.review.models import Base
from charter.review.projects import default_queue, project_policy
from review_support import T0, Store, bundle, postgres_url, store  # noqa: F401


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_run_from_empty_and_back(store: Store) -> None:
    expected = {t.name for t in Base.metadata.sorted_tables}
    assert expected <= _tables(store.url)
    command.downgrade(alembic_config(store.url), "base")
    assert not expected & _tables(store.url)
    migrate(store.url)
    assert expected <= _tables(store.url)


def test_database_url_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert database_url() == DEFAULT_URL
    monkeypatch.setenv(ENV_VAR, "postgresql://u@db:5432/charter")
    assert database_url() == "postgresql+psycopg://u@db:5432/charter"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_users_password_policy_and_authentication(store: Store) -> None:
    with store.session() as session, session.begin():
        with pytest.raises(CharterError, match="too short"):
            create_user(session, "ann", "short", "reviewer")
        with pytest.raises(CharterError, match="unknown role"):
            create_user(session, "ann", "long enough password", "boss")
        user = create_user(session, "ann", "long enough password", "lead", now=T0)
        assert user.password_hash.startswith("$argon2id$") and "long enough" not in user.password_hash
        with pytest.raises(CharterError, match="already exists"):
            create_user(session, "ann", "another long password")
        create_user(session, "vendor-rater-1", None, "reviewer", now=T0)
    with store.session() as session:
        assert authenticate(session, "ann", "long enough password").role == "lead"
        assert authenticate(session, "ann", "long enough passwork") is None
        assert authenticate(session, "nobody", "long enough password") is None
        assert authenticate(session, "vendor-rater-1", "") is None


def test_project_is_bound_to_the_bundle_policy(store: Store, bundle) -> None:
    with store.session() as session, session.begin():
        created = create_project(session, "launch", bundle, gold_rate=0.1, now=T0)
        with pytest.raises(CharterError, match="already exists"):
            create_project(session, "launch", bundle)
        with pytest.raises(CharterError, match="gold_rate"):
            create_project(session, "other", bundle, gold_rate=1.5)
        assert created.created_at == T0
    with store.session() as session:
        loaded = get_project(session, "launch")
        assert (loaded.policy_id, loaded.policy_version, loaded.policy_hash) == (
            bundle.identity.id, bundle.identity.version, bundle.identity.hash)
        assert project_policy(loaded).category_ids() == bundle.policy.category_ids()
        assert default_queue(loaded, "hate").id == "specialist_hate"
        with pytest.raises(CharterError, match="no review project"):
            get_project(session, "missing")


def test_schema_refuses_values_outside_the_vocabulary(store: Store) -> None:
    with store.session() as session:
        with pytest.raises(IntegrityError):
            with session.begin():
                session.execute(text("INSERT INTO users (username, role, created_at) VALUES ('x', 'boss', :t)"),
                                {"t": T0})
