"""Davidson et al. (ICWSM 2017): tweets labelled hate speech / offensive / neither."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from charter.datasets.core import DatasetInfo, LabelColumn, SplitInfo
from charter.datasets.loaders._files import read_csv
from charter.datasets.splits import METHOD, seeded_split

INFO = DatasetInfo(
    name="davidson",
    title="Hate Speech and Offensive Language (Davidson et al., 2017)",
    description="24,783 English tweets labelled by CrowdFlower workers as hate speech, offensive "
    "language or neither, with the vote count of every class.",
    languages=("en",),
    license="MIT",
    redistributable=True,
    source="https://github.com/t-davidson/hate-speech-and-offensive-language",
    files=("labeled_data.csv",),
    splits={"train": SplitInfo(19826, False), "val": SplitInfo(2478, False), "test": SplitInfo(2479, False)},
    split_method=METHOD.format(strata="`class`"),
    label_columns={
        "class": LabelColumn(("0", "1", "2"), "majority class: 0 hate speech, 1 offensive language, 2 neither"),
        "hate_votes": LabelColumn(
            ("majority", "minority", "none"), "annotators who chose hate speech: more than half, some, none"
        ),
    },
    metadata_columns={
        "annotators": "int",
        "hate_speech_votes": "int",
        "offensive_language_votes": "int",
        "neither_votes": "int",
        "agreement": "float",
    },
    mapping="davidson",
    quirks=(
        "tweets are stored HTML-escaped (&amp;, &#128514;); the loader unescapes them",
        "ids are the CSV's unnamed row index (0..25296, with gaps)",
        "annotators is 3 for most tweets, more where CrowdFlower judged the first votes unreliable",
    ),
    citation="Davidson, Warmsley, Macy, Weber. Automated Hate Speech Detection and the Problem of "
    "Offensive Language. ICWSM 2017.",
)


def read(folder: Path) -> pd.DataFrame:
    raw = read_csv(folder, "labeled_data.csv")
    raw = raw.rename(columns={raw.columns[0]: "row"})
    votes = raw[["hate_speech", "offensive_language", "neither"]].astype(int)
    annotators = raw["count"].astype(int)
    text = raw["tweet"].map(html.unescape)
    frame = pd.DataFrame(
        {
            "id": "davidson:" + raw["row"],
            "split": seeded_split(text, raw["class"]),
            "text": text,
            "language": "en",
            "class": raw["class"],
            "hate_votes": np.select(
                [votes["hate_speech"] * 2 > annotators, votes["hate_speech"] > 0], ["majority", "minority"], "none"
            ),
            "annotators": annotators,
            "hate_speech_votes": votes["hate_speech"],
            "offensive_language_votes": votes["offensive_language"],
            "neither_votes": votes["neither"],
            "agreement": np.round(votes.max(axis=1) / annotators, 4),
        }
    )
    return frame
