"""Logging in and out with the review store's argon2 accounts, and the per-user wellness
preference (kept in the session)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from charter.review.leases import release_open_leases
from charter.review.users import authenticate
from charter.server.review.deps import DB, CurrentUser, LoginRequired, current_user, safe_next
from charter.server.review.render import flash, page, redirect
from charter.server.review.security import login_stamp

router = APIRouter()


@router.get("/login")
def login_form(request: Request, session: DB, next: str | None = None) -> Response:
    try:
        current_user(request, session)
        return RedirectResponse(safe_next(request, next), status_code=303)
    except LoginRequired:
        return page(request, "login.html", {"next": next or "", "user": None, "error": None})


@router.post("/login")
def login(
    request: Request,
    session: DB,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    user = authenticate(session, username.strip(), password)
    if user is None:
        return page(request, "login.html", {"next": next, "user": None, "username": username,
                                            "error": "Wrong username or password."}, status_code=401)
    wellness = request.session.get("wellness", False)
    request.session.clear()  # a fresh session (and CSRF token) at every login
    request.session.update(uid=user.id, stamp=login_stamp(user), csrf=secrets.token_urlsafe(32), wellness=wellness)
    return RedirectResponse(safe_next(request, next), status_code=303)


@router.post("/logout")
def logout(request: Request, session: DB, user: CurrentUser) -> Response:
    """Hand back any task still leased (so its slot does not wait for the lease to expire)."""
    release_open_leases(session, user)
    wellness = request.session.get("wellness", False)
    request.session.clear()
    request.session["wellness"] = wellness  # a protective choice outlives the login in this browser
    return redirect(request, "/login")


@router.post("/prefs/wellness")
def toggle_wellness(
    request: Request, user: CurrentUser, back: Annotated[str, Form(max_length=2000)] = "/"
) -> Response:
    """Reviewer wellness mode: media blurred and text hidden until clicked."""
    request.session["wellness"] = not request.session.get("wellness", False)
    if request.headers.get("accept") == "application/json":
        return JSONResponse({"wellness": request.session["wellness"]})
    flash(request, "Wellness mode is " + ("on: content stays hidden until you reveal it." if request.session["wellness"] else "off."))
    return RedirectResponse(safe_next(request, back), status_code=303)
