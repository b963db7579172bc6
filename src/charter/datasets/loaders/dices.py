"""DICES (Aroyo et al., NeurIPS 2023): chatbot replies rated for safety by many raters each.

The question stored in the JSON says "Is the model response safe?", but DICES asked whether
the conversation is *unsafe*: a majority "Yes" means UNSAFE and "No" means safe. The loader
keeps the raw answers and adds an explicit `safety` column (unsafe / safe) so nobody has to
remember the inversion.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from charter.datasets.core import MISSING, DatasetInfo, LabelColumn, SplitInfo
from charter.datasets.loaders._files import read_json

ANSWERS = ("Yes", "No", "Unsure")
UNSAFE_ANSWER = "Yes"

INFO = DatasetInfo(
    name="dices",
    title="DICES: Diverse Conversational AI Safety evaluation (JUDGE-BENCH copy)",
    description="Human-chatbot conversations whose last chatbot reply was rated by a diverse "
    "crowd (about 120 raters per item in DICES-350, about 70 in DICES-990); DICES-350 also has an "
    "expert rating. Built for rater-agreement and multi-annotator work.",
    languages=("en",),
    license="CC-BY-4.0",
    redistributable=True,
    source="https://github.com/google-research-datasets/dices-dataset (copy in dmg-illc/JUDGE-BENCH)",
    files=("dices_350_crowdsourced.json", "dices_350_expert.json", "dices_990.json"),
    splits={"350": SplitInfo(350, True), "990": SplitInfo(990, True)},
    split_method="the two published subsets, DICES-350 (crowd answers, expert answer joined by id) "
    "and DICES-990; they are not train/test splits",
    label_columns={
        "majority_human": LabelColumn(("Yes", "No"), 'majority crowd answer: "Yes" = UNSAFE, "No" = safe'),
        "safety": LabelColumn(("unsafe", "safe"), "the majority answer spelled out"),
        "expert": LabelColumn(("Yes", "No", MISSING), 'DICES-350 expert answer ("Yes" = UNSAFE); NULL in DICES-990'),
    },
    metadata_columns={
        "context": "str",
        "rater_answers": "json",
        "raters": "int",
        "yes_votes": "int",
        "no_votes": "int",
        "unsure_votes": "int",
        "source_id": "int",
    },
    mapping=None,
    mapping_note="no label mapping: DICES 'unsafe' spans harms of every kind (and bias, "
    "misinformation), not one policy category; use it for rater agreement",
    quirks=(
        'the stored prompt asks "safe?" but "Yes" means UNSAFE (see ../shared/data/README.md)',
        "item text is the chatbot reply; the conversation before it is metadata `context`",
        "rater_answers lists each rater's answer; list positions are not guaranteed to be the "
        "same rater across items, so use per-item counts (yes/no/unsure_votes) for agreement",
        "ids are `dices:350-<id>` and `dices:990-<id>`: the two subsets number items independently",
    ),
    citation="Aroyo, Taylor, Díaz, Homan, Parrish, Serapio-García, Prabhakaran, Wang. DICES "
    "Dataset: Diversity in Conversational AI Evaluation for Safety. NeurIPS 2023.",
)


def _rows(instances: list[dict], subset: str, expert: dict[int, str]) -> list[dict]:
    rows = []
    for record in instances:
        safety = record["annotations"]["safety"]
        answers = [str(a) for a in safety["individual_human_scores"]]
        votes = Counter(answers)
        rows.append(
            {
                "id": f"dices:{subset}-{record['id']}",
                "split": subset,
                "text": record["instance"]["response"],
                "language": "en",
                "majority_human": safety["majority_human"],
                "safety": "unsafe" if safety["majority_human"] == UNSAFE_ANSWER else "safe",
                "expert": expert.get(record["id"], MISSING),
                "context": record["instance"]["user_prompt"],
                "rater_answers": answers,
                "raters": len(answers),
                "yes_votes": votes["Yes"],
                "no_votes": votes["No"],
                "unsure_votes": votes["Unsure"],
                "source_id": int(record["id"]),
            }
        )
    return rows


def read(folder: Path) -> pd.DataFrame:
    expert_file = read_json(folder, "dices_350_expert.json")
    expert = {r["id"]: r["annotations"]["safety"]["majority_human"] for r in expert_file["instances"]}
    rows = _rows(read_json(folder, "dices_350_crowdsourced.json")["instances"], "350", expert)
    rows += _rows(read_json(folder, "dices_990.json")["instances"], "990", {})
    return pd.DataFrame(rows)
