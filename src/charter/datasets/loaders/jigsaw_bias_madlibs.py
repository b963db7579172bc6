"""Jigsaw / Conversation AI bias madlibs: template sentences that differ only in an identity term.

Each subset is a bias test, not a train/test split: a fair classifier scores the toxic and the
non-toxic sentences of a template alike whatever identity term fills it. The fuzzed and
non-fuzzed test sets are the same Wikipedia comments with identity terms swapped (`rev_id`
pairs them).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from charter.datasets.core import MISSING, DatasetInfo, LabelColumn, SplitInfo
from charter.datasets.loaders._files import read_csv

TEMPLATE_FILES = {
    "en": ("en_sentence_templates.csv", "en"),
    "de": ("de_sentence_templates.csv", "de"),
    "hi-Latn": ("hi-Latn_sentence_templates.csv", "hi-Latn"),
    "nl": ("nl_sentence_templates.csv", "nl"),
    "zh-cn": ("zh-cn_sentence_templates.csv", "zh"),
    "intersectional": ("intersectional_madlibs.csv", "en"),
}
COMMENT_FILES = {"fuzzed": "toxicity_fuzzed_testset.csv", "nonfuzzed": "toxicity_nonfuzzed_testset.csv"}
TEMPLATES = (
    "am_eth_gen_m", "am_eth_gen_p", "am_eth_gen_w", "am_eth_sex_m", "am_eth_sex_p", "am_eth_sex_w",
    "am_hate_adj", "am_identity", "being_adj", "being_eth_gen", "being_eth_gen_tox", "being_eth_sex",
    "being_eth_sex_tox", "being_identity", "being_identity_is_adjective", "being_identity_tox",
    "hate_eth_gen_m", "hate_eth_gen_p", "hate_eth_gen_w", "hate_eth_sex_m", "hate_eth_sex_p",
    "hate_eth_sex_w", "hate_identity", "i_am_identity", "i_hate_identity_people", "name_adj", "verb_adj",
    "verb_identity", "you_are_a_adjective_identity_person", "you_are_adj", "you_are_eth_gen_m",
    "you_are_eth_gen_m_tox", "you_are_eth_gen_w", "you_are_eth_gen_w_tox", "you_are_eth_sex_m",
    "you_are_eth_sex_m_tox", "you_are_eth_sex_w", "you_are_eth_sex_w_tox", "you_are_identity_p",
    "you_are_identity_p_tox", "you_occupation",
)  # fmt: skip

INFO = DatasetInfo(
    name="jigsaw-bias-madlibs",
    title="Unintended ML bias analysis: sentence templates (madlibs) and fuzzed comments",
    description="Toxic and non-toxic template sentences filled with identity terms in five "
    "languages, intersectional English templates, and 1,492 Wikipedia comments with identity "
    "terms swapped (fuzzed) or not; for measuring identity-term bias.",
    languages=("en", "de", "hi-Latn", "nl", "zh"),
    license="CC-BY-4.0",
    license_note="data CC-BY-4.0, code Apache-2.0",
    redistributable=True,
    source="https://github.com/conversationai/unintended-ml-bias-analysis",
    files=tuple(f for f, _ in TEMPLATE_FILES.values()) + tuple(COMMENT_FILES.values()),
    splits={
        "en": SplitInfo(76564, True),
        "de": SplitInfo(34958, True),
        "hi-Latn": SplitInfo(27410, True),
        "nl": SplitInfo(30654, True),
        "zh-cn": SplitInfo(37359, True),
        "intersectional": SplitInfo(30240, True),
        "fuzzed": SplitInfo(1492, True),
        "nonfuzzed": SplitInfo(1492, True),
    },
    split_method="the published files, one subset each; they are bias test sets, not train/test splits",
    label_columns={
        "toxicity": LabelColumn(("toxic", "nontoxic"), "the template's (or comment's) toxicity"),
        "template": LabelColumn((*TEMPLATES, MISSING), "template id; NULL for the Wikipedia comments"),
    },
    metadata_columns={"rev_id": "int"},
    mapping="jigsaw-bias-madlibs",
    quirks=(
        "the comment test sets say toxic True/False; the loader writes toxic/nontoxic",
        "ids are `jigsaw-bias-madlibs:<subset>-<row>`; rev_id pairs fuzzed and nonfuzzed comments",
    ),
    citation="Dixon, Li, Sorensen, Thain, Vasserman. Measuring and Mitigating Unintended Bias in "
    "Text Classification. AIES 2018.",
)


def read(folder: Path) -> pd.DataFrame:
    parts = []
    for subset, (name, language) in TEMPLATE_FILES.items():
        raw = read_csv(folder, name)
        parts.append(
            pd.DataFrame(
                {
                    "id": [f"jigsaw-bias-madlibs:{subset}-{i}" for i in range(len(raw))],
                    "split": subset,
                    "text": raw["phrase"],
                    "language": language,
                    "toxicity": raw["toxicity"],
                    "template": raw["template"],
                }
            )
        )
    for subset, name in COMMENT_FILES.items():
        raw = read_csv(folder, name)
        parts.append(
            pd.DataFrame(
                {
                    "id": [f"jigsaw-bias-madlibs:{subset}-{i}" for i in range(len(raw))],
                    "split": subset,
                    "text": raw["comment"].str.strip(),
                    "language": "en",
                    "toxicity": raw["toxic"].map({"True": "toxic", "False": "nontoxic"}),
                    "template": MISSING,
                    "rev_id": raw["rev_id"].astype(int),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame["rev_id"] = frame["rev_id"].astype("Int64")
    return frame
