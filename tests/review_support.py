"""Fixtures for the review store tests: every store test runs on SQLite (a temporary file)
and on a real PostgreSQL database created for this test session and dropped at its end."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from charter.compile import load_bundle, write_bundle
from charter.compile.loader import LoadedBundle
from charter.policy.spec import Category
from charter.policy.tree import outcome_paths
from charter.records import ContentItem
from charter.review import create_project, create_user, make_engine, migrate, session_factory
from charter.review.models import Base, Project, User
from compile_helpers import compiled

PG_ADMIN_URL = os.environ.get("CHARTER_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _reachable(url: str) -> str | None:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return None
    except OperationalError as exc:
        return str(exc.orig).strip().splitlines()[0]
    finally:
        engine.dispose()


def _start_server() -> str:
    versions = sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".") if p.isdigit()]) \
        if os.path.isdir("/etc/postgresql") else []
    if not versions:
        return "no PostgreSQL cluster under /etc/postgresql"
    try:
        done = subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
            capture_output=True, text=True, timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"pg_ctlcluster could not run: {exc}"
    return (done.stderr or done.stdout).strip() or f"pg_ctlcluster exited {done.returncode}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A fresh, uniquely named database at 127.0.0.1:5432, migrated to head, dropped afterwards."""
    problem = _reachable(PG_ADMIN_URL)
    if problem is not None:
        started = _start_server()
        for _ in range(10):  # give a just-started server a moment to accept connections
            again = _reachable(PG_ADMIN_URL)
            if again is None:
                break
            time.sleep(1)
        if again is not None:
            pytest.skip(f"PostgreSQL at {make_url(PG_ADMIN_URL).render_as_string(hide_password=True)} is not "
                        f"reachable ({problem}) and starting it failed ({started}; still: {again})")
    name = f"charter_review_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Store:
    url: str
    dialect: str
    factory: sessionmaker[Session]

    def session(self) -> Session:
        return self.factory()


_migrated: set[str] = set()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """An empty, migrated store on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'review.db'}"
        migrate(url)
    else:
        url = request.getfixturevalue("postgres_url")
        if url not in _migrated:
            migrate(url)
            _migrated.add(url)
    engine = make_engine(url)
    if request.param == "postgresql":
        # DELETE, not TRUNCATE: TRUNCATE makes new files each time, which the DROP DATABASE
        # checkpoint at the end must then sync one by one (seconds on a busy disk)
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
    yield Store(url, request.param, session_factory(engine))
    engine.dispose()


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> LoadedBundle:
    out = tmp_path_factory.mktemp("bundle") / "example"
    write_bundle(compiled("example"), out)
    return load_bundle(out)


def answers_for(category: Category, label: str, index: int = 0) -> dict[str, str]:
    """Answers that walk `category`'s tree to its `index`-th outcome with `label`."""
    paths = [paths[0] for outcome_id, paths in outcome_paths(category.tree).items()
             if category.tree.outcomes[outcome_id].label == label]
    return dict(paths[index])


def items(n: int, prefix: str = "item") -> list[ContentItem]:
    return [ContentItem(id=f"{prefix}-{i}", text=f"text {i}", language="en") for i in range(n)]


def reviewers(session: Session, n: int, role: str = "reviewer", prefix: str = "rev") -> list[User]:
    """Accounts for workflow tests (no password: hashing is the auth tests' business)."""
    return [create_user(session, f"{prefix}{i}", None, role, now=T0) for i in range(n)]


def project(session: Session, bundle: LoadedBundle, gold_rate: float = 0.0) -> Project:
    return create_project(session, "p", bundle, gold_rate=gold_rate, now=T0)
