"""The records every layer exchanges: what is moderated, and every pathway's verdict on it.

A human's `Label` has the same shape as a machine's `Decision` (humans are a pathway too), so
evaluation, agreement, audits and RCA treat every enforcer alike.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Pathway = Literal["rules", "classifier", "llm", "human", "cascade", "dataset", "external"]
Verdict = Literal["violating", "allowed", "needs_review"]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContentItem(Record):
    """One piece of content to moderate, with the context that slices and overrides need."""

    id: str = Field(min_length=1, max_length=500)
    text: str
    language: str | None = None
    market: str | None = None
    surface: str | None = None
    created_at: dt.datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    media: list[str] = Field(default_factory=list, description="references (URIs) to attached media")
    provenance: dict[str, Any] = Field(
        default_factory=dict, description="signals such as C2PA manifests or AI-generation labels"
    )

    def content_hash(self) -> str:
        """Hash of what a moderator judges (text + media), used as a cache key."""
        digest = hashlib.sha256(self.text.encode("utf-8"))
        for ref in self.media:
            digest.update(b"\0" + ref.encode("utf-8"))
        return digest.hexdigest()


class Decision(Record):
    """One pathway's verdict on one item, stamped with the exact policy it was made under.

    `scores` hold per-category probabilities where the pathway produces them; `labels` hold
    the per-category verdicts; `action` is the single action taken on the item.
    """

    item_id: str
    pathway: Pathway
    policy_id: str
    policy_version: str
    policy_hash: str
    scores: dict[str, float] = Field(default_factory=dict)
    labels: dict[str, Verdict] = Field(default_factory=dict)
    rule_ids: list[str] = Field(default_factory=list)
    action: str = "allow"
    tree_path: list[str] = Field(default_factory=list)
    rationale: str | None = None
    model_version: str | None = None
    decision_id: str | None = None
    decided_at: dt.datetime | None = None
    latency_ms: float | None = None
    cost_usd: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    escalation_queue: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    def violating_categories(self) -> list[str]:
        return sorted(c for c, v in self.labels.items() if v == "violating")


class Label(Decision):
    """A human reviewer's verdict (or a dataset's gold label), shaped like a Decision."""

    pathway: Pathway = "human"
    annotator_id: str | None = None
    note: str | None = None
