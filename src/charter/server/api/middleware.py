"""ASGI middleware that must run before FastAPI parses a body: request size and encoding
limits (so a huge or non-UTF-8 body gets a clear 413/415/400, not a parser error), and
request timing for the latency histogram."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from charter.server.api.errors import error_response, route_of
from charter.server.api.metrics import ApiMetrics

BODY_METHODS = {"POST", "PUT", "PATCH"}
JSON_TYPES = ("application/json",)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class BodyLimits:
    """Reads a request body up to `max_body_bytes`, checks it is UTF-8 JSON, then hands it on.

    Only for paths under `prefix` (the JSON API), so an app mounted beside it (the review web
    app's forms) keeps its own rules."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: ApiMetrics, prefix: str = "/v1/"):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        refusal = self._declared(scope)
        body = b""
        if refusal is None:
            body, refusal = await self._read(receive)
        if refusal is None and body:
            refusal = self._content(scope, body)
        if refusal is not None:
            status, code, message, field = refusal
            await error_response(self.metrics, scope, status, code, message, field)(scope, receive, send)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self, size: str) -> tuple[int, str, str, str]:
        return 413, "payload_too_large", f"request body is {size} bytes; the limit is {self.max_body_bytes:,}", "body"

    def _declared(self, scope: Scope) -> tuple[int, str, str, str] | None:
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return self._too_large(f"{int(declared):,}")
        return None

    async def _read(self, receive: Receive) -> tuple[bytes, tuple[int, str, str, str] | None]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"", (400, "client_disconnected", "the client closed the connection mid-body", "body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return b"", self._too_large(f"over {self.max_body_bytes:,}")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), None

    def _content(self, scope: Scope, body: bytes) -> tuple[int, str, str, str] | None:
        media = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if media not in JSON_TYPES:
            return 415, "unsupported_media_type", f"send the body as JSON with Content-Type: application/json (got {media or 'none'!r})", "Content-Type header"
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return 400, "invalid_utf8", f"request body is not valid UTF-8: {exc.reason} at byte {exc.start}", "body"
        return None


class RequestTimer:
    """Observes every request's latency by method, route template and status."""

    def __init__(self, app: ASGIApp, *, metrics: ApiMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.requests.labels(scope["method"], route_of(scope), str(status["code"])).observe(
                time.perf_counter() - started
            )
