"""Idempotency keys: a retried request (same client, same key, same body) gets the decisions
the first one got and is not decided again; the same key with another body is a conflict.

The fingerprint is the sha256 of the route and the request's canonical JSON (the parsed
body, keys sorted), so a retry that only re-formats its JSON is still the same request."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy.orm import Session

from charter.service.errors import IdempotencyConflict, InvalidRequest
from charter.service.models import IdempotencyKey

MAX_KEY_LENGTH = 255
HEADER = "Idempotency-Key"


def check_key(key: str) -> str:
    """Keys are 1-255 printable ASCII characters (a UUID is the usual choice)."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidRequest(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters (e.g. a UUID)", field=HEADER
        )
    return key


def fingerprint(route: str, body: Any) -> str:
    canonical = json.dumps({"route": route, "body": body}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def replay(session: Session, api_key_id: str, key: str, print_: str) -> list[str] | None:
    """The decision ids this key already answered with, None if it is new; a conflict if the
    key was used for another request."""
    row = session.get(IdempotencyKey, (api_key_id, key))
    if row is None:
        return None
    if row.fingerprint != print_:
        raise IdempotencyConflict(
            f"{HEADER} {key!r} was already used on {row.route} at {row.created_at.isoformat()} for a different "
            "request body; use a new key for a new request",
            field=HEADER,
        )
    return list(row.decision_ids)


def remember(
    session: Session, api_key_id: str, key: str, route: str, print_: str, decision_ids: list[str], now: dt.datetime
) -> None:
    session.add(
        IdempotencyKey(
            api_key_id=api_key_id, key=key, route=route, fingerprint=print_, decision_ids=decision_ids, created_at=now
        )
    )
