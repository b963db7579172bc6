"""Agreement from the store checked on real multi-rater data: DICES-350 (its first 80 items,
about 10,000 ratings, to keep the suite quick), every rater's answer imported as a label;
Krippendorff's alpha from `review_agreement` must equal the `krippendorff` package's on the
same (raters x items) matrix."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest

from charter.datasets import availability, load_split
from charter.review import Annotation, import_annotations, review_agreement
from review_support import T0, Store, bundle, postgres_url, project, store  # noqa: F401

# DICES asks whether a reply is unsafe: "Yes" = unsafe. Any one-to-one mapping keeps nominal alpha.
VERDICT = {"Yes": "violating", "No": "allowed", "Unsure": "needs_review"}
CODE = {"Yes": 0, "No": 1, "Unsure": 2}
N_ITEMS = 80


@pytest.fixture(scope="module")
def dices():
    if availability("dices") != "shared":
        pytest.skip("../shared/data/dices is absent (set CHARTER_DATA or add the shared data folder)")
    return load_split("dices", "350", source="shared").items[:N_ITEMS]


def test_store_alpha_matches_the_krippendorff_package(store: Store, bundle, dices) -> None:
    annotations = [
        Annotation(item, f"dices-rater-{position}", VERDICT[answer])
        for item in dices
        for position, answer in enumerate(item.metadata["rater_answers"])
    ]
    with store.session() as session, session.begin():
        p = project(session, bundle)
        tasks = import_annotations(session, p, "harassment", annotations, now=T0)
        assert len(tasks) == len(dices)
    with store.session() as session:
        result = review_agreement(session, p)["harassment"]
    widths = {len(item.metadata["rater_answers"]) for item in dices}
    matrix = np.full((max(widths), len(dices)), np.nan)
    for column, item in enumerate(dices):
        for row, answer in enumerate(item.metadata["rater_answers"]):
            matrix[row, column] = CODE[answer]
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert result.krippendorff_alpha.n_items == len(dices)
    assert result.krippendorff_alpha.value == pytest.approx(expected, abs=1e-12)
    assert 0.0 < expected < 0.5  # DICES is known for low crowd agreement
