"""Shared helpers for the rules and cascade tests: the compiled example bundle, a classifier
whose scores are scripted per text, and a replay LLM whose verdict is scripted per
(category, text) and is always a valid walk of that category's tree."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from tempfile import mkdtemp

import numpy as np

from charter.compile import LoadedBundle, compile_policy, load_bundle, write_bundle
from charter.engines.classifier import TrainedClassifier, train_classifier
from charter.engines.llm import BackendError, ReplayBackend
from charter.engines.normalize import Normalized
from charter.policy.load import load_policy_source
from charter.policy.spec import Category

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples" / "policy.yaml"
SCORED = ("spam_scams", "hate", "violent_threats", "self_harm")


@cache
def example_bundle() -> LoadedBundle:
    source = load_policy_source(EXAMPLE)
    out = Path(mkdtemp(prefix="charter-cascade-bundle-"))
    write_bundle(compile_policy(source.policy, source), out)
    return load_bundle(out)


@cache
def _trained() -> TrainedClassifier:
    """A real (tiny) model for the example policy: its card and weights are real, its scores
    are replaced by the script below."""
    texts = [f"spam prize call now {i}" for i in range(6)] + [f"lunch tomorrow at noon {i}" for i in range(6)]
    gold = {c: np.array([1.0] * 6 + [0.0] * 6) for c in SCORED}
    return train_classifier(texts, gold, example_bundle().policy)


@dataclass
class ScriptedClassifier(TrainedClassifier):
    """Scores come from `script` (normalized text → category → score); unlisted texts score 0."""

    script: Mapping[str, Mapping[str, float]] | None = None

    def score_normalized(self, normalized: list[Normalized]) -> dict[str, np.ndarray]:  # type: ignore[override]
        script = self.script or {}
        return {c: np.array([script.get(n.text, {}).get(c, 0.0) for n in normalized]) for c in self.categories}


def scripted_classifier(script: Mapping[str, Mapping[str, float]]) -> ScriptedClassifier:
    model = _trained()
    return ScriptedClassifier(model.card, model.weights, model.intercepts, script=script)


def _path_to(category: Category, label: str) -> tuple[list[str], str]:
    """The first (breadth-first) walk from the root to an outcome with `label`."""
    tree = category.tree
    queue = [(tree.root, [tree.root])]
    while queue:
        node, path = queue.pop(0)
        for target in tree.nodes[node].branches().values():
            if target in tree.outcomes and tree.outcomes[target].label == label:
                return path, target
            if target in tree.nodes and target not in path:
                queue.append((target, [*path, target]))
    raise AssertionError(f"{category.id} has no {label} outcome")


def verdict_for(category: Category, label: str, confidence: float = 0.9) -> str:
    path, outcome = _path_to(category, label)
    return json.dumps({
        "label": label, "rule_ids": list(category.tree.outcomes[outcome].rule_ids), "tree_path": path,
        "outcome": outcome, "confidence": confidence, "rationale": "Scripted.",
    })  # fmt: skip


Reply = str  # "allowed", "violating", "needs_review", "low" (allowed at confidence 0.2), "fail"


def scripted_llm(script: Callable[[str, str], Reply], bundle: LoadedBundle | None = None) -> ReplayBackend:
    """A replay backend answering `script(category, user_message)` for every single-shot prompt."""
    bundle = bundle or example_bundle()
    prompts = {bundle.system_prompt(c): bundle.policy.category(c) for c in bundle.policy.category_ids()}

    def reply(messages: list[dict], options: dict) -> str | BaseException:
        category = prompts[messages[0]["content"]]
        wanted = script(category.id, messages[1]["content"])
        if wanted == "fail":
            return BackendError("connection refused (scripted)")
        if wanted == "low":
            return verdict_for(category, "allowed", confidence=0.2)
        return verdict_for(category, wanted)

    return ReplayBackend(reply)


def by_marker(markers: Mapping[str, Mapping[str, Reply]], default: Reply = "allowed") -> Callable[[str, str], Reply]:
    """A script: the reply for a category is markers[m][category] for the first marker m in the text."""

    def script(category: str, text: str) -> Reply:
        for marker, replies in markers.items():
            if marker in text:
                return replies.get(category, default)
        return default

    return script
