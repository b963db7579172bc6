"""Request dependencies: the app's service and metrics, and API-key authentication by scope."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from charter.server.api.metrics import ApiMetrics
from charter.service.errors import Forbidden, Unauthorized
from charter.service.keys import KeyInfo
from charter.service.moderation import ModerationService

API_KEY_HEADER = "X-API-Key"
_header = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="an API key (`charter keys create`); scopes: moderate, read, admin"
)


def service(request: Request) -> ModerationService:
    return request.app.state.service


def metrics(request: Request) -> ApiMetrics:
    return request.app.state.metrics


def require(scope: str) -> Callable[..., KeyInfo]:
    """A dependency that admits a live key holding `scope` (admin holds every scope)."""

    def authenticated(request: Request, token: str | None = Security(_header)) -> KeyInfo:
        if not token:
            raise Unauthorized(f"missing {API_KEY_HEADER} header: send an API key", field=API_KEY_HEADER)
        key = service(request).authenticate(token)
        if key is None:
            raise Unauthorized(f"the {API_KEY_HEADER} is not a live API key (unknown or revoked)", field=API_KEY_HEADER)
        if not key.allows(scope):
            raise Forbidden(
                f"API key {key.id} ({key.name}) lacks the {scope!r} scope; it has {', '.join(key.scopes)}",
                field=API_KEY_HEADER,
            )
        return key

    return authenticated
