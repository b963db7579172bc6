"""HateXplain (Mathew et al., AAAI 2021): Twitter and Gab posts, hate / offensive / normal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from charter.datasets.core import DatasetInfo, LabelColumn, SplitInfo
from charter.datasets.loaders._files import read_csv, read_json

INFO = DatasetInfo(
    name="hatexplain",
    title="HateXplain (Mathew et al., 2021), MBIB processed copy",
    description="20,148 English posts from Twitter and Gab with a 3-class majority label (hate, "
    "offensive, normal) from three MTurk annotators; 919 posts without a majority.",
    languages=("en",),
    license="MIT",
    license_note="MIT for the HateXplain data; the MBIB repository that processed this copy is GPL-3.0",
    redistributable=True,
    source="https://github.com/hate-alert/HateXplain (text via Media-Bias-Group/MBIB; splits from "
    "punyajoy/HateXplain post_id_divisions.json)",
    files=("092-HateXplain_MBIB.csv", "post_id_divisions.json"),
    splits={
        "train": SplitInfo(15383, True),
        "val": SplitInfo(1922, True),
        "test": SplitInfo(1924, True),
        "unassigned": SplitInfo(919, False),
    },
    split_method="official post_id_divisions.json (train/val/test); the 919 posts without a "
    "majority label are in no official split and are kept as `unassigned`",
    label_columns={
        "category": LabelColumn(("0", "1", "2", "3"), "majority label: 0 normal, 1 hate, 2 offensive, 3 no majority"),
        "label": LabelColumn(("0", "1"), "MBIB's binary label: 1 = hate (category 1), else 0"),
    },
    metadata_columns={"platform": "str"},
    mapping="hatexplain",
    quirks=(
        "the MBIB copy lowercases text and strips punctuation; user mentions appear as `user`",
        "the per-annotator target communities and rationales are not in this copy",
    ),
    citation="Mathew, Saha, Yimam, Biemann, Goyal, Mukherjee. HateXplain: A Benchmark Dataset for "
    "Explainable Hate Speech Detection. AAAI 2021.",
)


def read(folder: Path) -> pd.DataFrame:
    raw = read_csv(folder, "092-HateXplain_MBIB.csv")
    post_id = raw[raw.columns[0]]
    divisions = read_json(folder, "post_id_divisions.json")
    split_of = {pid: name for name in ("train", "val", "test") for pid in divisions[name]}
    return pd.DataFrame(
        {
            "id": "hatexplain:" + post_id,
            "split": post_id.map(split_of).fillna("unassigned"),
            "text": raw["text"].str.strip(),
            "language": "en",
            "category": raw["category"],
            "label": raw["label"],
            "platform": np.where(post_id.str.endswith("_gab"), "gab", "twitter"),
        }
    )
