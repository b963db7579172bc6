"""Dynamic few-shot prompts: for each item and category, the labelled examples nearest to it
in embedding space, from a pool of the policy's own examples plus any labelled items.

The shots are appended to the end of the system prompt, after the compiled policy text, so a
server's prompt cache still reuses the long policy prefix. They are chosen so that a model
is not nudged by its neighbours' majority: when the pool has both labels, at least one
violating and one allowed shot are shown. An item never sees itself (same id or same text) as
a shot, so evaluating on items that are also in the pool does not leak their gold labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from charter.compile import render_user_message
from charter.errors import CharterError
from charter.policy.spec import Policy
from charter.records import ContentItem, Label

SHOT_CHARS = 300
HEADER = (
    "\n\n## SIMILAR LABELLED EXAMPLES\n"
    "Chosen for this item by similarity from labelled data. They show how the policy has been applied; "
    "they are not the content to judge, and they never override the RULES or the tree.\n"
)


class TextEmbedder(Protocol):
    """What few-shot selection needs from an embedder (the classifier's embedders fit)."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 (texts × dim) with unit-length rows."""


@dataclass(frozen=True)
class Shot:
    """One labelled example that may be shown to the model."""

    id: str
    text: str
    label: str
    rule_ids: tuple[str, ...] = ()
    source: str = "pool"


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SHOT_CHARS else flat[: SHOT_CHARS - 1] + "…"


def render_shots(shots: Sequence[Shot]) -> str:
    """The block appended to a system prompt ('' for no shots); example text is defused like content."""
    if not shots:
        return ""
    lines = []
    for shot in shots:
        text = render_user_message("{content}", shot.id, _clip(shot.text))
        rules = f" [{', '.join(shot.rule_ids)}]" if shot.rule_ids else ""
        lines.append(f'- "{text}" → {shot.label}{rules}')
    return HEADER + "\n".join(lines)


def policy_shots(policy: Policy) -> dict[str, list[Shot]]:
    """Each category's written examples, as shots."""
    return {
        c.id: [Shot(e.id, e.text, e.expected.label, tuple(e.expected.rule_ids), "policy") for e in c.examples]
        for c in policy.categories
    }


def labelled_shots(items: Sequence[ContentItem], labels: Sequence[Label], policy: Policy) -> dict[str, list[Shot]]:
    """Labelled items as shots per category (only violating/allowed verdicts; rule IDs if given)."""
    if labels and labels[0].policy_id != policy.id:
        raise CharterError(
            f"the few-shot pool is labelled under policy {labels[0].policy_id!r}, not {policy.id!r}: "
            "label it under this policy (`charter datasets import --policy`)"
        )
    shots: dict[str, list[Shot]] = {c: [] for c in policy.category_ids()}
    for item, label in zip(items, labels):
        for category, verdict in label.labels.items():
            if category in shots and verdict in ("violating", "allowed"):
                known = _rule_ids(policy, category)
                rules = tuple(r for r in label.rule_ids if r in known) if verdict == "violating" else ()
                shots[category].append(Shot(item.id, item.text, verdict, rules))
    return shots


def _rule_ids(policy: Policy, category: str) -> set[str]:
    """The category's rule IDs, market rules included."""
    spec = policy.category(category)
    market = {r.id for m in policy.markets if category in m.categories for r in m.categories[category].extra_rules}
    return ({r.id for r in spec.rules} if spec else set()) | market


class FewShotSelector:
    """Chooses `k` shots per (item, category) by cosine similarity over a pool embedded once."""

    def __init__(self, embedder: TextEmbedder, pool: dict[str, list[Shot]], k: int = 4):
        if k < 1:
            raise CharterError(f"few-shot k must be at least 1, got {k}")
        self.embedder = embedder
        self.k = k
        self.pool = {c: shots for c, shots in pool.items() if shots}
        self._vectors = {c: np.asarray(embedder.embed([s.text for s in shots]), dtype=np.float32) for c, shots in self.pool.items()}
        self._texts = {c: [_normal(s.text) for s in shots] for c, shots in self.pool.items()}

    def sizes(self) -> dict[str, int]:
        return {c: len(shots) for c, shots in self.pool.items()}

    def select(self, items: Sequence[ContentItem], categories: Sequence[str]) -> list[dict[str, list[Shot]]]:
        """For each item (in order), its shots per category; one embedding call for the batch."""
        if not items:
            return []
        queries = np.asarray(self.embedder.embed([item.text for item in items]), dtype=np.float32)
        chosen: list[dict[str, list[Shot]]] = [{} for _ in items]
        for category in categories:
            if category not in self.pool:
                continue
            similarity = queries @ self._vectors[category].T
            for row, item in enumerate(items):
                chosen[row][category] = self._pick(category, item, similarity[row])
        return chosen

    def _pick(self, category: str, item: ContentItem, similarity: np.ndarray) -> list[Shot]:
        shots, texts, own = self.pool[category], self._texts[category], _normal(item.text)
        ranked = [i for i in np.argsort(-similarity, kind="stable") if shots[i].id != item.id and texts[i] != own]
        picked = ranked[: self.k]
        labels_in_pool = {shots[i].label for i in ranked} if self.k >= 2 else set()
        for label in ("violating", "allowed"):
            if label in labels_in_pool and all(shots[i].label != label for i in picked):
                nearest = next(i for i in ranked if shots[i].label == label)
                picked = [*picked[: self.k - 1], nearest] if len(picked) >= self.k else [*picked, nearest]
        picked.sort(key=lambda i: -similarity[i])
        return [shots[i] for i in picked]


def _normal(text: str) -> str:
    return " ".join(text.lower().split())
