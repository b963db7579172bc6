"""The enforcement API's routes through FastAPI's TestClient: moderation, the stored decision,
idempotent retries, the active bundle and its hot-swap, API keys, health, metrics and docs."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI, Request

from charter.compile.loader import LoadedBundle
from charter.engines.llm import BackendError, ReplayBackend
from charter.records import ContentItem
from charter.service.engines import EngineRecipe
from service_support import Api, make_api, sqlite_url
from service_support import bundle, model_dir, next_bundle, sample_items  # noqa: F401


@pytest.fixture
def api(tmp_path: Path, bundle: LoadedBundle, model_dir: Path) -> Api:
    made = make_api(sqlite_url(tmp_path), bundle.root, model_dir, allow_policy_mismatch=True)  # the standard cascade
    with made.client:
        yield made


def _item(item: ContentItem) -> dict:
    return item.model_dump(mode="json", exclude_defaults=True)


def test_moderate_returns_a_stored_decision_under_the_active_policy(api: Api, bundle: LoadedBundle, sample_items: list[ContentItem]) -> None:
    item = sample_items[0]
    response = api.client.post("/v1/moderate", json=_item(item), headers=api.headers(api.moderator))
    assert response.status_code == 200
    body = response.json()
    assert body["replayed"] is False and body["policy"]["hash"] == bundle.identity.hash
    decision = body["decision"]
    assert decision["item_id"] == item.id and decision["policy_hash"] == bundle.identity.hash and decision["decision_id"]
    stored = api.client.get(f"/v1/decisions/{decision['decision_id']}", headers=api.headers(api.reader))
    assert stored.status_code == 200
    assert stored.json()["decision"] == decision and stored.json()["item"]["text"] == item.text
    assert decision["extra"]["decided_by"] in {"rules", "classifier", "human"}
    assert stored.json()["decided_by"] == decision["extra"]["decided_by"]


def test_a_batch_is_decided_in_order_under_one_policy(api: Api, sample_items: list[ContentItem]) -> None:
    items = sample_items[:12]
    response = api.client.post("/v1/moderate/batch", json={"items": [_item(i) for i in items]}, headers=api.headers(api.moderator))
    assert response.status_code == 200
    decisions = response.json()["decisions"]
    assert [d["item_id"] for d in decisions] == [i.id for i in items]
    assert len({d["decision_id"] for d in decisions}) == 12
    assert {d["policy_hash"] for d in decisions} == {response.json()["policy"]["hash"]}


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(api: Api, sample_items: list[ContentItem]) -> None:
    headers = api.headers(api.moderator, **{"Idempotency-Key": "order-17"})
    body = {"items": [_item(i) for i in sample_items[:3]]}
    first = api.client.post("/v1/moderate/batch", json=body, headers=headers)
    retry = api.client.post("/v1/moderate/batch", json=body, headers=headers)
    assert retry.status_code == 200 and retry.json()["replayed"] is True
    assert retry.json()["decisions"] == first.json()["decisions"]
    other = api.client.post("/v1/moderate/batch", json={"items": [_item(sample_items[5])]}, headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict" and other.json()["error"]["field"] == "Idempotency-Key"
    assert 'charter_idempotent_replays_total 1.0' in api.client.get("/metrics").text


def test_the_active_bundle_shows_its_identity_and_artifacts(api: Api, bundle: LoadedBundle, model_dir: Path) -> None:
    response = api.client.get("/v1/bundle", headers=api.headers(api.reader))
    assert response.status_code == 200
    body = response.json()
    assert body["policy"] == bundle.identity.model_dump()
    assert body["artifacts"] == bundle.manifest["artifacts"]
    assert body["model_dir"] == str(model_dir) and body["engine"]["pathway"] == "cascade"
    assert body["engine"]["stages"] == ["rules", "classifier", "human"]


def test_admins_hot_swap_and_others_may_not(api: Api, bundle: LoadedBundle, next_bundle: LoadedBundle, sample_items: list[ContentItem], tmp_path: Path) -> None:
    refused = api.client.post("/v1/admin/bundle", json={"bundle": str(next_bundle.root)}, headers=api.headers(api.moderator))
    assert refused.status_code == 403
    bad = api.client.post("/v1/admin/bundle", json={"bundle": str(tmp_path)}, headers=api.headers(api.admin))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bundle_refused"
    assert "manifest.json is missing" in bad.json()["error"]["message"]
    swapped = api.client.post("/v1/admin/bundle", json={"bundle": str(next_bundle.root)}, headers=api.headers(api.admin))
    assert swapped.status_code == 200
    assert swapped.json()["previous"]["hash"] == bundle.identity.hash
    assert swapped.json()["active"]["policy"]["hash"] == next_bundle.identity.hash
    decided = api.client.post("/v1/moderate", json=_item(sample_items[0]), headers=api.headers(api.moderator))
    assert decided.json()["decision"]["policy_hash"] == next_bundle.identity.hash
    metrics = api.client.get("/metrics").text
    assert 'charter_bundle_swaps_total{outcome="applied"} 1.0' in metrics
    assert 'charter_bundle_swaps_total{outcome="refused"} 1.0' in metrics
    assert f'hash="{next_bundle.identity.hash}"' in metrics and f'hash="{bundle.identity.hash}"' not in metrics


def test_admins_issue_list_and_revoke_keys(api: Api, sample_items: list[ContentItem]) -> None:
    created = api.client.post("/v1/admin/keys", json={"name": "ingest", "scopes": ["moderate"]}, headers=api.headers(api.admin))
    assert created.status_code == 201
    token, key_id = created.json()["token"], created.json()["id"]
    listed = api.client.get("/v1/admin/keys", headers=api.headers(api.admin)).json()
    assert key_id in {k["id"] for k in listed} and all("token" not in k for k in listed)
    item = _item(sample_items[0])
    assert api.client.post("/v1/moderate", json=item, headers=api.headers(token)).status_code == 200
    assert api.client.get("/v1/bundle", headers=api.headers(token)).status_code == 403
    revoked = api.client.delete(f"/v1/admin/keys/{key_id}", headers=api.headers(api.admin))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert api.client.post("/v1/moderate", json=item, headers=api.headers(token)).status_code == 401
    assert api.client.delete("/v1/admin/keys/nope", headers=api.headers(api.admin)).status_code == 404
    assert api.client.post("/v1/admin/keys", json={"name": "x", "scopes": ["moderate"]}, headers=api.headers(api.moderator)).status_code == 403


def test_health_metrics_and_docs(api: Api, bundle: LoadedBundle, sample_items: list[ContentItem]) -> None:
    health = api.client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok", "policy": bundle.identity.model_dump(), "database": "sqlite"}
    decision = api.client.post("/v1/moderate", json=_item(sample_items[0]), headers=api.headers(api.moderator)).json()["decision"]
    metrics = api.client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    by = decision["extra"]["decided_by"]
    assert f'charter_decisions_total{{action="{decision["action"]}",decided_by="{by}",pathway="cascade"}} 1.0' in text
    assert 'charter_request_seconds_count{method="POST",route="/v1/moderate",status="200"} 1.0' in text
    assert 'charter_engine_seconds_count{engine="cascade:rules+classifier+human"} 1.0' in text
    assert "charter_llm_fallbacks_total" in text and "charter_store_commit_seconds_count 1.0" in text
    assert api.client.get("/docs").status_code == 200
    spec = api.client.get("/openapi.json").json()
    assert {"/v1/moderate", "/v1/moderate/batch", "/v1/decisions/{decision_id}", "/v1/bundle", "/v1/admin/bundle",
            "/v1/admin/keys", "/v1/admin/keys/{key_id}", "/healthz", "/metrics"} <= set(spec["paths"])
    assert "APIKeyHeader" in spec["components"]["securitySchemes"]


def test_an_llm_band_that_fails_escalates_and_is_counted(tmp_path: Path, bundle: LoadedBundle, model_dir: Path, sample_items: list[ContentItem]) -> None:
    down = ReplayBackend(lambda messages, options: BackendError("connection refused"))
    api = make_api(sqlite_url(tmp_path), bundle.root, model_dir, EngineRecipe(down))
    with api.client:
        body = {"items": [_item(i) for i in sample_items[:40]]}
        decisions = api.client.post("/v1/moderate/batch", json=body, headers=api.headers(api.moderator)).json()["decisions"]
        metrics = api.client.get("/metrics").text
    asked = [d for d in decisions if "llm" in d["extra"]["stages"]]
    assert asked and down.calls, "no item reached the LLM band"
    assert all(d["action"] != "allow" and d["escalation_queue"] for d in asked)  # a failed LLM never allows
    failed = sum(len(d["extra"]["stages"]["llm"]["asked"]) for d in asked)
    counted = sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("charter_llm_fallbacks_total{"))
    assert counted == failed
    assert "charter_escalations_total{" in metrics


def test_an_app_mounted_beside_the_api_keeps_its_own_body_rules(api: Api) -> None:
    side = FastAPI()

    @side.post("/login")
    async def login(request: Request) -> dict:
        form = await request.form()
        return {"user": form["user"]}

    api.client.app.mount("/review", side)
    response = api.client.post("/review/login", data={"user": "ana"})
    assert response.status_code == 200 and response.json() == {"user": "ana"}
    refused = api.client.post("/v1/moderate", data={"user": "ana"}, headers=api.headers(api.moderator))
    assert refused.status_code == 415
