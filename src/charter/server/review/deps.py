"""Request dependencies: one database transaction per request (committed before the response
is sent), the logged-in user, role guards, the project in the URL, and URLs that keep
working when the app is mounted under a prefix."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from charter.review.access import is_admin, is_lead
from charter.review.models import Project, User
from charter.server.review.security import login_stamp
from charter.store.sql import session_scope


class LoginRequired(Exception):
    """No valid login in the session: the handler sends the browser to the login page."""


class Forbidden(Exception):
    """The user is logged in but their role does not allow this page or action."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def database(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.sessions) as session:
        yield session


# scope="function": the transaction commits when the route returns, before the redirect
# that follows a POST reaches the browser (so the next page sees the write).
DB = Annotated[Session, Depends(database, scope="function")]


def current_user(request: Request, session: DB) -> User:
    """The logged-in user; a session whose credential changed since login (new password,
    deactivated account) is ended."""
    user_id = request.session.get("uid")
    if not isinstance(user_id, int):
        raise LoginRequired()
    user = session.get(User, user_id)
    if user is None or login_stamp(user) is None or login_stamp(user) != request.session.get("stamp"):
        request.session.clear()
        raise LoginRequired()
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def lead_user(user: CurrentUser) -> User:
    if not is_lead(user):
        raise Forbidden("This page is for leads and admins.")
    return user


def admin_user(user: CurrentUser) -> User:
    if not is_admin(user):
        raise Forbidden("This page is for admins.")
    return user


LeadUser = Annotated[User, Depends(lead_user)]
AdminUser = Annotated[User, Depends(admin_user)]


def project_in_path(pid: int, session: DB) -> Project:
    project = session.get(Project, pid)
    if project is None:
        raise NotFound(f"There is no review project {pid}.")
    return project


ProjectInPath = Annotated[Project, Depends(project_in_path)]


def app_url(request: Request, path: str) -> str:
    """`path` (absolute within the app) as the browser must request it."""
    return request.scope.get("root_path", "").rstrip("/") + path


def safe_next(request: Request, target: str | None, default: str = "/") -> str:
    """A same-site path to go back to (never an absolute or protocol-relative URL)."""
    root = request.scope.get("root_path", "").rstrip("/")
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target if root and target.startswith(root + "/") else app_url(request, target)
    return app_url(request, default)
