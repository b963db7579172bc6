"""GermEval 2018 (Wiegand et al.): offensive German tweets, coarse and fine labels."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from charter.datasets.core import DatasetInfo, LabelColumn, SplitInfo
from charter.datasets.loaders._files import read_tsv_unquoted
from charter.datasets.splits import CARVED_METHOD, carve_validation

INFO = DatasetInfo(
    name="germeval2018",
    title="GermEval 2018 Shared Task on the Identification of Offensive Language",
    description="8,541 German tweets labelled OFFENSE/OTHER (coarse) and ABUSE, INSULT, PROFANITY "
    "or OTHER (fine). ABUSE ascribes negative qualities to a group (or to a person as its "
    "member); INSULT attacks a person without that generalisation.",
    languages=("de",),
    license="CC-BY-4.0",
    redistributable=True,
    source="https://github.com/uds-lsv/GermEval-2018-Data",
    files=("germeval2018.training.txt", "germeval2018.test.txt"),
    splits={
        "train": SplitInfo(4508, False, carved_from="train"),
        "val": SplitInfo(501, False, carved_from="train"),
        "test": SplitInfo(3532, True),
    },
    split_method=CARVED_METHOD.format(
        test="germeval2018.test.txt", train="germeval2018.training.txt, 5,009 tweets", strata="`fine`"
    ),
    label_columns={
        "coarse": LabelColumn(("OFFENSE", "OTHER"), "task 1: OFFENSE or OTHER"),
        "fine": LabelColumn(("ABUSE", "INSULT", "PROFANITY", "OTHER"), "task 2: ABUSE, INSULT, PROFANITY, OTHER"),
    },
    mapping="germeval2018",
    quirks=(
        "TSV without a header (text, coarse, fine) and with bare quotes: read with quoting disabled",
        "line breaks inside tweets are written |LBR|; the loader turns them back into newlines",
        "ids are `germeval2018:<file>-<row>` (0-based row in the file: train- for the training file, "
        "so val ids start with train- too)",
    ),
    citation="Wiegand, Siegel, Ruppenhofer. Overview of the GermEval 2018 Shared Task on the "
    "Identification of Offensive Language. GermEval 2018.",
)

FILES = {"train": "germeval2018.training.txt", "test": "germeval2018.test.txt"}


def read(folder: Path) -> pd.DataFrame:
    parts = []
    for split, name in FILES.items():
        raw = read_tsv_unquoted(folder, name, header=None, names=["text", "coarse", "fine"])
        text = raw["text"].str.replace(" |LBR| ", "\n", regex=False).str.replace("|LBR|", "\n", regex=False)
        parts.append(
            pd.DataFrame(
                {
                    "id": [f"germeval2018:{split}-{i}" for i in range(len(raw))],
                    "split": carve_validation(text, raw["fine"]) if split == "train" else split,
                    "text": text,
                    "language": "de",
                    "coarse": raw["coarse"],
                    "fine": raw["fine"],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
