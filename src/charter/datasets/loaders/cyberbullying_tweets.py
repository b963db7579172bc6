"""Cyberbullying tweets (partial copy of a Kaggle set): gender, religion, not cyberbullying."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from charter.datasets.core import DatasetInfo, LabelColumn, SplitInfo
from charter.datasets.loaders._files import read_csv
from charter.datasets.splits import METHOD, seeded_split

INFO = DatasetInfo(
    name="cyberbullying_tweets",
    title="Cyberbullying tweets (3 of the 6 Kaggle classes)",
    description="19,775 English tweets labelled gender, religion or not_cyberbullying; a partial "
    "copy of the Kaggle cyberbullying classification set kept as a stopgap.",
    languages=("en",),
    license="research-only",
    license_note="no license file: research use only, never vendor; a stopgap",
    redistributable=False,
    source="https://github.com/i02chmoc/IMD_Datasets (partial copy of the Kaggle cyberbullying_tweets set)",
    files=("cyberbullying_tweets.csv",),
    splits={"train": SplitInfo(15822, False), "val": SplitInfo(1978, False), "test": SplitInfo(1975, False)},
    split_method=METHOD.format(strata="`cyberbullying_type`"),
    label_columns={
        "cyberbullying_type": LabelColumn(("gender", "religion", "not_cyberbullying"), "the class"),
        "conflicting_duplicate": LabelColumn(("yes", "no"), "the same text occurs with different classes"),
    },
    metadata_columns={"duplicate_text": "bool"},
    mapping="cyberbullying_tweets",
    quirks=(
        "only 3 of the original 6 classes; 52 texts occur with conflicting classes",
        "ids are `cyberbullying_tweets:<row>`",
    ),
)


def read(folder: Path) -> pd.DataFrame:
    raw = read_csv(folder, "cyberbullying_tweets.csv")
    conflicting = raw.groupby("tweet_text")["cyberbullying_type"].transform("nunique") > 1
    return pd.DataFrame(
        {
            "id": [f"cyberbullying_tweets:{i}" for i in range(len(raw))],
            "split": seeded_split(raw["tweet_text"], raw["cyberbullying_type"]),
            "text": raw["tweet_text"],
            "language": "en",
            "cyberbullying_type": raw["cyberbullying_type"],
            "conflicting_duplicate": np.where(conflicting, "yes", "no"),
            "duplicate_text": raw["tweet_text"].duplicated(keep=False),
        }
    )
