"""API keys: issued once, stored as a hash, scoped, revocable.

A token is `chtr_` + 32 random bytes (urlsafe base64), i.e. 256 bits of entropy. The store
keeps only its sha256. A slow, salted password hash (argon2) exists to make guessing a
low-entropy secret expensive; a 256-bit random token cannot be guessed at any speed, so
argon2 would add nothing but ~50 ms of CPU to every request, and its per-hash salt would
rule out finding the key by an indexed lookup. sha256 gives a one-step unique-index lookup,
and a leaked database still yields no usable token.

Scopes: `moderate` (POST /v1/moderate...), `read` (decisions, bundle), `admin` (keys,
hot-swap, and everything the other scopes allow)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.errors import CharterError
from charter.service.errors import NotFound
from charter.service.models import SCOPES, ApiKey

TOKEN_PREFIX = "chtr_"
ADMIN_KEY_ENV = "CHARTER_ADMIN_KEY"
MIN_TOKEN_LENGTH = 32
BOOTSTRAP_NAME = "bootstrap-admin"


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown about a key (never its token)."""

    id: str
    name: str
    scopes: tuple[str, ...]
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


@dataclass(frozen=True)
class IssuedKey:
    """A key just created: the only time its token exists outside the client."""

    info: KeyInfo
    token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(row.id, row.name, tuple(row.scopes), row.created_at, row.revoked_at)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def check_scopes(scopes: Sequence[str]) -> tuple[str, ...]:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        what = f"unknown scope(s) {', '.join(map(repr, unknown))}" if unknown else "no scope given"
        raise CharterError(f"{what}; scopes are {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in scopes)


def check_token(token: str, where: str) -> str:
    """A caller-chosen token must be as hard to guess as a generated one."""
    if len(token) < MIN_TOKEN_LENGTH or not token.isascii() or not token.isprintable() or " " in token:
        raise CharterError(
            f"{where}: an API key must be at least {MIN_TOKEN_LENGTH} printable ASCII characters without spaces "
            f"(generate one with: python -c 'import secrets; print(\"{TOKEN_PREFIX}\" + secrets.token_urlsafe(32))')"
        )
    return token


def create_api_key(
    session: Session, name: str, scopes: Sequence[str], *, token: str | None = None, now: dt.datetime | None = None
) -> IssuedKey:
    """A new key; its token is returned once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise CharterError("an API key needs a name of 1 to 100 characters (who or what uses it)")
    chosen = check_token(token, "the given token") if token is not None else new_token()
    digest = token_hash(chosen)
    if session.scalar(select(ApiKey.id).where(ApiKey.token_sha256 == digest)) is not None:
        raise CharterError("that token is already an API key")
    row = ApiKey(
        id=secrets.token_hex(6),
        name=name,
        token_sha256=digest,
        scopes=list(check_scopes(scopes)),
        created_at=_now(now),
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    return IssuedKey(_info(row), chosen)


def authenticate_key(session: Session, token: str) -> KeyInfo | None:
    """The live key with this token, or None (unknown or revoked)."""
    row = session.scalar(select(ApiKey).where(ApiKey.token_sha256 == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    return _info(row)


def list_api_keys(session: Session) -> list[KeyInfo]:
    return [_info(row) for row in session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))]


def revoke_api_key(session: Session, key_id: str, *, now: dt.datetime | None = None) -> KeyInfo:
    """Revoke at once (the next request with it is refused); revoking twice keeps the first time."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"no API key with id {key_id!r}", field="key_id")
    if row.revoked_at is None:
        row.revoked_at = _now(now)
    return _info(row)


def bootstrap_admin(session: Session, *, env: dict[str, str] | None = None, now: dt.datetime | None = None) -> IssuedKey | None:
    """Make sure an admin can get in, on first start or from $CHARTER_ADMIN_KEY.

    With the variable set, its token becomes an admin key if it is not one already (returned
    with the token, so the caller knows it was just registered). Without it, a store that has
    no live admin key gets a generated one, returned so it can be shown once; otherwise None.
    """
    given = (env if env is not None else os.environ).get(ADMIN_KEY_ENV)
    if given:
        existing = authenticate_key(session, check_token(given, f"${ADMIN_KEY_ENV}"))
        if existing is not None:
            if not existing.allows("admin"):
                raise CharterError(f"${ADMIN_KEY_ENV} is a live API key without the admin scope ({existing.id})")
            return None
        if session.scalar(select(ApiKey.id).where(ApiKey.token_sha256 == token_hash(given))) is not None:
            raise CharterError(f"${ADMIN_KEY_ENV} holds a revoked API key; set a new one")
        return create_api_key(session, BOOTSTRAP_NAME, ["admin"], token=given, now=now)
    live_admin = any(k.revoked_at is None and "admin" in k.scopes for k in list_api_keys(session))
    return None if live_admin else create_api_key(session, BOOTSTRAP_NAME, ["admin"], now=now)
