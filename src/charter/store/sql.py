"""The operational store (review work, service decisions, API keys): one SQL database reached
through SQLAlchemy, SQLite by default and PostgreSQL in production. This module owns the URL
(argument, $CHARTER_DATABASE_URL, or a local SQLite file), engines tuned per backend, sessions,
the declarative base every table module shares, and migrating a database to the newest schema
(one Alembic chain for all tables)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
import datetime as dt
import importlib
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import JSON, CheckConstraint, DateTime, Engine, TypeDecorator, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from charter.errors import CharterError

ENV_VAR = "CHARTER_DATABASE_URL"
DEFAULT_URL = "sqlite:///charter.db"
MIGRATIONS = Path(__file__).parent / "migrations"


def one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    """A CHECK that keeps an enumerated text column to its values on every backend."""
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite stores none, so UTC is restored on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the operational store; use an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """The one metadata every operational table registers on (review, service), so one
    migration chain and one `create_all` cover the whole store."""

    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, dt.datetime: UtcDateTime}


# Modules that declare tables on `Base`; migrations and `full_metadata` import them all, so a
# schema check sees every table even when the caller only imported one workflow.
TABLE_MODULES = ("charter.review.models", "charter.service.models")


def full_metadata() -> Any:
    """`Base.metadata` with every table module imported."""
    for module in TABLE_MODULES:
        importlib.import_module(module)
    return Base.metadata


def database_url(url: str | None = None) -> str:
    """The store's URL: the one given, else $CHARTER_DATABASE_URL, else ./charter.db."""
    chosen = url or os.environ.get(ENV_VAR) or DEFAULT_URL
    if chosen.startswith("postgresql://"):
        chosen = "postgresql+psycopg://" + chosen.removeprefix("postgresql://")
    return chosen


def _sqlite_transactions(engine: Engine) -> None:
    """SQLite: foreign keys on, and every transaction takes the write lock up front
    (BEGIN IMMEDIATE), so a read-then-write workflow never works from a stale read."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for the store at `url` (see `database_url`)."""
    resolved = database_url(url)
    try:
        engine = create_engine(resolved, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise CharterError(f"database URL {resolved!r} is not usable: {exc}") from None
    if engine.dialect.name == "sqlite":
        _sqlite_transactions(engine)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back if it raises."""
    with factory() as session, session.begin():
        yield session


def alembic_config(url: str | None = None) -> Config:
    """Alembic configured in code (no alembic.ini), pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (default: the newest schema)."""
    try:
        command.upgrade(alembic_config(url), revision)
    except OperationalError as exc:
        raise CharterError(f"cannot migrate the operational database {database_url(url)}: {exc.orig}") from None
