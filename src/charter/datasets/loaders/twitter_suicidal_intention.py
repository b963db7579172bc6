"""Twitter suicidal intention (laxmimerit): tweets labelled suicidal intention or not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from charter.datasets.core import DatasetInfo, LabelColumn, SplitInfo
from charter.datasets.loaders._files import read_csv
from charter.datasets.splits import METHOD, seeded_split

INFO = DatasetInfo(
    name="twitter_suicidal_intention",
    title="Twitter Suicidal Intention dataset",
    description="9,119 English tweets labelled 1 (suicidal intention) or 0 (not). Labels look "
    "keyword-driven; 334 tweets are duplicates.",
    languages=("en",),
    license="research-only",
    license_note="no license file: research use only, never vendor",
    redistributable=False,
    source="https://github.com/laxmimerit/twitter-suicidal-intention-dataset",
    files=("twitter-suicidal_data.csv",),
    splits={"train": SplitInfo(7320, False), "val": SplitInfo(913, False), "test": SplitInfo(886, False)},
    split_method=METHOD.format(strata="`intention`"),
    label_columns={
        "intention": LabelColumn(("0", "1"), "1 suicidal intention, 0 not"),
        "conflicting_duplicate": LabelColumn(("yes", "no"), "the same text occurs with both labels"),
    },
    metadata_columns={"duplicate_text": "bool"},
    mapping="twitter_suicidal_intention",
    quirks=(
        "no license: usable for development and evaluation, never for the vendored sample",
        "text is lowercased and stripped of punctuation; labels appear keyword-driven",
        "ids are `twitter_suicidal_intention:<row>`",
    ),
)


def read(folder: Path) -> pd.DataFrame:
    raw = read_csv(folder, "twitter-suicidal_data.csv")
    conflicting = raw.groupby("tweet")["intention"].transform("nunique") > 1
    return pd.DataFrame(
        {
            "id": [f"twitter_suicidal_intention:{i}" for i in range(len(raw))],
            "split": seeded_split(raw["tweet"], raw["intention"]),
            "text": raw["tweet"],
            "language": "en",
            "intention": raw["intention"],
            "conflicting_duplicate": np.where(conflicting, "yes", "no"),
            "duplicate_text": raw["tweet"].duplicated(keep=False),
        }
    )
