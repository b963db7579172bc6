"""QA sampling of a decision log: which (decision, category) pairs a human should re-check.

Random sampling draws uniformly; stratified sampling splits the pairs by category and score
band and draws the same number from each stratum (as far as strata allow), so rare
high-score or borderline decisions are checked too. Each pick carries its inclusion weight
(stratum size / picks in it), so estimates from the reviewed sample can be reweighted.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from charter.errors import CharterError
from charter.records import Decision

DEFAULT_BANDS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class Pick:
    decision: Decision
    category: str
    stratum: str
    weight: float


def score_band(score: float | None, bands: Sequence[float]) -> str:
    """The band label ("0.4-0.6") holding `score`; the top edge belongs to the last band."""
    if score is None:
        return "no_score"
    index = min(max(bisect.bisect_right(bands, score) - 1, 0), len(bands) - 2)
    return f"{bands[index]:g}-{bands[index + 1]:g}"


def _check_bands(bands: Sequence[float]) -> None:
    if len(bands) < 2 or any(b >= a for a, b in zip(bands[1:], bands)) or bands[0] > 0 or bands[-1] < 1:
        raise CharterError(f"score bands must be increasing edges covering [0, 1], got {list(bands)}")


def _equal_allocation(sizes: list[int], n: int) -> list[int]:
    """n picks spread as evenly as the stratum sizes allow."""
    take = [0] * len(sizes)
    remaining = min(n, sum(sizes))
    while remaining:
        open_ = [i for i, size in enumerate(sizes) if take[i] < size]
        share = max(remaining // len(open_), 1)
        for i in open_:
            extra = min(share, sizes[i] - take[i], remaining)
            take[i] += extra
            remaining -= extra
            if not remaining:
                break
    return take


def qa_sample(
    decisions: Sequence[Decision],
    n: int,
    *,
    method: Literal["random", "stratified"] = "random",
    categories: Sequence[str] | None = None,
    bands: Sequence[float] = DEFAULT_BANDS,
    seed: int = 0,
) -> list[Pick]:
    """Up to `n` (decision, category) pairs; pairs are every category a decision scored or labelled."""
    if n < 1:
        raise CharterError(f"sample size must be at least 1, got {n}")
    if method not in ("random", "stratified"):
        raise CharterError(f"unknown sampling method {method!r}; use random or stratified")
    _check_bands(bands)
    wanted = set(categories) if categories is not None else None
    units: list[tuple[Decision, str, str]] = []
    for decision in decisions:
        for category in sorted(set(decision.scores) | set(decision.labels)):
            if wanted is None or category in wanted:
                units.append((decision, category, f"{category}:{score_band(decision.scores.get(category), bands)}"))
    if not units:
        raise CharterError("nothing to sample: no decision scored or labelled the requested categories")
    rng = np.random.default_rng(seed)
    if method == "random":
        chosen = rng.choice(len(units), size=min(n, len(units)), replace=False)
        weight = len(units) / len(chosen)
        return [Pick(units[i][0], units[i][1], units[i][2], weight) for i in sorted(chosen)]
    strata: dict[str, list[int]] = {}
    for index, unit in enumerate(units):
        strata.setdefault(unit[2], []).append(index)
    names = sorted(strata)
    takes = _equal_allocation([len(strata[s]) for s in names], n)
    picks = []
    for name, take in zip(names, takes):
        if take:
            members = strata[name]
            for i in sorted(rng.choice(members, size=take, replace=False)):
                picks.append(Pick(units[i][0], units[i][1], name, len(members) / take))
    return picks
