"""Shared helpers for the LLM pathway tests: the compiled minimal bundle and scripted replies."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from tempfile import mkdtemp

from charter.compile import LoadedBundle, compile_policy, load_bundle, write_bundle
from charter.policy.load import load_policy_source
from charter.records import ContentItem

MINIMAL = Path(__file__).parent / "fixtures" / "minimal_policy.yaml"


@cache
def minimal_bundle() -> LoadedBundle:
    source = load_policy_source(MINIMAL)
    out = Path(mkdtemp(prefix="charter-llm-bundle-"))
    write_bundle(compile_policy(source.policy, source), out)
    return load_bundle(out)


def verdict(label: str, path: list[str], outcome: str | None, rules: list[str] = (), confidence: float = 0.9) -> str:
    return json.dumps(
        {"label": label, "rule_ids": list(rules), "tree_path": path, "outcome": outcome,
         "confidence": confidence, "rationale": "Scripted."}
    )


def answer(value: str, confidence: float = 0.9) -> str:
    return json.dumps({"answer": value, "confidence": confidence, "rationale": "Scripted."})


def category_of(messages: list[dict]) -> str:
    """Which category a prompt is about (the minimal policy's titles are distinct)."""
    system = messages[0]["content"]
    return "hate" if "Hate speech" in system else "spam_scams"


def node_of(messages: list[dict]) -> str:
    """The tree node a tree-walk prompt asks about."""
    system = messages[0]["content"]
    return system.split("Question (node ", 1)[1].split(")", 1)[0]


def items(*texts: str, market: str | None = None) -> list[ContentItem]:
    return [ContentItem(id=f"item{i}", text=t, market=market) for i, t in enumerate(texts)]
