"""Fixtures for the review web app tests: a small seeded SQLite store (reviewers, a lead, an
admin, hate tasks in the reviewers' queue with overlap 2 and gold questions, and one task in
a specialist queue), an app over it, and helpers to log in and post forms with the token."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from charter.compile.loader import LoadedBundle
from charter.io.labelled import LabelledItems
from charter.records import ContentItem, Label
from charter.review import create_project, create_user, import_dataset, make_engine, migrate, session_factory, session_scope
from charter.review.models import Assignment, Task
from charter.server.review import ReviewSettings, create_review_app

PASSWORD = "correct horse battery"
SECRET = "s" * 48
USERS = (("alice", "reviewer"), ("bob", "reviewer"), ("lena", "lead"), ("ada", "admin"))
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# Cheap argon2 parameters: logins are the tests' business, not the hash's strength (the
# store's own tests cover that); at the default cost a shared CI core spends ~0.5 s per login.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True, scope="module")
def fast_password_hashing() -> None:
    """Cheap hashing for the importing test module only (restored after it)."""
    import charter.review.users as users

    original, users._hasher = users._hasher, FAST_HASHER
    yield
    users._hasher = original


def labelled(bundle: LoadedBundle, n: int, prefix: str, text: str = "post") -> LabelledItems:
    items = [ContentItem(id=f"{prefix}-{i}", text=f"{text} number {i} from {prefix}", language="en", market="DE" if i % 2 else None,
                         metadata={"author_followers": 100 + i}) for i in range(n)]
    stamp = dict(policy_id=bundle.identity.id, policy_version=bundle.identity.version, policy_hash=bundle.identity.hash)
    labels = [Label(item_id=item.id, labels={"hate": "violating" if i % 2 else "allowed"}, pathway="dataset", **stamp)
              for i, item in enumerate(items)]
    return LabelledItems(items, labels, ["hate"], {"dataset": "unit", "split": "test"})


def seed_store(url: str, bundle: LoadedBundle, *, n_items: int = 6, gold_share: float = 0.5, gold_rate: float = 0.5) -> int:
    """Migrate and fill the store at `url`; returns the project id."""
    migrate(url)
    engine = make_engine(url)
    with session_scope(session_factory(engine)) as session:
        for username, role in USERS:
            create_user(session, username, PASSWORD, role)
        project = create_project(session, "web", bundle, gold_rate=gold_rate)
        import_dataset(session, project, labelled(bundle, n_items, "std"), queue_id="standard_review", overlap=2,
                       gold_share=gold_share, seed=3)
        import_dataset(session, project, labelled(bundle, 1, "spec", "specialist"), overlap=2)
        project_id = project.id
    engine.dispose()
    return project_id


@dataclass
class Web:
    """A seeded store (a fresh copy per test) and clients of the app over it."""

    url: str
    project_id: int
    settings: ReviewSettings

    def client(self) -> TestClient:
        return TestClient(create_review_app(self.settings), base_url="https://testserver", follow_redirects=False)

    def login(self, username: str, password: str = PASSWORD) -> TestClient:
        client = self.client()
        response = post(client, "/login", {"username": username, "password": password})
        assert response.status_code == 303, response.text
        return client

    def session(self):
        return session_scope(session_factory(make_engine(self.url)))

    def task_of(self, assignment_id: int) -> Task:
        with self.session() as session:
            assignment = session.get(Assignment, assignment_id)
            return session.get(Task, assignment.task_id)

    def gold_task_ids(self) -> set[int]:
        with self.session() as session:
            return set(session.scalars(select(Task.id).where(Task.is_gold)))


def copy_store(template: Path, folder: Path, project_id: int) -> Web:
    shutil.copy(template, folder / "review.db")
    url = f"sqlite:///{folder / 'review.db'}"
    return Web(url, project_id, ReviewSettings(secret_key=SECRET, database_url=url))


def token(client: TestClient, path: str = "/login") -> str:
    found = CSRF.search(client.get(path, follow_redirects=True).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def post(client: TestClient, path: str, data: dict, *, page: str | None = None) -> httpx.Response:
    """POST a form the way the browser does: with the token from a page of the session."""
    return client.post(path, data={**data, "csrf_token": token(client, page or "/login")})
