"""Request and response shapes of the enforcement service, shared by the core and the HTTP API
(FastAPI validates with them and documents them at /docs). Items and decisions are the
project's own records, so a client posts exactly what an Engine takes."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from charter.policy.hashing import PolicyIdentity
from charter.records import ContentItem, Decision

Scope = Literal["moderate", "read", "admin"]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatchRequest(Schema):
    items: list[ContentItem] = Field(min_length=1, description="items to moderate, decided under one bundle")


class PolicyRef(Schema):
    id: str
    version: str
    hash: str

    @classmethod
    def of(cls, identity: PolicyIdentity) -> PolicyRef:
        return cls(id=identity.id, version=identity.version, hash=identity.hash)


class ModerateResponse(Schema):
    decision: Decision
    policy: PolicyRef = Field(description="the bundle the decision was made under")
    replayed: bool = Field(description="true when an Idempotency-Key retry returned the stored decision")


class BatchResponse(Schema):
    decisions: list[Decision] = Field(description="one per item, in request order")
    policy: PolicyRef
    replayed: bool


class LoggedDecisionOut(Schema):
    decision: Decision
    item: ContentItem
    decided_by: str
    created_at: dt.datetime


class BundleOut(Schema):
    policy: PolicyRef
    bundle_root: str
    artifacts: list[dict[str, Any]] = Field(description="the manifest's artifacts (path, sha256)")
    model_dir: str | None
    engine: dict[str, Any]
    activated_at: dt.datetime


class SwapRequest(Schema):
    bundle: str = Field(min_length=1, description="path of a compiled bundle on the server")
    model: str | None = Field(default=None, description="classifier model directory; default: keep the current one")


class SwapResponse(Schema):
    active: BundleOut
    previous: PolicyRef | None


class KeyCreate(Schema):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)


class KeyOut(Schema):
    id: str
    name: str
    scopes: list[Scope]
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class IssuedKeyOut(KeyOut):
    token: str = Field(description="shown once; only its sha256 is stored")


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None = None
    problems: list[str] = Field(default_factory=list)


class ErrorResponse(Schema):
    error: ErrorDetail


class Health(Schema):
    status: Literal["ok"]
    policy: PolicyRef
    database: str
