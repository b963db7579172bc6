"""Fixtures for the enforcement service and API tests: the example bundle (review_support's),
the next policy release compiled beside it, a classifier trained on the vendored sample, and
a migrated store with an admin key. Store tests run on SQLite and PostgreSQL through
review_support's `store` fixture."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from charter.cli.demo_cmd import example_policy_path, train_sample_classifier
from charter.compile import compile_policy, load_bundle, write_bundle
from charter.compile.loader import LoadedBundle
from charter.datasets import load_split
from charter.engines.classifier import ClassifierEngine, load_model, save_model
from charter.policy.load import load_policy_source
from charter.engines.base import Engine
from charter.records import ContentItem, Decision
from charter.server.api import ApiSettings, create_api_app
from charter.service.active import EngineFactory
from charter.service.keys import bootstrap_admin, create_api_key
from charter.service.moderation import ModerationService
from charter.service.store import ServiceStore
from charter.store.sql import migrate
from review_support import Store, bundle, postgres_url, store  # noqa: F401

__all__ = ["Store", "bundle", "postgres_url", "store"]


@pytest.fixture(scope="session")
def model_dir(bundle: LoadedBundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fast classifier trained on the vendored sample for the example policy."""
    return save_model(train_sample_classifier(bundle.policy).model, tmp_path_factory.mktemp("model") / "sample")


@pytest.fixture(scope="session")
def next_bundle(tmp_path_factory: pytest.TempPathFactory) -> LoadedBundle:
    """The example policy's next release (another policy hash), compiled."""
    source = load_policy_source(example_policy_path("policy_v1_1.yaml"))
    out = tmp_path_factory.mktemp("bundle") / "v1_1"
    write_bundle(compile_policy(source.policy, source), out)
    return load_bundle(out)


@pytest.fixture(scope="session")
def sample_items() -> list[ContentItem]:
    """Real items from the vendored sample (SMS spam and OLID test splits)."""
    return load_split("sms-spam", "test", source="sample").items[:40] + load_split("olid", "test", source="sample").items[:40]


def mismatch_factory(bundle: LoadedBundle, model_dir: Path | None) -> ClassifierEngine:
    """An engine for any bundle, even one the model was not trained for (hot-swap tests)."""
    assert model_dir is not None
    return ClassifierEngine(load_model(model_dir), bundle, allow_policy_mismatch=True)


class SlowEngine(Engine):
    """Another engine, slowed down so concurrent requests overlap a swap or each other."""

    def __init__(self, inner: Engine, delay_s: float):
        self.inner, self.delay_s = inner, delay_s
        self.name, self.pathway, self.identity = inner.name, inner.pathway, inner.identity

    def decide(self, items: Sequence[ContentItem]) -> list[Decision]:
        time.sleep(self.delay_s)
        return self.inner.decide(items)


def slow_factory(delay_s: float) -> EngineFactory:
    def build(bundle: LoadedBundle, model_dir: Path | None) -> Engine:
        return SlowEngine(mismatch_factory(bundle, model_dir), delay_s)

    return build


def service_on(url: str, model_dir: Path, bundle_dir: Path, factory: EngineFactory = mismatch_factory) -> ModerationService:
    """A ModerationService on the store at `url` with `bundle_dir` active."""
    service = ModerationService(ServiceStore(url), factory)
    service.activate(bundle_dir, model_dir)
    return service


def moderator_key(service: ModerationService) -> str:
    return service.create_key("tests", ["moderate"]).info.id


@dataclass
class Api:
    client: TestClient
    url: str
    admin: str
    moderator: str
    reader: str

    def headers(self, token: str, **extra: str) -> dict[str, str]:
        return {"X-API-Key": token, **extra}


def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    migrate(url)
    return url


def make_api(url: str, bundle_dir: Path, model_dir: Path, factory: EngineFactory | None = None, **settings: Any) -> Api:
    """An app on a migrated store with admin, moderate-only and read-only keys; `settings` go
    to ApiSettings (limits, allow_policy_mismatch)."""
    store = ServiceStore(url)
    with store.transaction() as session:
        admin = bootstrap_admin(session, env={})
        moderator = create_api_key(session, "moderator", ["moderate"])
        reader = create_api_key(session, "reader", ["read"])
    store.close()
    assert admin is not None
    app = create_api_app(ApiSettings(bundle=bundle_dir, model=model_dir, database_url=url, **settings), engine_factory=factory)
    return Api(TestClient(app), url, admin.token, moderator.token, reader.token)
