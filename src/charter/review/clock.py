"""The store's one notion of "now" (aware UTC), passed explicitly so tests can move time."""

from __future__ import annotations

import datetime as dt

from charter.errors import CharterError


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def resolve_now(value: dt.datetime | None, name: str = "now") -> dt.datetime:
    """`value` as aware UTC, or the current time when None; naive datetimes are refused."""
    if value is None:
        return utcnow()
    if value.tzinfo is None:
        raise CharterError(f"{name} must be a timezone-aware datetime (UTC), got naive {value.isoformat()}")
    return value.astimezone(dt.UTC)
