"""MLMA (Ousidhoum et al., EMNLP 2019): multilingual, multi-aspect hate speech (en, fr, ar)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from charter.datasets.core import DatasetInfo, LabelColumn, SplitInfo
from charter.datasets.loaders._files import read_csv
from charter.datasets.splits import METHOD, seeded_split

HOSTILITY = ("normal", "offensive", "hateful", "abusive", "disrespectful", "fearful")
EMOTIONS = ("anger", "confusion", "disgust", "fear", "indifference", "sadness", "shock")
TARGETS = ("origin", "disability", "gender", "sexual_orientation", "religion", "other")
GROUPS = (
    "african_descent", "arabs", "asians", "christian", "gay", "hispanics", "immigrants", "indian/hindu",
    "individual", "jews", "left_wing_people", "muslims", "other", "refugees", "special_needs", "women",
)  # fmt: skip
LANGUAGES = ("en", "fr", "ar")

INFO = DatasetInfo(
    name="mlma",
    title="Multilingual and Multi-Aspect Hate Speech (MLMA)",
    description="13,014 tweets in English, French and Arabic, all collected with identity terms, "
    "annotated with hostility types (multi-label), directness, target attribute, target group "
    "and the annotators' own sentiment.",
    languages=LANGUAGES,
    license="MIT",
    redistributable=True,
    source="https://github.com/HKUST-KnowComp/MLMA_hate_speech",
    files=tuple(f"hate_speech_mlma/{lang}_dataset.csv" for lang in LANGUAGES),
    splits={"train": SplitInfo(10415, False), "val": SplitInfo(1298, False), "test": SplitInfo(1301, False)},
    split_method=METHOD.format(strata="language and whether `sentiment` contains hateful"),
    label_columns={
        "sentiment": LabelColumn(HOSTILITY, "hostility types the annotators agreed on, joined by _", "_"),
        "directness": LabelColumn(("direct", "indirect"), "whether the hostility is direct"),
        "target": LabelColumn(TARGETS, "the attribute targeted"),
        "group": LabelColumn(GROUPS, "the group targeted (individual = one person)"),
        "annotator_sentiment": LabelColumn(EMOTIONS, "how the tweet made the annotators feel, joined by _", "_"),
    },
    mapping="mlma",
    quirks=(
        "`sentiment` (the hostility type) and `annotator_sentiment` are multi-label, joined by _",
        "the authors treat single-label `normal` as non-hate and everything else as toxic",
        "ids are `mlma:<language>-<HITId>`; 63 tweets repeat within a language",
    ),
    citation="Ousidhoum, Lin, Zhang, Song, Yeung. Multilingual and Multi-Aspect Hate Speech Analysis. EMNLP 2019.",
)


def read(folder: Path) -> pd.DataFrame:
    parts = []
    for lang in LANGUAGES:
        raw = read_csv(folder, f"hate_speech_mlma/{lang}_dataset.csv")
        parts.append(
            pd.DataFrame(
                {
                    "id": f"mlma:{lang}-" + raw["HITId"],
                    "text": raw["tweet"],
                    "language": lang,
                    "sentiment": raw["sentiment"],
                    "directness": raw["directness"],
                    "target": raw["target"],
                    "group": raw["group"],
                    "annotator_sentiment": raw["annotator_sentiment"],
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    hateful = frame["sentiment"].str.split("_").map(lambda labels: "hateful" in labels)
    # Group by (language, text) so that a tweet repeated across languages is not merged.
    frame.insert(
        1, "split", seeded_split(frame["language"] + "\0" + frame["text"], frame["language"] + hateful.astype(str))
    )
    return frame
