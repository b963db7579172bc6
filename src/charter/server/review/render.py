"""Server-rendered pages: the Jinja environment (autoescaped templates shipped with the
package), the filters the templates share, and flash messages carried across a redirect."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from charter.compile.glossary import anchor, linked, plain
from charter.server.review.deps import app_url
from charter.server.review.security import CSRF_FIELD, csrf_token

HERE = Path(__file__).parent
FLASH_KEY = "flash"


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def _humanize(answer: str) -> str:
    """`condemns_or_reports` → `Condemns or reports` (answer ids as button text)."""
    text = answer.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _context(request: Request) -> dict[str, Any]:
    return {
        "csrf_token": csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "wellness": bool(request.session.get("wellness", False)),
        "title": request.app.state.settings.title,
        "url": lambda path: app_url(request, path),
    }


templates = Jinja2Templates(directory=str(HERE / "templates"), context_processors=[_context])
templates.env.filters.update(when=_when, humanize=_humanize, num=_num, pct=_pct, linked=linked, plain=plain, anchor=anchor)


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    context = {"flashes": request.session.pop(FLASH_KEY, []), **context}
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """A one-line notice shown on the next page (e.g. "Label saved")."""
    request.session[FLASH_KEY] = [*request.session.get(FLASH_KEY, []), {"kind": kind, "text": message}]


def redirect(request: Request, path: str) -> RedirectResponse:
    """303 See Other to an in-app path (a POST is always answered with a redirect)."""
    return RedirectResponse(app_url(request, path), status_code=303)
