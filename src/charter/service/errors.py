"""The service's user errors, each with the HTTP status and stable code a client acts on.

They are CharterErrors, so the CLI prints them like any other; the HTTP layer maps them to
JSON in one place (`charter.server.api.errors`)."""

from __future__ import annotations

from charter.errors import CharterError, Problem


class ServiceError(CharterError):
    """A request the service refuses; `field` names the part of the request that is wrong."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, problems: list[Problem] | None = None):
        super().__init__(message, problems)
        self.field = field


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class IdempotencyConflict(ServiceError):
    status = 409
    code = "idempotency_conflict"


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


class InvalidRequest(ServiceError):
    status = 422
    code = "invalid_request"


class BundleRefused(ServiceError):
    """A bundle that failed its manifest check, lint, or engine construction; the active one stays."""

    status = 422
    code = "bundle_refused"


class Unavailable(ServiceError):
    status = 503
    code = "unavailable"
