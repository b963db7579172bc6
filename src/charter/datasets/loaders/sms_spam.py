"""SMS Spam Collection v.1 (Almeida, Gómez Hidalgo, Yamakami 2011): ham / spam SMS."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from charter.datasets.core import DatasetInfo, LabelColumn, SplitInfo
from charter.datasets.loaders._files import read_tsv_unquoted
from charter.datasets.splits import METHOD, seeded_split

INFO = DatasetInfo(
    name="sms-spam",
    title="SMS Spam Collection v.1",
    description="5,574 English SMS messages (UK and Singapore) tagged ham (legitimate) or spam.",
    languages=("en",),
    license="attribution",
    license_note="free with attribution to Almeida and Gómez Hidalgo (see the readme)",
    redistributable=True,
    source="https://archive.ics.uci.edu/dataset/228/sms+spam+collection",
    files=("SMSSpamCollection",),
    splits={"train": SplitInfo(4453, False), "val": SplitInfo(568, False), "test": SplitInfo(553, False)},
    split_method=METHOD.format(strata="`label`"),
    label_columns={"label": LabelColumn(("ham", "spam"), "ham = legitimate, spam")},
    metadata_columns={"duplicate_text": "bool"},
    mapping="sms-spam",
    quirks=(
        "TSV without a header (label, text) and with bare quotes: read with quoting disabled",
        "403 messages repeat (same text); they share a split",
        "ids are `sms-spam:<row>` (0-based line in the file)",
    ),
    citation="Almeida, Gómez Hidalgo, Yamakami. Contributions to the Study of SMS Spam "
    "Filtering: New Collection and Results. DocEng 2011.",
)


def read(folder: Path) -> pd.DataFrame:
    raw = read_tsv_unquoted(folder, "SMSSpamCollection", header=None, names=["label", "text"])
    return pd.DataFrame(
        {
            "id": [f"sms-spam:{i}" for i in range(len(raw))],
            "split": seeded_split(raw["text"], raw["label"]),
            "text": raw["text"],
            "language": "en",
            "label": raw["label"],
            "duplicate_text": raw["text"].duplicated(keep=False),
        }
    )
