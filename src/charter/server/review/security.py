"""The app's defences: a CSRF token tied to the session and checked on every unsafe request,
a login stamp that ends sessions when a password changes or an account is deactivated, and
response headers that keep pages from being framed, sniffed or loading anything remote."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from charter.review.models import User

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STATIC_PREFIX = "/static/"

# Everything is served by the app itself; nothing inline runs (data blocks are JSON).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class CsrfRejected(Exception):
    """An unsafe request without the session's CSRF token."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use, also for a visitor not yet logged in)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """App-wide dependency: a POST (or any unsafe method) must carry the session's token in
    the form field `csrf_token` or the `X-CSRF-Token` header."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get(CSRF_FIELD)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(expected, sent):
        raise CsrfRejected()


def login_stamp(user: User) -> str | None:
    """A digest of the user's credential, kept in the session at login; when the password
    changes or the account is deactivated it no longer matches and the session ends."""
    if user.password_hash is None:
        return None
    return hashlib.sha256(user.password_hash.encode("utf-8")).hexdigest()[:24]


def _is_static(scope: Scope) -> bool:
    path = scope["path"].removeprefix(scope.get("root_path", ""))
    return path.startswith(STATIC_PREFIX)


class SecurityHeaders:
    """ASGI middleware adding SECURITY_HEADERS to every response (a route may set its own CSP)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if "cache-control" not in headers and not _is_static(scope):
                    headers["cache-control"] = "no-store"  # pages show work in progress and people's labels
            await send(message)

        await self.app(scope, receive, send_with_headers)
