"""The single-shot LLM prompt of each category (system message) and the user-message
template that wraps the content to judge in delimiters, declared as data, never orders."""

from __future__ import annotations

import re

from charter.compile.render import render_text
from charter.compile.stamp import stamp_text
from charter.compile.view import CategoryView
from charter.policy.hashing import PolicyIdentity

OPEN_MARKER = "<<<CONTENT id={item_id} market={market}>>>"
OPEN_MARKER_DOC = "<<<CONTENT id=... market=...>>>"
CLOSE_MARKER = "<<<END CONTENT>>>"

VERDICT_CONTRACT = (
    '{"label": "violating|allowed|needs_review", "rule_ids": ["<rule id>"], '
    '"tree_path": ["<node id>"], "outcome": "<outcome id or null>", '
    '"confidence": <0..1>, "rationale": "<at most 2 sentences>"}'
)

# Policy-conditioned models do best with compact prompts (gpt-oss-safeguard's guide: 400-600
# tokens optimal), so the prompt carries the examples nearest the line; guidelines carry all.
MAX_PROMPT_EXAMPLES = 5
_KIND_ORDER = {"borderline": 0, "violating": 1, "allowed": 2}

_PLACEHOLDER = re.compile(r"\{(item_id|market|content)\}")
_NEUTRALISE = {"<<<": "‹‹‹", ">>>": "›››"}


def boundary_examples(view: CategoryView, limit: int = MAX_PROMPT_EXAMPLES) -> list:
    """Borderline examples first, then one violating and one allowed, in written order."""
    ranked = sorted(enumerate(view.examples), key=lambda pair: (_KIND_ORDER[pair[1].example.kind], pair[0]))
    chosen: list = []
    for kind in ("borderline", "violating", "allowed"):
        of_kind = [e for _, e in ranked if e.example.kind == kind]
        chosen.extend(of_kind[: max(1, limit - 2)] if kind == "borderline" else of_kind[:1])
    for _, e in ranked:  # fill up to the limit with whatever is left
        if len(chosen) >= limit:
            break
        if e not in chosen:
            chosen.append(e)
    chosen = chosen[:limit]
    return sorted(chosen, key=view.examples.index)


def system_prompt(view: CategoryView) -> str:
    """The category's single-shot system prompt, without stamp (what a model is sent)."""
    return render_text(
        "system_prompt.md.j2",
        v=view,
        examples=boundary_examples(view),
        open_marker=OPEN_MARKER_DOC,
        close_marker=CLOSE_MARKER,
        contract=VERDICT_CONTRACT,
    )


def user_template() -> str:
    """The user message with `{item_id}`, `{market}` and `{content}` placeholders."""
    return render_text("user_template.txt.j2", open_marker=OPEN_MARKER, close_marker=CLOSE_MARKER)


def prompt_artifact(identity: PolicyIdentity, view: CategoryView) -> bytes:
    return stamp_text(identity, system_prompt(view)).encode("utf-8")


def user_template_artifact(identity: PolicyIdentity) -> bytes:
    return stamp_text(identity, user_template()).encode("utf-8")


def _neutralise(text: str) -> str:
    """Break any delimiter-looking sequence so content cannot close its own block early."""
    for marker, replacement in _NEUTRALISE.items():
        text = text.replace(marker, replacement)
    return text


def render_user_message(template: str, item_id: str, content: str, market: str | None = None) -> str:
    """Fill the user template for one item; delimiter look-alikes inside content are defused."""
    values = {
        "item_id": _one_line(item_id),
        "market": _one_line(market or ""),
        "content": _neutralise(content),
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def _one_line(value: str) -> str:
    return _neutralise(" ".join(value.split())) or "none"
