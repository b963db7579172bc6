"""OLID v1.0 (Zampieri et al., NAACL 2019): offensive tweets, offence type and target."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from charter.datasets.core import MISSING, DatasetInfo, LabelColumn, SplitInfo
from charter.datasets.loaders._files import read_csv, read_tsv_unquoted
from charter.datasets.splits import CARVED_METHOD, carve_validation

INFO = DatasetInfo(
    name="olid",
    title="Offensive Language Identification Dataset v1.0 (OffensEval 2019)",
    description="14,100 English tweets with a three-level annotation: offensive or not (A), "
    "targeted or untargeted (B), and the target: individual, group or other (C).",
    languages=("en",),
    license="CC-BY-4.0",
    redistributable=True,
    source="https://scholar.harvard.edu/malmasi/olid",
    files=(
        "olid-training-v1.0.tsv",
        "testset-levela.tsv",
        "labels-levela.csv",
        "labels-levelb.csv",
        "labels-levelc.csv",
    ),
    splits={
        "train": SplitInfo(11917, False, carved_from="train"),
        "val": SplitInfo(1323, False, carved_from="train"),
        "test": SplitInfo(860, True),
    },
    split_method=CARVED_METHOD.format(
        test="testset-levela.tsv with the gold labels of levels a, b and c (labels-level{a,b,c}.csv) joined by id",
        train="olid-training-v1.0.tsv, 13,240 tweets",
        strata="the combined subtask_a/b/c labels",
    ),
    label_columns={
        "subtask_a": LabelColumn(("NOT", "OFF"), "A: NOT not offensive, OFF offensive (incl. profanity)"),
        "subtask_b": LabelColumn(("TIN", "UNT", MISSING), "B: TIN targeted insult or threat, UNT untargeted"),
        "subtask_c": LabelColumn(("IND", "GRP", "OTH", MISSING), "C: target IND individual, GRP group, OTH other"),
    },
    mapping="olid",
    quirks=(
        "TSV with bare quote characters inside tweets: read with quoting disabled",
        "user mentions are @USER and links URL; NULL marks a level that does not apply",
    ),
    citation="Zampieri, Malmasi, Nakov, Rosenthal, Farra, Kumar. Predicting the Type and Target "
    "of Offensive Posts in Social Media. NAACL 2019.",
)

COLUMNS = ["id", "split", "text", "language", "subtask_a", "subtask_b", "subtask_c"]


def read(folder: Path) -> pd.DataFrame:
    train = read_tsv_unquoted(folder, "olid-training-v1.0.tsv")
    train = train.rename(columns={"tweet": "text"})
    train["split"] = carve_validation(train["text"], train["subtask_a"] + "/" + train["subtask_b"] + "/" + train["subtask_c"])

    test = read_tsv_unquoted(folder, "testset-levela.tsv").rename(columns={"tweet": "text"})
    for level in "abc":
        gold = read_csv(folder, f"labels-level{level}.csv")
        gold = gold.rename(columns={gold.columns[0]: "id", gold.columns[1]: f"subtask_{level}"})
        test = test.merge(gold, on="id", how="left")
    test = test.fillna(MISSING)
    test["split"] = "test"

    frame = pd.concat([train, test], ignore_index=True)
    frame["id"] = "olid:" + frame["id"]
    frame["language"] = "en"
    return frame[COLUMNS]
