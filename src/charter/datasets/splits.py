"""The seeded split used where a dataset's authors published none.

Rows are grouped by exact text (so duplicates never straddle train and test), groups are
stratified by the label of their first row, and within each stratum groups are ordered by
a SHA-256 of (seed, text) and cut 80/10/10 (train/val/test). The same rows always land in
the same split, on any machine and with any pandas version.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

SEED = 13
FRACTIONS = (0.8, 0.1, 0.1)
SPLIT_NAMES = ("train", "val", "test")
METHOD = (
    "seeded split (seed 13): rows grouped by exact text, stratified by {strata}, groups ordered "
    "by SHA-256(seed, text) and cut 80/10/10 into train/val/test"
)


def _order_key(text: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}\0{text}".encode()).hexdigest()


def seeded_split(texts: pd.Series, strata: pd.Series, seed: int = SEED) -> np.ndarray:
    """Split name (train/val/test) for every row; see the module docstring for the method."""
    frame = pd.DataFrame({"text": texts.to_numpy(), "stratum": strata.astype(str).to_numpy()})
    groups = frame.drop_duplicates("text")[["text", "stratum"]].copy()
    groups["key"] = [_order_key(t, seed) for t in groups["text"]]
    groups = groups.sort_values(["stratum", "key"], kind="stable")
    assigned: dict[str, str] = {}
    for _, stratum in groups.groupby("stratum", sort=True):
        n = len(stratum)
        n_train = round(n * FRACTIONS[0])
        n_val = round(n * FRACTIONS[1])
        names = np.array([SPLIT_NAMES[2]] * n, dtype=object)
        names[:n_train] = SPLIT_NAMES[0]
        names[n_train : n_train + n_val] = SPLIT_NAMES[1]
        assigned.update(zip(stratum["text"], names))
    return frame["text"].map(assigned).to_numpy(dtype=object)
