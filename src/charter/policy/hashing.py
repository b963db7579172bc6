"""A policy's content hash: the part of its identity (id, version, hash) that cannot lie.

Two policy files hash the same exactly when they say the same thing, however they are
formatted, so every compiled artifact and every decision can be traced to the content it
was made under, and a version bump can be checked against a real content change.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from charter.policy.spec import Policy

SHORT_HASH_LENGTH = 12

# Lists of things addressed by a key, so their order in the file carries no meaning.
_KEYED_LISTS: dict[str, str] = {
    "definitions": "term",
    "actions": "id",
    "queues": "id",
    "categories": "id",
    "markets": "id",
    "severities": "id",
    "rules": "id",
    "examples": "id",
    "extra_rules": "id",
    "matchers": "id",
}
# Lists of plain values that are sets in meaning (who owns it, which languages, which tags,
# a matcher's terms, patterns or digests).
_SET_LISTS = {"owners", "languages", "keywords", "decision_visibility", "values"}
# Fields added to the format later, left out of the canonical form while at their default, so
# that a policy that does not use them keeps the hash it had before they existed.
_LATER_DEFAULTS: dict[str, object] = {"matchers": [], "requires_human": False}


def _canonical(value: Any, key: str | None = None) -> Any:
    """Sort the order-free lists below `value`; every other list keeps the written order."""
    if isinstance(value, dict):
        return {
            k: _canonical(v, k)
            for k, v in value.items()
            if not (k in _LATER_DEFAULTS and v == _LATER_DEFAULTS[k])
        }
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        if key in _KEYED_LISTS:
            return sorted(items, key=lambda item: item[_KEYED_LISTS[key]])
        if key in _SET_LISTS:
            return sorted(items)
        return items
    return value


def canonical_data(policy: Policy, *, content_only: bool = False) -> dict[str, Any]:
    """The policy as plain JSON data in canonical order (see `canonical_json`)."""
    data = _canonical(policy.model_dump(mode="json"))
    if content_only:
        data["metadata"].pop("version")
        data["metadata"].pop("changelog")
    return data


def canonical_json(policy: Policy, *, content_only: bool = False) -> str:
    """The canonical text of a validated policy: equal for policies that mean the same.

    Built from the validated model, so YAML style, comments, indentation, quoting, key order
    and spelled-out defaults never matter. Ordering rules:

    - dict keys are sorted (tree nodes, outcomes, choice options, market overrides);
    - lists of things addressed by id are sorted by it: actions, queues, categories, markets,
      severities, rules, examples, market extra_rules and matchers by `id`, definitions by `term`,
      because every consumer looks them up by id, never by position;
    - lists that are sets in meaning are sorted: owners, market languages, DSA keywords,
      decision_visibility and a matcher's values;
    - fields added to the format later (matchers, severity requires_human) are left out
      while at their default, so older policies keep their hash;
    - every other list keeps its written order: a rule's includes/excludes and an outcome's
      rule_ids are presented in that order to LLMs and reviewers (the first rule id is the
      primary one), and the changelog is a history.

    `content_only` drops metadata.version and metadata.changelog: what is left is the
    content that `policy_hash` identifies. Output is compact JSON, UTF-8 text kept as is.
    """
    return json.dumps(
        canonical_data(policy, content_only=content_only),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def policy_hash(policy: Policy) -> str:
    """SHA-256 (hex) of the canonical content, without version and changelog.

    Releasing the same content under a new version keeps the hash; any change to what the
    policy says (a rule's wording, a threshold, a tree branch, an example) changes it.
    """
    return hashlib.sha256(canonical_json(policy, content_only=True).encode("utf-8")).hexdigest()


def short_hash(full_hash: str) -> str:
    """The first 12 hex digits, for display next to id and version."""
    return full_hash[:SHORT_HASH_LENGTH]


class PolicyIdentity(BaseModel):
    """What names one policy release: its id, its semantic version and its content hash."""

    id: str
    version: str
    hash: str

    def __str__(self) -> str:
        return f"{self.id}@{self.version} ({short_hash(self.hash)})"


def identity(policy: Policy) -> PolicyIdentity:
    """The (id, version, hash) triple that artifacts and decisions are stamped with."""
    return PolicyIdentity(id=policy.id, version=policy.version, hash=policy_hash(policy))
