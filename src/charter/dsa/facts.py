"""The free-text fields of a statement of reasons, written from the policy (rule statements,
the tree walk, the action) and a description of the content, never the content itself, and
with personal data removed from anything a model or reviewer wrote."""

from __future__ import annotations

import re

from charter.dsa.attribution import Attribution
from charter.dsa.redact import personal_data_kinds, redact
from charter.policy.spec import Action, Policy
from charter.records import ContentItem, Decision

TERM = re.compile(r"\[\[([^\]]+)\]\]")
QUOTE_MIN = 12
PATHWAY_NAMES = {
    "rules": "automated rules",
    "classifier": "an automated classifier",
    "llm": "an automated language-model reviewer",
    "cascade": "an automated cascade of moderation systems",
    "human": "a human reviewer",
    "external": "an external moderation system",
}


def plain(text: str) -> str:
    """Policy prose without [[definition]] markup or line breaks."""
    return " ".join(TERM.sub(r"\1", text).split())


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word with an ellipsis when it had to be cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def _rule_list(attribution: Attribution) -> str:
    return "; ".join(f"{r.id} {plain(r.title)}" for r in attribution.rules)


def ground_text(attribution: Attribution, policy: Policy, action: Action, limit: int = 500) -> str:
    """The provision of the terms applied: policy, version, section and rule IDs with titles."""
    section = f"{policy.metadata.title} ({policy.id} {policy.version}), section {plain(attribution.category.title)}"
    if attribution.rules:
        return clip(f"{section}: rule {_rule_list(attribution)}", limit)
    candidates = _rules_for_action(attribution, action)
    listed = "; ".join(f"{r.id} {plain(r.title)}" for r in candidates)
    tail = f" (rules calling for {action.id}: {listed})" if listed else ""
    return clip(section + tail, limit)


def _rules_for_action(attribution: Attribution, action: Action):
    category = attribution.category
    return [r for r in category.rules if (s := category.severity(r.severity)) and s.default_action == action.id]


def explanation_text(attribution: Attribution, action: Action, limit: int = 2000) -> str:
    """Why the content breaks the terms: the rule statements and the tree outcome reached."""
    category = attribution.category
    parts = [f"{plain(category.title)}: {plain(category.description)}"]
    if attribution.rules:
        parts += [f"Rule {r.id} ({plain(r.title)}): {plain(r.statement)}" for r in attribution.rules]
    else:
        parts.append(
            "The content was found to fall under this section as a whole; no single rule was identified. "
            + " ".join(f"Rule {r.id}: {plain(r.statement)}" for r in _rules_for_action(attribution, action))
        )
    if attribution.outcome is not None:
        parts.append(
            f"The section's decision tree reached the outcome {attribution.outcome_id!r} "
            f"({attribution.outcome.label}, action {attribution.outcome.action or action.id})."
        )
    parts.append(f"Action taken: {action.id}: {plain(action.description)}")
    return clip(redact(" ".join(parts)), limit)


def describe_content(item: ContentItem, content_types: list[str]) -> str:
    """What was restricted, described without quoting it."""
    kinds = [t.removeprefix("CONTENT_TYPE_").lower().replace("_", " ") for t in content_types]
    words = len(item.text.split())
    text = f"The restricted item is {', '.join(kinds)} content"
    if item.text.strip():
        text += f" with {words} word{'s' * (words != 1)} of text"
    if item.media:
        text += f" and {len(item.media)} media attachment{'s' * (len(item.media) != 1)}"
    if item.surface:
        text += f", posted on the {item.surface} surface"
    text += "."
    found = personal_data_kinds(item.text)
    if found:
        listed = ", ".join(f"{n} {kind}{'s' * (n != 1)}" for kind, n in found.items())
        text += f" Its text contains {listed} (not reproduced here)."
    return text


def _unquoted(rationale: str, item: ContentItem) -> str:
    """The rationale without verbatim quotes of the content's text."""
    text = item.text.strip()
    if len(text) >= QUOTE_MIN and text in rationale:
        rationale = rationale.replace(text, "[quoted content]")
    return rationale


def facts_text(
    decision: Decision,
    item: ContentItem,
    policy: Policy,
    attribution: Attribution,
    action: Action,
    content_types: list[str],
    decider: str,
    detector: str | None = None,
    limit: int = 5000,
) -> str:
    """The facts and circumstances: what, how it was found, what was decided, and why."""
    parts = [describe_content(item, content_types)]
    how = f"It was assessed by {PATHWAY_NAMES.get(decider, decider)}"
    if detector and detector != decider:
        how = f"It was flagged by {PATHWAY_NAMES.get(detector, detector)} and assessed by {PATHWAY_NAMES.get(decider, decider)}"
    if decision.model_version and decider != "human":
        how += f" ({decision.model_version})"
    how += f" under {policy.metadata.title} version {decision.policy_version} (content hash {decision.policy_hash[:12]})."
    parts.append(how)
    rules = f" under rule {_rule_list(attribution)}" if attribution.rules else ""
    finding = f"It was found to violate the section {plain(attribution.category.title)}{rules}"
    if attribution.additional:
        finding += "; it also violates " + ", ".join(plain(c.title) for c in attribution.additional)
    parts.append(finding + ".")
    if attribution.steps:
        walk = "; ".join(f"{plain(q)} {a}" for q, a in attribution.steps)
        parts.append(f"Decision tree answers: {walk}.")
    parts.append(f"Action taken: {action.id}: {plain(action.description)}")
    head = redact(" ".join(parts))
    if decision.rationale:
        room = limit - len(head) - 40
        rationale = clip(redact(_unquoted(decision.rationale, item)), max(room, 0))
        if rationale:
            head += f" Recorded rationale (personal data removed): {rationale}"
    return clip(head, limit)
