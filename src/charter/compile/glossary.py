"""Which glossary terms a category's text uses, and how `[[term]]` references are rendered.

Policy text may mark a defined term as `[[term]]`; a prompt shows it as plain text, a
guideline links it to the glossary. A prompt only carries the definitions its category uses,
to stay near the length that policy-conditioned models handle best.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import Markup, escape

from charter.policy.spec import Category, Definition, Policy

TERM_REF = re.compile(r"\[\[([^\[\]]+)\]\]")


def plain(text: str | None) -> str:
    """`text` with `[[term]]` markup replaced by the bare term."""
    return TERM_REF.sub(lambda m: m.group(1).strip(), text or "")


def anchor(term: str) -> str:
    """The HTML id of a term's glossary entry."""
    return "term-" + re.sub(r"[^a-z0-9]+", "-", term.casefold()).strip("-")


def linked(text: str | None) -> Markup:
    """HTML-escaped `text` whose `[[term]]` references link to the glossary."""
    parts: list[str] = []
    last = 0
    source = text or ""
    for match in TERM_REF.finditer(source):
        term = match.group(1).strip()
        parts.append(str(escape(source[last : match.start()])))
        parts.append(f'<a class="term" href="#{anchor(term)}">{escape(term)}</a>')
        last = match.end()
    parts.append(str(escape(source[last:])))
    return Markup("".join(parts))


def category_texts(category: Category, extra: Iterable[str] = ()) -> list[str]:
    """Every piece of policy-authored text of a category a reader sees next to the tree."""
    texts: list[str | None] = [category.title, category.description]
    for rule in category.rules:
        texts += [rule.title, rule.statement, *rule.includes, *rule.excludes]
    for node in category.tree.nodes.values():
        texts += [node.question, node.guidance]
    for outcome in category.tree.outcomes.values():
        texts += [outcome.note, outcome.escalate.reason if outcome.escalate else None]
    for example in category.examples:
        texts += [example.text, example.rationale]
    return [t for t in (*texts, *extra) if t]


def _mentions(text: str, term: str) -> bool:
    """Whether `text` mentions `term` as a word (plural forms included), ignoring case."""
    pattern = r"(?<![\w-])" + re.escape(term.casefold()) + r"(?:s|es)?(?![\w-])"
    return re.search(pattern, text.casefold()) is not None


def terms_in(definitions: Iterable[Definition], texts: Iterable[str]) -> list[Definition]:
    """The definitions `texts` reference (`[[term]]` or a plain mention), in glossary order."""
    texts = list(texts)
    referenced = {m.group(1).strip().casefold() for t in texts for m in TERM_REF.finditer(t)}
    joined = "\n".join(plain(t) for t in texts)
    return [d for d in definitions if d.term.casefold() in referenced or _mentions(joined, d.term)]


def terms_used(policy: Policy, texts: Iterable[str]) -> list[Definition]:
    """The definitions a category's `texts` use.

    When no term is found at all the category's wording cannot tell which definitions
    matter, so every definition is returned rather than none.
    """
    return terms_in(policy.definitions, texts) or list(policy.definitions)
