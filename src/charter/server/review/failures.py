"""Errors mapped once to pages people can act on: a login redirect, a 403 for a role or a
stale form, a clear page for an expired or closed lease, 400/422 for bad input naming the
field, 404. Never a traceback."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from urllib.parse import quote

from charter.errors import CharterError
from charter.review.leases import LeaseError
from charter.server.review.deps import Forbidden, LoginRequired, NotFound, app_url
from charter.server.review.render import page
from charter.server.review.security import CsrfRejected

LEASE_PAGES = {
    "expired": (409, "Your lease on this task expired",
                "You held this task longer than the lease allows, so it went back to the queue for another "
                "reviewer. Nothing was saved for it. Take the next task to continue."),
    "closed": (409, "This task is already done",
               "This lease was already submitted, skipped or handed back. Take the next task to continue."),
    "not_held": (404, "This task is not in your work", "It was never leased to you. Take the next task from your queues."),
    "missing": (404, "This task is not in your work", "There is no such lease. Take the next task from your queues."),
}


def _error(request: Request, status: int, heading: str, message: str, problems: list[str] | None = None) -> Response:
    return page(request, "error.html", {"heading": heading, "message": message, "problems": problems or [],
                                        "status": status, "user": None}, status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(app_url(request, "/login") + "?next=" + quote(target, safe="/"), status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return _error(request, 403, "Not allowed", exc.message)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, "Not found", exc.message)

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, exc: CsrfRejected) -> Response:
        return _error(request, 403, "This form has expired",
                      "The form was missing its security token or came from another page or site. "
                      "Go back, reload the page and try again.")

    @app.exception_handler(LeaseError)
    async def _lease(request: Request, exc: LeaseError) -> Response:
        status, heading, message = LEASE_PAGES[exc.problem]
        project = request.path_params.get("pid")
        return page(request, "lease.html", {"heading": heading, "message": message, "detail": exc.message,
                                            "pid": project, "user": None}, status_code=status)

    @app.exception_handler(CharterError)
    async def _user_error(request: Request, exc: CharterError) -> Response:
        return _error(request, 400, "That did not work", exc.message, [str(p) for p in exc.problems])

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [f"{'.'.join(str(p) for p in e['loc'] if p not in ('body', 'query', 'path'))}: {e['msg']}"
                    for e in exc.errors()]
        return _error(request, 422, "Some fields are not valid", "Correct the form and send it again.", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        heading = {404: "Not found", 405: "Not allowed here"}.get(exc.status_code, "Request failed")
        return _error(request, exc.status_code, heading, str(exc.detail))
