"""The enforcement API's routes; each one parses, calls the service, and shapes the answer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response

from charter.records import ContentItem
from charter.server.api.deps import metrics, require, service
from charter.service.active import Snapshot
from charter.service.errors import ServiceError
from charter.service.idempotency import HEADER as IDEMPOTENCY_HEADER
from charter.service.keys import IssuedKey, KeyInfo
from charter.service.schemas import (
    BatchRequest,
    BatchResponse,
    BundleOut,
    ErrorResponse,
    Health,
    IssuedKeyOut,
    KeyCreate,
    KeyOut,
    LoggedDecisionOut,
    ModerateResponse,
    PolicyRef,
    SwapRequest,
    SwapResponse,
)

ERRORS = {status: {"model": ErrorResponse} for status in (400, 401, 403, 404, 409, 413, 415, 422, 503)}
IdempotencyKey = Annotated[
    str | None,
    Header(alias=IDEMPOTENCY_HEADER, description="retrying with the same key and body returns the same decisions"),
]

router = APIRouter(responses=ERRORS)


def _bundle(snapshot: Snapshot) -> BundleOut:
    return BundleOut.model_validate(snapshot.describe())


def _key(info: KeyInfo) -> KeyOut:
    return KeyOut(id=info.id, name=info.name, scopes=list(info.scopes), created_at=info.created_at, revoked_at=info.revoked_at)


def _issued(issued: IssuedKey) -> IssuedKeyOut:
    return IssuedKeyOut(**_key(issued.info).model_dump(), token=issued.token)


@router.post("/v1/moderate", response_model=ModerateResponse, tags=["moderation"])
def moderate(
    item: ContentItem, request: Request, idempotency_key: IdempotencyKey = None, key: KeyInfo = Depends(require("moderate"))
) -> ModerateResponse:
    """Decide one item under the active bundle; the decision is stored before it is returned."""
    result = service(request).moderate([item], route="/v1/moderate", batch=False, api_key_id=key.id, idempotency_key=idempotency_key)
    metrics(request).observe(result)
    return ModerateResponse(decision=result.decisions[0], policy=PolicyRef.of(result.policy), replayed=result.replayed)


@router.post("/v1/moderate/batch", response_model=BatchResponse, tags=["moderation"])
def moderate_batch(
    body: BatchRequest, request: Request, idempotency_key: IdempotencyKey = None, key: KeyInfo = Depends(require("moderate"))
) -> BatchResponse:
    """Decide a batch under one bundle (all or nothing); decisions come back in item order."""
    result = service(request).moderate(body.items, route="/v1/moderate/batch", batch=True, api_key_id=key.id, idempotency_key=idempotency_key)
    metrics(request).observe(result)
    return BatchResponse(decisions=result.decisions, policy=PolicyRef.of(result.policy), replayed=result.replayed)


@router.get("/v1/decisions/{decision_id}", response_model=LoggedDecisionOut, tags=["decisions"])
def get_decision(decision_id: str, request: Request, key: KeyInfo = Depends(require("read"))) -> LoggedDecisionOut:
    """A stored decision with the item it judged."""
    found = service(request).decision(decision_id)
    return LoggedDecisionOut(decision=found.decision, item=found.item, decided_by=found.decided_by, created_at=found.created_at)


@router.get("/v1/bundle", response_model=BundleOut, tags=["bundle"])
def active_bundle(request: Request, key: KeyInfo = Depends(require("read"))) -> BundleOut:
    """The active bundle: policy identity, artifacts (with sha256) and engine."""
    return _bundle(service(request).active.snapshot())


@router.post("/v1/admin/bundle", response_model=SwapResponse, tags=["admin"])
def swap_bundle(body: SwapRequest, request: Request, key: KeyInfo = Depends(require("admin"))) -> SwapResponse:
    """Hot-swap: verify, lint and build the new bundle's engine, then switch atomically.
    A refused bundle leaves the active one in place."""
    telemetry = metrics(request)
    try:
        snapshot, previous = service(request).activate(
            Path(body.bundle), Path(body.model) if body.model else None, api_key_id=key.id
        )
    except ServiceError:
        telemetry.swaps.labels("refused").inc()
        raise
    telemetry.swaps.labels("applied").inc()
    telemetry.activated(snapshot, previous)
    return SwapResponse(active=_bundle(snapshot), previous=PolicyRef.of(previous.identity) if previous else None)


@router.post("/v1/admin/keys", response_model=IssuedKeyOut, status_code=201, tags=["admin"])
def create_key(body: KeyCreate, request: Request, key: KeyInfo = Depends(require("admin"))) -> IssuedKeyOut:
    """A new API key; its token is in this response only."""
    return _issued(service(request).create_key(body.name, body.scopes))


@router.get("/v1/admin/keys", response_model=list[KeyOut], tags=["admin"])
def list_keys(request: Request, key: KeyInfo = Depends(require("admin"))) -> list[KeyOut]:
    return [_key(info) for info in service(request).list_keys()]


@router.delete("/v1/admin/keys/{key_id}", response_model=KeyOut, tags=["admin"])
def revoke_key(key_id: str, request: Request, key: KeyInfo = Depends(require("admin"))) -> KeyOut:
    """Revoke a key; requests with it are refused from now on."""
    return _key(service(request).revoke_key(key_id))


@router.get("/healthz", response_model=Health, tags=["operations"])
def healthz(request: Request) -> Health:
    """200 when the database answers and a bundle is active, else 503."""
    svc = service(request)
    svc.store.ping()
    return Health(status="ok", policy=PolicyRef.of(svc.active.snapshot().identity), database=svc.store.dialect)


@router.get("/metrics", tags=["operations"], response_class=Response)
def prometheus(request: Request) -> Response:
    """Prometheus exposition format."""
    telemetry = metrics(request)
    return Response(telemetry.render(), media_type=telemetry.content_type)
