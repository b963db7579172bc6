"""The service's handle on the operational database: one engine, short transactions that are
committed before a response is returned, and a schema check at open (the service never writes
to a database that `migrate` has not brought to the newest revision).

SQLite takes its write lock at BEGIN (see `charter.store.sql`), so the threads of one process
queue on an in-process lock instead of sleeping in SQLite's busy handler, and the file runs in
WAL mode (a commit is one append; readers in other processes are not blocked)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import ContextManager

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from charter.errors import CharterError
from charter.service.errors import Unavailable
from charter.store.sql import alembic_config, database_url, make_engine, session_factory, session_scope


class ServiceStore:
    """Transactions on the store at `url` ($CHARTER_DATABASE_URL, else ./charter.db)."""

    def __init__(self, url: str | None = None):
        self.url = database_url(url)
        self.engine = make_engine(self.url, pool_pre_ping=True)
        self.dialect = self.engine.dialect.name
        self._factory = session_factory(self.engine)
        self._lock = threading.Lock() if self.dialect == "sqlite" else None
        if self.dialect == "sqlite":
            self._wal()
        self.check_schema()

    def _wal(self) -> None:
        connection = self.engine.raw_connection()
        try:
            connection.driver_connection.execute("PRAGMA journal_mode=WAL")  # type: ignore[union-attr]
        except Exception as exc:
            raise CharterError(f"cannot open the operational database {self.where}: {exc}") from None
        finally:
            connection.close()

    @property
    def where(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def check_schema(self) -> None:
        """Refuse a database that is not at the newest migration."""
        head = ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()
        try:
            with self.engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
        except OperationalError as exc:
            raise CharterError(f"cannot reach the operational database {self.where}: {exc.orig}") from None
        if current != head:
            raise CharterError(
                f"the operational database {self.where} is at revision {current or '(empty)'}, not {head}; "
                "migrate it first (`charter serve` does, or charter.store.sql.migrate)"
            )

    def _serial(self) -> ContextManager[object]:
        return self._lock if self._lock is not None else nullcontext()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work, committed when the block ends (before the caller answers anyone)."""
        with self._serial():
            try:
                with session_scope(self._factory) as session:
                    yield session
            except OperationalError as exc:
                raise Unavailable(f"the operational database is unavailable: {str(exc.orig).strip()}") from None

    def ping(self) -> None:
        """Raise Unavailable unless the database answers."""
        try:
            with self._serial(), self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
                connection.rollback()
        except SQLAlchemyError as exc:
            raise Unavailable(f"the operational database is unavailable: {exc}") from None

    def close(self) -> None:
        self.engine.dispose()
