"""TweepFake (Fagni et al., PLOS ONE 2021): tweets by humans and by the bots imitating them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from charter.datasets.core import DatasetInfo, LabelColumn, SplitInfo
from charter.datasets.loaders._files import read_csv

INFO = DatasetInfo(
    name="tweepfake",
    title="TweepFake: deepfake tweet detection",
    description="25,572 English tweets, half from 17 human accounts and half from 23 bots "
    "imitating them with GPT-2, RNNs and other (Markov, LSTM) generators.",
    languages=("en",),
    license="research-only",
    license_note="no license file: research use only, never vendor",
    redistributable=False,
    source="https://github.com/tizfa/tweepfake_deepfake_text_detection",
    files=("train.csv", "validation.csv", "test.csv"),
    splits={
        "train": SplitInfo(20712, True),
        "val": SplitInfo(2302, True, "validation"),
        "test": SplitInfo(2558, True),
    },
    split_method="official: train.csv, validation.csv (as `val`), test.csv",
    label_columns={
        "account_type": LabelColumn(("human", "bot"), "who posted it (raw column `account.type`)"),
        "class_type": LabelColumn(("human", "gpt2", "rnn", "others"), "the generator, or human"),
    },
    metadata_columns={"screen_name": "str"},
    mapping="tweepfake",
    quirks=(
        "files are ;-separated",
        "the raw column `account.type` is renamed account_type",
        "ids are `tweepfake:<split>-<row>`; screen_name (the account) is the natural slice",
    ),
    citation="Fagni, Falchi, Gambini, Martella, Tesconi. TweepFake: About Detecting Deepfake Tweets. PLOS ONE 2021.",
)

FILES = {"train": "train.csv", "val": "validation.csv", "test": "test.csv"}


def read(folder: Path) -> pd.DataFrame:
    parts = []
    for split, name in FILES.items():
        raw = read_csv(folder, name, sep=";")
        parts.append(
            pd.DataFrame(
                {
                    "id": [f"tweepfake:{split}-{i}" for i in range(len(raw))],
                    "split": split,
                    "text": raw["text"],
                    "language": "en",
                    "account_type": raw["account.type"],
                    "class_type": raw["class_type"],
                    "screen_name": raw["screen_name"],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
