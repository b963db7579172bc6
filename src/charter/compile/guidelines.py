"""Human labeling guidelines: one Markdown file per category and one self-contained HTML
page (inline CSS and SVG flowcharts, no external assets), with the same rule and node IDs
as the prompts so a reviewer's path can be compared with a model's."""

from __future__ import annotations

from markupsafe import Markup

from charter.compile.flowchart import layout
from charter.compile.render import render_html, render_text
from charter.compile.stamp import html_meta, stamp_text
from charter.compile.view import CategoryView
from charter.policy.hashing import PolicyIdentity, short_hash
from charter.policy.spec import Policy


def guideline_markdown(identity: PolicyIdentity, policy: Policy, view: CategoryView) -> bytes:
    body = render_text("guideline.md.j2", v=view, policy=policy, short_hash=short_hash(identity.hash))
    return stamp_text(identity, body).encode("utf-8")


def guidelines_html(identity: PolicyIdentity, policy: Policy, views: list[CategoryView]) -> bytes:
    html = render_html(
        "guidelines.html.j2",
        policy=policy,
        views=views,
        charts={v.id: layout(v.category.tree) for v in views},
        identity=identity,
        short_hash=short_hash(identity.hash),
        stamp_meta=Markup(html_meta(identity)),
    )
    return (html.rstrip("\n") + "\n").encode("utf-8")
