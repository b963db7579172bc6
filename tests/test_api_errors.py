"""Every bad request gets a clear 4xx JSON error naming what is wrong, and leaves the service
healthy and the decision log intact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from charter.compile.loader import LoadedBundle
from charter.service.models import StoredDecision
from charter.store.sql import make_engine
from service_support import Api, make_api, sqlite_url
from service_support import bundle, model_dir  # noqa: F401

GOOD = {"id": "ok-1", "text": "see you at lunch"}
JSON = {"Content-Type": "application/json"}
MAX_TEXT, MAX_ITEMS, MAX_BODY = 1_000, 5, 20_000


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, bundle: LoadedBundle, model_dir: Path) -> Api:
    made = make_api(
        sqlite_url(tmp_path_factory.mktemp("errors")), bundle.root, model_dir,
        max_text_bytes=MAX_TEXT, max_batch_items=MAX_ITEMS, max_body_bytes=MAX_BODY,
    )
    with made.client:
        yield made


def _stored(api: Api) -> list[str]:
    engine = make_engine(api.url)
    with engine.connect() as connection:
        ids = list(connection.scalars(select(StoredDecision.decision_id).order_by(StoredDecision.seq)))
    engine.dispose()
    return ids


def _chunks():
    for _ in range(30):
        yield b" " * 1_000


# (name, method, path, request kwargs, who sends it, status, code, field)
CASES: list[tuple[str, str, str, dict[str, Any], str | None, int, str, str | None]] = [
    ("malformed JSON", "POST", "/v1/moderate", {"content": b'{"id": "a", "text": "x"', "headers": JSON}, "moderator", 400, "malformed_json", "body"),
    ("missing field", "POST", "/v1/moderate", {"json": {"id": "a"}}, "moderator", 422, "invalid_request", "text"),
    ("wrong type", "POST", "/v1/moderate", {"json": {"id": "a", "text": 5}}, "moderator", 422, "invalid_request", "text"),
    ("empty id", "POST", "/v1/moderate", {"json": {"id": "", "text": "x"}}, "moderator", 422, "invalid_request", "id"),
    ("unknown field", "POST", "/v1/moderate", {"json": {**GOOD, "colour": "red"}}, "moderator", 422, "invalid_request", "colour"),
    ("missing batch item field", "POST", "/v1/moderate/batch", {"json": {"items": [GOOD, {"id": "b"}]}}, "moderator", 422, "invalid_request", "items[1].text"),
    ("empty batch", "POST", "/v1/moderate/batch", {"json": {"items": []}}, "moderator", 422, "invalid_request", "items"),
    ("text over the limit", "POST", "/v1/moderate", {"json": {"id": "a", "text": "é" * 600}}, "moderator", 413, "payload_too_large", "text"),
    ("batch text over the limit", "POST", "/v1/moderate/batch", {"json": {"items": [GOOD, {"id": "b", "text": "x" * 1_001}]}}, "moderator", 413, "payload_too_large", "items[1].text"),
    ("batch over max items", "POST", "/v1/moderate/batch", {"json": {"items": [{"id": str(i), "text": "x"} for i in range(6)]}}, "moderator", 413, "payload_too_large", "items"),
    ("declared body over the limit", "POST", "/v1/moderate", {"content": b"{" + b" " * 20_000 + b"}", "headers": JSON}, "moderator", 413, "payload_too_large", "body"),
    ("streamed body over the limit", "POST", "/v1/moderate", {"content": _chunks, "headers": JSON}, "moderator", 413, "payload_too_large", "body"),
    ("invalid UTF-8", "POST", "/v1/moderate", {"content": b'{"id": "a", "text": "caf\xe9"}', "headers": JSON}, "moderator", 400, "invalid_utf8", "body"),
    ("unpaired surrogate", "POST", "/v1/moderate", {"content": b'{"id": "a", "text": "x\\ud800"}', "headers": JSON}, "moderator", 422, "invalid_request", "item"),
    ("not JSON", "POST", "/v1/moderate", {"content": b"id=a&text=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, "moderator", 415, "unsupported_media_type", "Content-Type header"),
    ("bad idempotency key", "POST", "/v1/moderate", {"json": GOOD, "headers": {"Idempotency-Key": "k" * 256}}, "moderator", 422, "invalid_request", "Idempotency-Key"),
    ("missing API key", "POST", "/v1/moderate", {"json": GOOD}, None, 401, "unauthorized", "X-API-Key"),
    ("wrong API key", "POST", "/v1/moderate", {"json": GOOD}, "chtr_not-a-key", 401, "unauthorized", "X-API-Key"),
    ("missing scope", "POST", "/v1/moderate", {"json": GOOD}, "reader", 403, "forbidden", "X-API-Key"),
    ("admin scope", "POST", "/v1/admin/keys", {"json": {"name": "x", "scopes": ["read"]}}, "moderator", 403, "forbidden", "X-API-Key"),
    ("unknown scope", "POST", "/v1/admin/keys", {"json": {"name": "x", "scopes": ["write"]}}, "admin", 422, "invalid_request", "scopes[0]"),
    ("unknown decision", "GET", "/v1/decisions/nope", {}, "reader", 404, "not_found", "decision_id"),
    ("unknown route", "GET", "/v1/nowhere", {}, "reader", 404, "not_found", None),
]


@pytest.mark.parametrize(("name", "method", "path", "kwargs", "who", "status", "code", "field"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_request_gets_a_clear_error_and_changes_nothing(
    api: Api, name: str, method: str, path: str, kwargs: dict[str, Any], who: str | None, status: int, code: str, field: str | None
) -> None:
    before = _stored(api)
    token = {"moderator": api.moderator, "reader": api.reader, "admin": api.admin}.get(who or "", who)
    headers = {**kwargs.pop("headers", {}), **({"X-API-Key": token} if token else {})}
    if callable(kwargs.get("content")):
        kwargs = {**kwargs, "content": kwargs["content"]()}
    response = api.client.request(method, path, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["field"] == field
    assert error["message"] and "Traceback" not in response.text
    assert _stored(api) == before
    assert api.client.get("/healthz").status_code == 200
    good = api.client.post("/v1/moderate", json=GOOD, headers={"X-API-Key": api.moderator})
    assert good.status_code == 200
    assert _stored(api) == [*before, good.json()["decision"]["decision_id"]]


def test_errors_name_every_problem_and_are_counted(api: Api) -> None:
    response = api.client.post("/v1/moderate/batch", json={"items": [{"id": "a"}, {"text": "b"}]}, headers={"X-API-Key": api.moderator})
    assert response.json()["error"]["problems"] == ["items[0].text: Field required", "items[1].id: Field required"]
    too_big = api.client.post("/v1/moderate", json={"id": "a", "text": "x" * 2_000}, headers={"X-API-Key": api.moderator})
    assert too_big.json()["error"]["message"] == "text is 2,000 bytes (UTF-8); the limit is 1,000"
    metrics = api.client.get("/metrics").text
    assert 'charter_request_errors_total{code="invalid_request",route="/v1/moderate/batch",status="422"}' in metrics
    assert 'charter_request_errors_total{code="payload_too_large",route="/v1/moderate",status="413"}' in metrics
