"""The review web app factory: sessions in signed cookies, CSRF checked once for every route,
security headers, static assets served locally (the pages work offline), and the routers."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from charter.server.review import failures, routes_admin, routes_auth, routes_lead, routes_work
from charter.server.review.security import SecurityHeaders, check_csrf
from charter.server.review.settings import ReviewSettings
from charter.store.sql import make_engine, session_factory

STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "charter_review"


def create_review_app(settings: ReviewSettings) -> FastAPI:
    """The review and labeling app over the operational store at `settings.database_url`
    (migrate it first: `charter.store.sql.migrate`)."""
    app = FastAPI(title=settings.title, docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(check_csrf)])
    engine = make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (routes_auth, routes_work, routes_lead, routes_admin):
        app.include_router(module.router)
    failures.install(app)
    return app
