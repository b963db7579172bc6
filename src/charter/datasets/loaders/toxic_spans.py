"""Toxic Spans (SemEval-2021 Task 5; ACL 2022): toxic Civil Comments posts with toxic spans.

The official splits (tsd_train/trial/test.csv) carry only the ground-truth character offsets.
The ACL 2022 raw annotations say which *type* each rater gave each span (Insult, Threat,
Identity based Attack, Profane/Obscene, Other Toxicity); the loader joins them by exact text
and summarises each type as majority / minority / none of the post's raters.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from charter.datasets.core import DatasetInfo, LabelColumn, SplitInfo
from charter.datasets.loaders._files import read_csv

SPAN_TYPES = {
    "Threat": "threat",
    "Identity based Attack": "identity_attack",
    "Insult": "insult",
    "Profane/Obscene": "profane",
    "Other Toxicity": "other_toxicity",
}
TRUNCATED_TYPES = {"Insu": "Insult", "Identity based": "Identity based Attack"}
VOTE = ("majority", "minority", "none")
UNMATCHED = "unmatched"

INFO = DatasetInfo(
    name="toxic-spans",
    title="Toxic Spans (SemEval-2021 Task 5 and ACL 2022 raw annotations)",
    description="10,629 toxic English posts from Civil Comments with the character offsets of "
    "their toxic spans; every post is toxic. Span types from the raw annotations say whether the "
    "raters saw a threat, an identity attack, an insult or profanity.",
    languages=("en",),
    license="CC0-1.0",
    redistributable=True,
    source="https://github.com/ipavlopoulos/toxic_spans",
    files=(
        "tsd_train.csv",
        "tsd_trial.csv",
        "tsd_test.csv",
        "acl2022_raw/annotations.csv",
        "acl2022_raw/comments.csv",
        "acl2022_raw/spans.csv",
    ),
    splits={
        "train": SplitInfo(7939, True),
        "val": SplitInfo(690, True, "trial"),
        "test": SplitInfo(2000, True),
    },
    split_method="official SemEval-2021 files: tsd_train.csv, tsd_trial.csv (as `val`), tsd_test.csv",
    label_columns={
        "has_spans": LabelColumn(("yes", "no"), "whether the ground truth has any toxic span"),
        **{
            column: LabelColumn(
                (*VOTE, UNMATCHED),
                f"raters who marked a {name!r} span: majority (> half), minority, none; "
                "unmatched if the post is not in the raw annotations",
            )
            for name, column in SPAN_TYPES.items()
        },
    },
    metadata_columns={
        "spans": "json",
        "raters": "int",
        **{f"{column}_raters": "int" for column in SPAN_TYPES.values()},
        "civil_comments_id": "int",
    },
    mapping="toxic-spans",
    quirks=(
        "spans are given as lists of character offsets; the loader stores [start, end) ranges",
        "raw span types include truncated values (Insu, Identity based) that are repaired",
        "a few texts occur more than once in the raw set: their annotations are pooled",
        "ids are `toxic-spans:<split>-<row>`; civil_comments_id is the smallest matching raw id",
    ),
    citation="Pavlopoulos, Sorensen, Laugier, Androutsopoulos. SemEval-2021 Task 5: Toxic Spans "
    "Detection. SemEval 2021; Pavlopoulos et al. From the Detection of Toxic Spans in Online "
    "Discussions to the Analysis of Toxic-to-Civil Transfer. ACL 2022.",
)

FILES = {"train": "tsd_train.csv", "val": "tsd_trial.csv", "test": "tsd_test.csv"}


def _ranges(offsets: str) -> list[list[int]]:
    """[0, 1, 2, 7, 8] -> [[0, 3], [7, 9]] (half-open character ranges)."""
    values = json.loads(offsets)
    ranges: list[list[int]] = []
    for value in values:
        if ranges and value == ranges[-1][1]:
            ranges[-1][1] = value + 1
        else:
            ranges.append([value, value + 1])
    return ranges


def _raw_votes(folder: Path) -> pd.DataFrame:
    """Per raw text: number of raters, raters per span type, smallest comment id."""
    annotations = read_csv(folder, "acl2022_raw/annotations.csv", usecols=["annotation", "comment_id", "worker"])
    comments = read_csv(folder, "acl2022_raw/comments.csv")
    spans = read_csv(folder, "acl2022_raw/spans.csv", usecols=["annotation", "type"])
    spans["type"] = spans["type"].str.strip().replace(TRUNCATED_TYPES)
    spans = spans[spans["type"].isin(list(SPAN_TYPES))]

    annotations = annotations.merge(comments, on="comment_id")
    annotations["comment_id"] = annotations["comment_id"].astype(int)
    raters = annotations.groupby("comment_text").agg(
        raters=("annotation", "size"), civil_comments_id=("comment_id", "min")
    )
    typed = spans.merge(annotations[["annotation", "comment_text"]], on="annotation").drop_duplicates(
        ["annotation", "type"]
    )
    per_type = typed.groupby(["comment_text", "type"]).size().unstack(fill_value=0)
    per_type = per_type.reindex(columns=list(SPAN_TYPES), fill_value=0).rename(columns=SPAN_TYPES)
    return raters.join(per_type.add_suffix("_raters"), how="left").fillna(0)


def read(folder: Path) -> pd.DataFrame:
    votes = _raw_votes(folder)
    parts = []
    for split, name in FILES.items():
        raw = read_csv(folder, name)
        part = pd.DataFrame(
            {
                "id": [f"toxic-spans:{split}-{i}" for i in range(len(raw))],
                "split": split,
                "text": raw["text"],
                "language": "en",
                "spans": raw["spans"].map(_ranges),
            }
        )
        part["has_spans"] = np.where(part["spans"].map(len) > 0, "yes", "no")
        parts.append(part.join(votes, on="text"))
    frame = pd.concat(parts, ignore_index=True)
    matched = frame["raters"].notna()
    for column in SPAN_TYPES.values():
        count = frame[f"{column}_raters"]
        frame[column] = np.select(
            [~matched, count * 2 > frame["raters"], count > 0], [UNMATCHED, "majority", "minority"], "none"
        )
    for column in ["raters", "civil_comments_id", *(f"{c}_raters" for c in SPAN_TYPES.values())]:
        frame[column] = frame[column].astype("Int64")
    return frame
