"""Every error the API returns, mapped in one place to one JSON shape:
{"error": {"code", "message", "field", "problems"}} with the matching 4xx/5xx status."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from charter.errors import CharterError
from charter.server.api.metrics import ApiMetrics
from charter.service.errors import ServiceError
from charter.service.schemas import ErrorDetail, ErrorResponse

log = logging.getLogger("charter.server.api")

HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 415: "unsupported_media_type"}


def route_of(scope: dict[str, Any]) -> str:
    """The route template (bounded label values), not the raw path."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


def error_response(
    metrics: ApiMetrics, scope: dict[str, Any], status: int, code: str, message: str,
    field: str | None = None, problems: Sequence[str] = (),
) -> JSONResponse:
    metrics.error(route_of(scope), status, code)
    body = ErrorResponse(error=ErrorDetail(code=code, message=message, field=field, problems=list(problems)))
    return JSONResponse(body.model_dump(), status_code=status)


def field_name(loc: Sequence[Any]) -> str:
    """("body", "items", 0, "text") → "items[0].text"; headers keep their name."""
    where, *rest = loc if loc else ("body",)
    out = ""
    for part in rest:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    if where == "header":
        return "-".join(w.capitalize() for w in out.split("-")) + " header"
    return out or "body"


def _validation(metrics: ApiMetrics, request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0]
    if first["type"] == "json_invalid":
        position = first["loc"][-1]
        detail = first.get("ctx", {}).get("error", "JSON decode error")
        return error_response(
            metrics, request.scope, 400, "malformed_json", f"request body is not valid JSON: {detail} (at character {position})",
            field="body",
        )
    problems = [f"{field_name(e['loc'])}: {e['msg']}" for e in errors]
    return error_response(
        metrics, request.scope, 422, "invalid_request", f"{len(errors)} problem(s) in the request: {problems[0]}",
        field=field_name(first["loc"]), problems=problems,
    )


def install_error_handlers(app: FastAPI, metrics: ApiMetrics) -> None:
    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> JSONResponse:
        return error_response(metrics, request.scope, exc.status, exc.code, exc.message, exc.field, [str(p) for p in exc.problems])

    @app.exception_handler(CharterError)
    async def _charter(request: Request, exc: CharterError) -> JSONResponse:
        return error_response(metrics, request.scope, 400, "bad_request", exc.message, None, [str(p) for p in exc.problems])

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation(metrics, request, exc)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(metrics, request.scope, exc.status_code, code, f"{exc.detail}: {request.method} {request.url.path}")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(
            metrics, request.scope, 500, "internal_error",
            f"the service failed on this request ({type(exc).__name__}); it is logged on the server",
        )
