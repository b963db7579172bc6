"""COLD (Deng et al., EMNLP 2022): Chinese offensive language on race, region and gender."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from charter.datasets.core import MISSING, DatasetInfo, LabelColumn, SplitInfo
from charter.datasets.loaders._files import read_csv

INFO = DatasetInfo(
    name="cold-chinese",
    title="COLDataset: Chinese Offensive Language Detection",
    description="37,480 Chinese comments on race, region and gender topics labelled safe or "
    "offensive; the test set also says whether an offensive comment attacks an individual or a "
    "group, and whether a safe one is anti-bias.",
    languages=("zh",),
    license="Apache-2.0",
    redistributable=True,
    source="https://github.com/thu-coai/COLDataset",
    files=("train.csv", "dev.csv", "test.csv"),
    splits={
        "train": SplitInfo(25726, True),
        "val": SplitInfo(6431, True, "dev"),
        "test": SplitInfo(5323, True),
    },
    split_method="official: train.csv, dev.csv (as `val`), test.csv",
    label_columns={
        "label": LabelColumn(("0", "1"), "0 safe, 1 offensive"),
        "fine_grained": LabelColumn(
            ("0", "1", "2", "3", MISSING),
            "test only: 0 safe (other), 1 attack individual, 2 attack group, 3 safe (anti-bias)",
        ),
    },
    metadata_columns={"topic": "str", "source_index": "int"},
    mapping="cold-chinese",
    quirks=(
        "the files' first column is an index that repeats within a file; ids are "
        "`cold-chinese:<split>-<row>` and the index is kept as source_index",
        "dev.csv's own `split` column says train for half its rows; the file, not the column, decides",
        "fine_grained is NULL outside the test set",
    ),
    citation="Deng, Zhou, Sun, Zheng, Mi, Huang, Zhu. COLD: A Benchmark for Chinese Offensive "
    "Language Detection. EMNLP 2022.",
)

FILES = {"train": "train.csv", "val": "dev.csv", "test": "test.csv"}


def read(folder: Path) -> pd.DataFrame:
    parts = []
    for split, name in FILES.items():
        raw = read_csv(folder, name)
        fine = raw["fine-grained-label"] if "fine-grained-label" in raw else MISSING
        parts.append(
            pd.DataFrame(
                {
                    "id": [f"cold-chinese:{split}-{i}" for i in range(len(raw))],
                    "split": split,
                    "text": raw["TEXT"],
                    "language": "zh",
                    "label": raw["label"],
                    "fine_grained": fine,
                    "topic": raw["topic"],
                    "source_index": raw[raw.columns[0]].astype(int),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
