"""The Jinja environments for compiled artifacts: templates are package data under
compile/templates, text artifacts are rendered verbatim and HTML is autoescaped."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from charter.compile.glossary import anchor, linked, plain


def _quote(text: str) -> str:
    """A one-line JSON string literal, so example content cannot break a prompt's layout."""
    return json.dumps(" ".join(text.split()), ensure_ascii=False)


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("charter.compile", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(plain=plain, linked=linked, anchor=anchor, quote=_quote)
    return env


@cache
def text_env() -> Environment:
    return _environment(autoescape=False)


@cache
def html_env() -> Environment:
    return _environment(autoescape=True)


def render_text(template: str, **context: Any) -> str:
    return text_env().get_template(template).render(**context)


def render_html(template: str, **context: Any) -> str:
    return html_env().get_template(template).render(**context)
