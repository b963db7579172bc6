"""The robustness suite: how much recall evasion costs a classifier (fast or embedding), and how
much of that loss evasion normalization wins back.

For every category, the suite takes the items gold-labelled violating, rewrites them with
each evasion transformation of `charter.engines.evasion` (one at a time, and combined;
seeded, so a report reproduces item by item) and scores originals and variants with the
model twice: on the normal path (normalized text) and with normalization switched off
(`score(..., normalize=False)`). Recall is read at the bundle's review and
auto_action thresholds. The share recovered is (normalized − raw) / (original − raw): 1.0
means normalization undoes the evasion completely, 0.0 that it wins nothing back; it is None
when the evasion costs no recall at that threshold (nothing to recover).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from charter.engines.classifier.kinds import ScoringModel
from charter.engines.evasion import EVASIONS, evasion_variants
from charter.engines.routing import Routing
from charter.errors import CharterError

Tier = Literal["review", "auto_action"]
TIERS: tuple[Tier, ...] = ("review", "auto_action")


class RobustnessRow(BaseModel):
    """Recall of one category's violating items under one transformation at one tier."""

    category: str
    transformation: str
    tier: Tier
    threshold: float
    n: int = Field(description="violating items scored")
    original_recall: float = Field(description="originals, normal (normalized) path")
    raw_recall: float = Field(description="variants, normalization switched off")
    normalized_recall: float = Field(description="variants, normal (normalized) path")
    recovered_share: float | None = Field(
        description="(normalized - raw) / (original - raw); None when the evasion cost no recall"
    )


class RobustnessReport(BaseModel):
    """Everything one robustness run measured; the JSON output is exactly this model."""

    created_at: dt.datetime
    model_id: str
    policy: dict[str, str]
    sources: dict[str, str] = Field(default_factory=dict)
    seed: int
    transformations: list[str]
    thresholds: dict[str, dict[str, float]]
    violating: dict[str, int] = Field(description="category -> violating items scored")
    rows: list[RobustnessRow]

    def row(self, category: str, transformation: str, tier: Tier = "review") -> RobustnessRow:
        for row in self.rows:
            if (row.category, row.transformation, row.tier) == (category, transformation, tier):
                return row
        raise KeyError((category, transformation, tier))


def recovered_share(original: float, raw: float, normalized: float) -> float | None:
    """Share of the evasion-induced recall loss that normalization wins back."""
    loss = original - raw
    if loss <= 0:
        return None
    return (normalized - raw) / loss


def _violating_rows(gold: Mapping[str, np.ndarray], categories: Sequence[str], limit: int | None, seed: int) -> dict[str, np.ndarray]:
    """Per category, the indices of its violating items (a seeded subset when `limit`)."""
    rng = random.Random(seed)
    out = {}
    for category in categories:
        rows = np.flatnonzero(np.asarray(gold[category], dtype=np.float64) == 1.0)
        if limit is not None and len(rows) > limit:
            rows = np.sort(np.asarray(rng.sample(list(rows), limit)))
        if len(rows):
            out[category] = rows
    return out


def robustness_suite(
    model: ScoringModel,
    routing: Routing,
    texts: Sequence[str],
    gold: Mapping[str, np.ndarray],
    *,
    transformations: Sequence[str] | None = None,
    seed: int = 0,
    max_per_category: int | None = None,
    sources: Mapping[str, str] | None = None,
) -> RobustnessReport:
    """Recall of originals and evasion variants, with and without normalization.

    `gold` maps category → 1/0/NaN per text; categories the model does not score are
    skipped, and a category the model scores needs at least one violating item.
    """
    kinds = list(transformations or EVASIONS)
    unknown = [k for k in kinds if k not in EVASIONS]
    if unknown:
        raise CharterError(f"unknown evasion transformation(s) {', '.join(unknown)} (known: {', '.join(EVASIONS)})")
    for category, values in gold.items():
        if len(values) != len(texts):
            raise CharterError(f"gold labels for {category!r} have {len(values)} values for {len(texts)} texts")
    categories = [c for c in model.categories if c in gold]
    if not categories:
        raise CharterError(
            f"the gold labels cover none of the model's categories ({', '.join(model.categories)}); "
            "use a dataset whose label mapping covers them"
        )
    rows_of = _violating_rows(gold, categories, max_per_category, seed)
    if not rows_of:
        raise CharterError(f"no violating gold items for {', '.join(categories)}: nothing to evade")
    # Every violating item once, whatever categories it violates: each is scored once per path.
    union = np.unique(np.concatenate(list(rows_of.values())))
    position = {int(row): i for i, row in enumerate(union)}
    originals = [texts[int(row)] for row in union]
    thresholds = routing.thresholds()

    original_scores = model.score(originals).scores
    variants = evasion_variants(originals, kinds, seed)
    report_rows: list[RobustnessRow] = []
    scored = {kind: (model.score(v, normalize=False).scores, model.score(v).scores) for kind, v in variants.items()}
    for category, rows in rows_of.items():
        at = np.asarray([position[int(r)] for r in rows])
        for kind in kinds:
            raw_scores, normalized_scores = scored[kind]
            for tier in TIERS:
                cut = thresholds[category][tier]
                original = float(np.mean(original_scores[category][at] >= cut))
                raw = float(np.mean(raw_scores[category][at] >= cut))
                normalized = float(np.mean(normalized_scores[category][at] >= cut))
                report_rows.append(
                    RobustnessRow(
                        category=category,
                        transformation=kind,
                        tier=tier,
                        threshold=cut,
                        n=len(at),
                        original_recall=original,
                        raw_recall=raw,
                        normalized_recall=normalized,
                        recovered_share=recovered_share(original, raw, normalized),
                    )
                )
    identity = routing.identity
    return RobustnessReport(
        created_at=dt.datetime.now(dt.timezone.utc),
        model_id=model.card.model_id,
        policy={"id": identity.id, "version": identity.version, "hash": identity.hash},
        sources=dict(sources or {}),
        seed=seed,
        transformations=kinds,
        thresholds={c: thresholds[c] for c in rows_of},
        violating={c: len(r) for c, r in rows_of.items()},
        rows=report_rows,
    )


def summary(report: RobustnessReport, tier: Tier = "review") -> dict[str, dict[str, Any]]:
    """Per category at one tier: mean recall over the transformations and the pooled share
    recovered (total recall won back / total recall lost), for headlines."""
    out: dict[str, dict[str, Any]] = {}
    for category in report.violating:
        rows = [r for r in report.rows if r.category == category and r.tier == tier]
        original = float(np.mean([r.original_recall for r in rows]))
        raw = float(np.mean([r.raw_recall for r in rows]))
        normalized = float(np.mean([r.normalized_recall for r in rows]))
        out[category] = {
            "original_recall": original,
            "raw_recall": raw,
            "normalized_recall": normalized,
            "recovered_share": recovered_share(original, raw, normalized),
        }
    return out
