"""JSON Schemas for model replies: the single-shot verdict per category and the one-step
answer per tree node, each usable as an OpenAI `response_format` json_schema (strict mode)
or as a grammar for llama.cpp, with enums restricted to the category's own IDs."""

from __future__ import annotations

from typing import Any

from charter.compile.stamp import json_bytes, stamp_dict
from charter.compile.view import CategoryView
from charter.policy.hashing import PolicyIdentity

LABELS = ["violating", "allowed", "needs_review"]
_NAME_LIMIT = 64  # OpenAI's limit on a json_schema name


def _strict_object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


_CONFIDENCE = {"type": "number", "minimum": 0, "maximum": 1}
_RATIONALE = {"type": "string", "description": "At most 2 sentences."}


def verdict_schema(view: CategoryView) -> dict[str, Any]:
    """The single-shot verdict of one category, as a named strict json_schema entry."""
    return {
        "name": f"verdict_{view.id}"[:_NAME_LIMIT],
        "strict": True,
        "schema": _strict_object(
            {
                "label": {"type": "string", "enum": LABELS},
                "rule_ids": {"type": "array", "items": {"type": "string", "enum": view.rule_ids}},
                "tree_path": {"type": "array", "items": {"type": "string", "enum": view.node_ids}},
                "outcome": {"type": ["string", "null"], "enum": [*view.outcome_ids, None]},
                "confidence": _CONFIDENCE,
                "rationale": _RATIONALE,
            }
        ),
    }


def step_schemas(view: CategoryView) -> dict[str, Any]:
    """The one-step answer of each node of one category, keyed by node id."""
    return {
        n.id: {
            "name": f"step_{view.id}_{n.id}"[:_NAME_LIMIT],
            "strict": True,
            "schema": _strict_object(
                {
                    "answer": {"type": "string", "enum": n.answers},
                    "confidence": _CONFIDENCE,
                    "rationale": _RATIONALE,
                }
            ),
        }
        for n in view.nodes
    }


def schemas_artifact(identity: PolicyIdentity, views: list[CategoryView]) -> bytes:
    return json_bytes(
        {
            "policy": stamp_dict(identity),
            "usage": 'response_format = {"type": "json_schema", "json_schema": <entry>}',
            "single_shot": {v.id: verdict_schema(v) for v in views},
            "tree_step": {v.id: step_schemas(v) for v in views},
        }
    )
