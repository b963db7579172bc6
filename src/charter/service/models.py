"""The enforcement service's tables: the durable decision log (one row per Decision, the full
record as JSON beside indexed columns, and the item it judged, so statements of reasons can be
built from the store alone), the policies decisions were made under, bundle activations (who
made which bundle live, when), API keys (only a hash of each token) and idempotency keys."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from charter.store.sql import Base

SCOPES = ("moderate", "read", "admin")


class ServicePolicy(Base):
    """A policy the service has enforced, kept whole so the log explains itself later."""

    __tablename__ = "service_policies"

    policy_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[str] = mapped_column(String(64))
    policy_json: Mapped[str] = mapped_column(Text, doc="the bundle's policy.json")
    first_active_at: Mapped[dt.datetime]


class ApiKey(Base):
    """A client credential. The token itself is never stored: only its sha256, which is
    enough for a 256-bit random token (see `charter.service.keys`)."""

    __tablename__ = "service_api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]]
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class BundleActivation(Base):
    """One bundle becoming the active one (at startup or by a hot-swap)."""

    __tablename__ = "service_bundle_activations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_hash: Mapped[str] = mapped_column(ForeignKey("service_policies.policy_hash"))
    bundle_root: Mapped[str] = mapped_column(String(1000))
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    engine: Mapped[dict[str, Any]] = mapped_column(doc="the engine's describe()")
    api_key_id: Mapped[str | None] = mapped_column(ForeignKey("service_api_keys.id"), doc="NULL: at startup")
    activated_at: Mapped[dt.datetime]


class StoredDecision(Base):
    """One Decision the service returned, committed before the response left."""

    __tablename__ = "service_decisions"
    __table_args__ = (
        Index("ix_service_decisions_item", "item_id"),
        Index("ix_service_decisions_policy", "policy_hash", "seq"),
        Index("ix_service_decisions_created", "created_at"),
        Index("ix_service_decisions_route", "pathway", "decided_by", "action"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, doc="insertion order, for ordered exports")
    decision_id: Mapped[str] = mapped_column(String(100), unique=True)
    item_id: Mapped[str] = mapped_column(String(500))
    pathway: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[str] = mapped_column(String(64), doc="extra['decided_by'] of a cascade, else the pathway")
    action: Mapped[str] = mapped_column(String(64))
    policy_id: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[str] = mapped_column(String(64))
    policy_hash: Mapped[str] = mapped_column(ForeignKey("service_policies.policy_hash"))
    created_at: Mapped[dt.datetime]
    api_key_id: Mapped[str | None] = mapped_column(ForeignKey("service_api_keys.id"))
    decision: Mapped[dict[str, Any]] = mapped_column(doc="the Decision as JSON")
    item: Mapped[dict[str, Any]] = mapped_column(doc="the ContentItem as JSON")


class IdempotencyKey(Base):
    """A client's Idempotency-Key: what it answered, and a fingerprint of the request it
    answered, so a retry gets the same decisions and a reused key with another body is refused."""

    __tablename__ = "service_idempotency_keys"

    api_key_id: Mapped[str] = mapped_column(ForeignKey("service_api_keys.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    route: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64), doc="sha256 of the route and the canonical request body")
    decision_ids: Mapped[list[str]]
    created_at: Mapped[dt.datetime]
