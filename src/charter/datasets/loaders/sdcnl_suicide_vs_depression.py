"""SDCNL (Haque et al., ICANN 2021): Reddit posts from r/SuicideWatch vs r/depression."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from charter.datasets.core import DatasetInfo, LabelColumn, SplitInfo
from charter.datasets.loaders._files import read_csv
from charter.datasets.splits import CARVED_METHOD, carve_validation

INFO = DatasetInfo(
    name="sdcnl_suicide_vs_depression",
    title="SDCNL: suicide vs depression (Reddit)",
    description="1,895 Reddit posts labelled by subreddit: 1 = r/SuicideWatch, 0 = r/depression. "
    "Both classes are people in distress: the label is a risk level, not risk versus safe, and "
    "subreddit labels are noisy (the paper itself corrects them).",
    languages=("en",),
    license="research-only",
    license_note="no license file: research use only, never vendor",
    redistributable=False,
    source="https://github.com/ayaanzhaque/SDCNL",
    files=("training-set.csv", "testing-set.csv"),
    splits={
        "train": SplitInfo(1365, False, carved_from="train"),
        "val": SplitInfo(151, False, carved_from="train"),
        "test": SplitInfo(379, True),
    },
    split_method=CARVED_METHOD.format(test="testing-set.csv", train="training-set.csv, 1,516 posts", strata="`is_suicide`"),
    label_columns={"is_suicide": LabelColumn(("0", "1"), "1 posted in r/SuicideWatch, 0 in r/depression")},
    metadata_columns={"subreddit": "str", "num_comments": "int", "source_index": "int"},
    mapping=None,
    mapping_note="no label mapping: both classes are people disclosing distress, which the example "
    "policy allows (with support resources) or escalates at imminent risk, never removes; the "
    "subreddit says neither which nor whether a post is at imminent risk. Use the raw `is_suicide` "
    "column to study risk routing",
    quirks=(
        "item text is the post title, a blank line, then the body (selftext, sometimes empty)",
        "ids are `sdcnl_suicide_vs_depression:<index>` from the files' first column (unique across both)",
    ),
    citation="Haque, Reddi, Giallanza. Deep Learning for Suicide and Depression Identification "
    "with Unsupervised Label Correction. ICANN 2021.",
)

FILES = {"train": "training-set.csv", "test": "testing-set.csv"}


def read(folder: Path) -> pd.DataFrame:
    parts = []
    for split, name in FILES.items():
        raw = read_csv(folder, name)
        index = raw[raw.columns[0]]
        title, body = raw["title"].str.strip(), raw["selftext"].str.strip()
        text = (title + "\n\n" + body).where(body != "", title)
        parts.append(
            pd.DataFrame(
                {
                    "id": "sdcnl_suicide_vs_depression:" + index,
                    "split": carve_validation(text, raw["is_suicide"]) if split == "train" else split,
                    "text": text,
                    "language": "en",
                    "is_suicide": raw["is_suicide"],
                    "subreddit": raw["url"].str.extract(r"/r/([^/]+)/", expand=False).fillna(""),
                    "num_comments": raw["num_comments"].astype(int),
                    "source_index": index.astype(int),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
