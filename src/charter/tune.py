"""Tune a bundle's classifier thresholds from scored decisions with gold labels, and write
them back into the bundle with provenance, so a threshold always says where it came from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from charter.compile import load_bundle, update_thresholds
from charter.errors import CharterError
from charter.evaluate import TierTargets, TierThresholds, tune_thresholds
from charter.evaluate.joined import join_decisions
from charter.records import ContentItem, Decision, Label


@dataclass
class TuningResult:
    category: str
    tiers: TierThresholds
    applied: bool
    previous: dict[str, float]
    reason: str | None = None


def tune_bundle(
    bundle_dir: Path,
    decisions: Sequence[Decision],
    items: Sequence[ContentItem],
    labels: Sequence[Label],
    *,
    targets: TierTargets,
    source: dict[str, str],
    apply: bool = True,
    market: str | None = None,
) -> list[TuningResult]:
    """Per category: thresholds that meet `targets`; written into the bundle when attainable.

    A category whose targets cannot be met keeps its thresholds (and the result says why):
    an unattainable precision target must not silently become a looser threshold.
    """
    bundle = load_bundle(bundle_dir)
    stamps = {d.policy_hash for d in decisions}
    if stamps != {bundle.identity.hash}:
        raise CharterError(
            f"the decisions were made under policy hash(es) {', '.join(sorted(h[:12] for h in stamps))}, "
            f"the bundle is {bundle.identity.hash[:12]}: thresholds tuned under other rules do not carry over"
        )
    joined = join_decisions(decisions, items, labels)
    frame = joined.frame
    scored = [c for c in joined.categories if f"score:{c}" in frame and frame[f"score:{c}"].notna().all()]
    if not scored:
        raise CharterError("threshold tuning needs scores, and these decisions carry none for the gold categories")
    gold = {c: frame[f"gold:{c}"].to_numpy(dtype=float) for c in scored}
    scores = {c: frame[f"score:{c}"].to_numpy(dtype=float) for c in scored}
    tiers = tune_thresholds(gold, scores, targets, categories=scored)
    results = []
    for category, tier in tiers.items():
        current = bundle.classifier["categories"][category]["thresholds"]
        if market:
            current = bundle.classifier["markets"][market]["categories"][category]["thresholds"]
        ok = tier.auto_action.attainable and tier.review.attainable
        result = TuningResult(category, tier, applied=False, previous=dict(current), reason=None if ok else tier.message)
        if ok and apply:
            provenance = {
                "source": "tuned",
                **source,
                "date": dt.date.today().isoformat(),
                "policy_hash": bundle.identity.hash,
                "targets": targets.model_dump(),
                "n": int((~frame[f"gold:{category}"].isna()).sum()),
                "auto_action": {"precision": tier.auto_action.precision, "recall": tier.auto_action.recall},
                "review": {"precision": tier.review.precision, "recall": tier.review.recall},
            }
            update_thresholds(
                bundle_dir,
                category,
                {"auto_action": tier.auto_action.threshold, "review": tier.review.threshold},
                provenance,
                market=market,
            )
            result.applied = True
        results.append(result)
    return results
