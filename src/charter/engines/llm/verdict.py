"""Reading a model's reply as a verdict: extract the JSON object, validate it against the
bundle's output schema, then against the decision tree itself (the path must be a real walk
from the root, the outcome must follow from its last node, and the label and rule IDs must
be the outcome's). Every failure is a `VerdictError` whose message is sent back to the model
in the one repair attempt, and kept with the escalation if the repair fails too."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from charter.policy.spec import Category

_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$", re.IGNORECASE)


class VerdictError(ValueError):
    """The reply is not a valid verdict; the message says why, in words a model can act on."""


@dataclass(frozen=True)
class Step:
    """One answered node of a tree walk."""

    node: str
    answer: str
    confidence: float
    rationale: str = ""


@dataclass(frozen=True)
class Verdict:
    """A validated verdict for one category (before routing to an action)."""

    label: str
    rule_ids: list[str]
    tree_path: list[str]
    outcome: str | None
    confidence: float
    rationale: str
    steps: list[Step] = field(default_factory=list)
    market_step: Step | None = None


def parse_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in `text` (code fences and surrounding prose tolerated)."""
    if not text or not text.strip():
        raise VerdictError("the reply was empty; reply with the JSON object")
    cleaned = _FENCE.sub("", text.strip())
    start = cleaned.find("{")
    if start < 0:
        raise VerdictError("the reply contains no JSON object")
    try:
        value, _ = json.JSONDecoder().raw_decode(cleaned[start:])
    except json.JSONDecodeError as exc:
        raise VerdictError(f"the reply is not valid JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(value, dict):
        raise VerdictError("the reply's JSON is not an object")
    return value


def check_schema(value: dict[str, Any], schema_entry: dict[str, Any]) -> None:
    """Validate against a bundle json_schema entry ({name, strict, schema})."""
    validator = Draft202012Validator(schema_entry.get("schema", schema_entry))
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        details = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or 'reply'}: {e.message}" for e in errors[:3])
        raise VerdictError(f"the reply does not match the output schema: {details}")


def check_tree(value: dict[str, Any], category: Category, market_rules: set[str]) -> Verdict:
    """Check a schema-valid single-shot reply against the category's tree.

    `market_rules` are the extra rule IDs that apply in the item's market: they may be added
    to rule_ids, and then the label must be violating.
    """
    tree = category.tree
    path: list[str] = list(value["tree_path"])
    label, outcome_id, rule_ids = value["label"], value["outcome"], list(value["rule_ids"])
    if not path or path[0] != tree.root:
        raise VerdictError(f"tree_path must start at the root node {tree.root!r}")
    if len(set(path)) != len(path):
        raise VerdictError("tree_path visits a node twice")
    for here, there in zip(path, path[1:]):
        if there not in tree.nodes[here].branches().values():
            raise VerdictError(f"tree_path goes from {here!r} to {there!r}, but no answer at {here!r} leads there")
    extras = {r for r in rule_ids if r in market_rules}
    stated = set(rule_ids) - extras
    if outcome_id is None:
        if label != "needs_review" or rule_ids:
            raise VerdictError('outcome null means you stopped for review: label must be "needs_review" and rule_ids empty')
    else:
        if outcome_id not in tree.nodes[path[-1]].branches().values():
            raise VerdictError(f"outcome {outcome_id!r} does not follow from the last node {path[-1]!r} of tree_path")
        outcome = tree.outcomes[outcome_id]
        expected_label = "violating" if extras else outcome.label
        if label != expected_label:
            raise VerdictError(f"outcome {outcome_id!r} has label {expected_label!r}, the reply says {label!r}")
        if stated != set(outcome.rule_ids):
            want = ", ".join(outcome.rule_ids) or "none"
            raise VerdictError(f"outcome {outcome_id!r} applies rule_ids [{want}], the reply gives [{', '.join(rule_ids)}]")
    return Verdict(
        label=label,
        rule_ids=sorted(set(rule_ids), key=rule_ids.index),
        tree_path=path,
        outcome=outcome_id,
        confidence=float(value["confidence"]),
        rationale=str(value["rationale"]),
    )
