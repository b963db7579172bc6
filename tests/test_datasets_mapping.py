"""Label mappings: every shipped one fits the example policy; mistakes are located errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from charter.datasets import (
    DatasetSplit,
    apply_mapping,
    get_info,
    gold_arrays,
    load_mapping,
    load_split,
    parse_mapping_text,
    shipped_mappings,
    verdict_frame,
)
from charter.datasets.mapping import check_mapping
from charter.errors import CharterError
from charter.policy.load import load_policy
from charter.records import Label

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples" / "policy.yaml"


@pytest.fixture(scope="module")
def policy():
    return load_policy(EXAMPLE)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    return path


DAVIDSON = """\
dataset: davidson
version: 1.0.0
policy: charter-example
description: test mapping
categories:
  hate:
    violating:
      - class: [0]
    allowed:
      - class: [2]
"""


def test_every_shipped_mapping_fits_the_example_policy(policy):
    shipped = shipped_mappings()
    assert len(shipped) == 12
    for path in shipped:
        mapping = load_mapping(path, policy)
        assert mapping.dataset == path.stem and mapping.policy == "charter-example"
        assert get_info(mapping.dataset).mapping == path.stem
        assert all(rule.caveats for rule in mapping.rules.values()), f"{path.name} lacks caveats"


def test_datasets_without_mapping_say_why(policy):
    for name in ("dices", "sdcnl_suicide_vs_depression"):
        with pytest.raises(CharterError, match="has no label mapping: .*(agreement|risk)"):
            load_mapping(name, policy)


def test_unknown_category_names_file_line_and_category(tmp_path, policy):
    path = write(tmp_path, DAVIDSON.replace("  hate:", "  hateful:"))
    with pytest.raises(CharterError) as err:
        load_mapping(path, policy)
    text = str(err.value)
    assert f"{path}:6:3" in text
    assert "category 'hateful' is not in policy 'charter-example'" in text


def test_unknown_raw_value_names_file_line_and_value(tmp_path, policy):
    path = write(tmp_path, DAVIDSON.replace("class: [2]", "class: [2, 7]"))
    with pytest.raises(CharterError) as err:
        load_mapping(path, policy)
    text = str(err.value)
    assert f"{path}:10:9" in text
    assert "value '7' does not occur in column 'class' of dataset davidson (values: 0, 1, 2)" in text


def test_unknown_column_and_operator_are_located(tmp_path, policy):
    path = write(tmp_path, DAVIDSON.replace("- class: [0]", "- klass: [0]"))
    with pytest.raises(CharterError, match=r"m\.yaml:8:9: column 'klass' is not a label column of dataset davidson"):
        load_mapping(path, policy)
    path = write(tmp_path, DAVIDSON.replace("- class: [0]", "- class: {some: [0]}"))
    with pytest.raises(CharterError, match=r"m\.yaml:8:17: unknown test 'some'"):
        load_mapping(path, policy)


def test_policy_mismatch_version_and_structure_errors(tmp_path, policy):
    path = write(tmp_path, DAVIDSON.replace("policy: charter-example", "policy: other"))
    with pytest.raises(CharterError, match=r"m\.yaml:3:9: mapping targets policy 'other'"):
        load_mapping(path, policy)
    path = write(tmp_path, DAVIDSON.replace("version: 1.0.0", "version: one"))
    with pytest.raises(CharterError, match=r"m\.yaml:2:10: version 'one' is not semantic versioning"):
        load_mapping(path, policy)
    path = write(tmp_path, DAVIDSON + "  harassment:\n    caveats: nothing\n")
    with pytest.raises(CharterError, match="'harassment' has neither violating nor allowed"):
        load_mapping(path, policy)
    path = write(tmp_path, "dataset: [unclosed\n")
    with pytest.raises(CharterError, match="not valid YAML"):
        load_mapping(path, policy)


def test_several_problems_are_reported_together(tmp_path, policy):
    path = write(tmp_path, DAVIDSON.replace("class: [0]", "class: [9]").replace("  hate:", "  hat:"))
    with pytest.raises(CharterError) as err:
        load_mapping(path, policy)
    assert len(err.value.problems) == 2


def test_overlapping_rules_are_an_error(tmp_path, policy):
    path = write(tmp_path, DAVIDSON.replace("class: [2]", "class: [0, 2]"))
    mapping = load_mapping(path, policy)
    split = load_split("davidson", "test")
    with pytest.raises(CharterError, match=r"m\.yaml:6:3: .*both violating and allowed for 'hate'"):
        apply_mapping(split, mapping, policy)


def test_apply_mapping_gives_gold_labels_only_where_known(policy):
    split = load_split("olid", "test")
    mapped = apply_mapping(split, load_mapping("olid", policy), policy)
    assert [label.item_id for label in mapped.labels] == split.ids
    by_id = dict(zip(split.ids, mapped.labels))
    for item_id, row in split.raw_labels.iterrows():
        label = by_id[item_id]
        assert label.pathway == "dataset" and label.policy_id == "charter-example"
        if row["subtask_a"] == "NOT":
            assert label.labels == {"hate": "allowed", "harassment": "allowed", "violent_threats": "allowed"}
        elif row["subtask_c"] == "GRP":
            assert label.labels == {"hate": "violating"}
        elif row["subtask_c"] == "IND":
            assert label.labels == {"harassment": "violating"}
        elif row["subtask_c"] == "OTH":
            assert label.labels == {}
    counts = mapped.counts()
    assert set(counts.columns) == {"violating", "allowed", "unknown"}
    assert (counts.sum(axis=1) == len(split)).all()


def test_multi_label_operators(policy):
    text = """\
dataset: mlma
version: 1.0.0
policy: charter-example
description: operators
categories:
  hate:
    violating:
      - sentiment: {any: [hateful], none: [normal]}
    allowed:
      - sentiment: {only: [normal, offensive]}
"""
    mapping = parse_mapping_text(text, "ops.yaml")
    check_mapping(mapping, policy)
    info = get_info("mlma")
    raw = pd.DataFrame(
        {"sentiment": ["hateful", "hateful_normal", "offensive_normal", "offensive_abusive", "normal"]},
        index=[f"mlma:en-{i}" for i in range(5)],
    )
    for column in info.label_columns:
        raw[column] = raw.get(column, "other")
    split = DatasetSplit("mlma", "test", "shared", [], raw, raw, info)
    verdicts = verdict_frame(split, mapping)["hate"].tolist()
    assert verdicts == ["violating", None, "allowed", None, "allowed"]


def test_gold_arrays():
    labels = [
        Label(item_id="a", policy_id="p", policy_version="1.0.0", policy_hash="h", labels={"hate": "violating"}),
        Label(
            item_id="b",
            policy_id="p",
            policy_version="1.0.0",
            policy_hash="h",
            labels={"hate": "allowed", "spam_scams": "needs_review"},
        ),
        Label(item_id="c", policy_id="p", policy_version="1.0.0", policy_hash="h"),
    ]
    arrays = gold_arrays(labels, ["hate", "spam_scams"])
    np.testing.assert_array_equal(arrays["hate"], [1.0, 0.0, np.nan])
    np.testing.assert_array_equal(arrays["spam_scams"], [np.nan, np.nan, np.nan])
