"""The seeded splits used where a dataset's authors published none, or published no
validation split.

Both work the same way. Rows are grouped by exact text (so duplicates never straddle two
splits), groups are stratified by label, and within each stratum groups are ordered by a
SHA-256 of (seed, text) and cut by fixed fractions. The same rows always land in the same
split, on any machine and with any pandas version.

- `seeded_split`: a dataset with no official split is cut 80/10/10 into train/val/test. A
  group's stratum is the label of its first row (kept as first published, so existing
  splits do not move).
- `carve_validation`: a dataset with official train and test splits but no validation split
  keeps its test split untouched; 10% of its official train split becomes `val`, so
  thresholds can be tuned without touching test (train + val = the official train split).
  A group's stratum is the smallest of its rows' labels, so membership depends only on the
  rows' texts and labels, never on their order in the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

SEED = 13
FRACTIONS = (0.8, 0.1, 0.1)
SPLIT_NAMES = ("train", "val", "test")
VAL_FRACTION = 0.1
METHOD = (
    "seeded split (seed 13): rows grouped by exact text, stratified by {strata}, groups ordered "
    "by SHA-256(seed, text) and cut 80/10/10 into train/val/test"
)
CARVED_METHOD = (
    "official test split: {test}, untouched. The official train split ({train}) has no validation "
    "split beside it, so a seeded one is carved from it (seed 13): its rows grouped by exact text, "
    "stratified by {strata} (a group's smallest label), groups ordered by SHA-256(seed, text), the "
    "first 10% of each stratum made `val` and the rest kept as `train` (train + val = the official train split)"
)


def _order_key(text: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}\0{text}".encode()).hexdigest()


def _cut(
    texts: pd.Series, strata: pd.Series, seed: int, parts: Sequence[tuple[str, float]], *, group_stratum: str
) -> np.ndarray:
    """Split name for every row: each stratum's hash-ordered groups cut by `parts` (the last
    part takes what the rounded earlier ones leave); `group_stratum` is "first" or "smallest"."""
    frame = pd.DataFrame({"text": texts.to_numpy(), "stratum": strata.astype(str).to_numpy()})
    if group_stratum == "first":
        groups = frame.drop_duplicates("text")[["text", "stratum"]].copy()
    else:
        groups = frame.groupby("text", sort=False)["stratum"].min().reset_index()
    groups["key"] = [_order_key(t, seed) for t in groups["text"]]
    groups = groups.sort_values(["stratum", "key"], kind="stable")
    assigned: dict[str, str] = {}
    for _, stratum in groups.groupby("stratum", sort=True):
        n = len(stratum)
        names = np.array([parts[-1][0]] * n, dtype=object)
        start = 0
        for name, fraction in parts[:-1]:
            size = round(n * fraction)
            names[start : start + size] = name
            start += size
        assigned.update(zip(stratum["text"], names))
    return frame["text"].map(assigned).to_numpy(dtype=object)


def seeded_split(texts: pd.Series, strata: pd.Series, seed: int = SEED) -> np.ndarray:
    """Split name (train/val/test) for every row; see the module docstring for the method."""
    return _cut(texts, strata, seed, list(zip(SPLIT_NAMES, FRACTIONS)), group_stratum="first")


def carve_validation(texts: pd.Series, strata: pd.Series, seed: int = SEED, fraction: float = VAL_FRACTION) -> np.ndarray:
    """`val` or `train` for every row of an official train split (see the module docstring)."""
    return _cut(texts, strata, seed, [("val", fraction), ("train", 1.0 - fraction)], group_stratum="smallest")
