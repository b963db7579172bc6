"""The vendored sample: loaders fall back to it, it keeps ids and splits, and carries licenses."""

from __future__ import annotations

from pathlib import Path

import pytest

from charter.datasets import apply_mapping, availability, dataset_names, get_info, load_frame, load_mapping, load_split
from charter.datasets.paths import SAMPLE_DIR, shared_root
from charter.errors import CharterError
from charter.policy.load import load_policy

SAMPLED = ("davidson", "hatexplain", "olid", "germeval2018", "toxic-spans", "sms-spam")
EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples" / "policy.yaml"


@pytest.fixture
def no_shared_data(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("CHARTER_DATA_DIR", str(empty))
    return empty


def test_sample_holds_only_redistributable_datasets_with_licenses():
    files = {p.stem for p in SAMPLE_DIR.glob("*.csv")}
    assert files == set(SAMPLED)
    for name in SAMPLED:
        assert get_info(name).redistributable
        assert (SAMPLE_DIR / f"{name}.LICENSE.txt").stat().st_size > 100
    for name in dataset_names():
        if not get_info(name).redistributable:
            assert name not in files
    readme = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    assert "4,000 rows" in readme and "make_sample.py" in readme


@pytest.mark.parametrize("name", SAMPLED)
def test_loaders_fall_back_to_the_sample(no_shared_data, name):
    assert availability(name) == "sample"
    train, val, test = load_split(name, "train"), load_split(name, "val"), load_split(name, "test")
    assert train.source == val.source == test.source == "sample"
    assert len(train) == 400 and len(val) >= 50 and len(test) == 200
    assert not set(train.ids) & set(test.ids) and not set(val.ids) & (set(train.ids) | set(test.ids))


def test_every_category_the_sample_trains_can_be_tuned_on_its_val_splits(no_shared_data):
    """Tuning needs both classes in val for each category that train has violating items for."""
    policy = load_policy(EXAMPLE)

    def summed(split):
        frames = [apply_mapping(load_split(n, split), load_mapping(n, policy), policy).counts() for n in SAMPLED]
        out = {}
        for counts in frames:
            for category, row in counts.iterrows():
                seen = out.setdefault(category, {"violating": 0, "allowed": 0})
                seen["violating"] += int(row["violating"])
                seen["allowed"] += int(row["allowed"])
        return out

    trained = [c for c, n in summed("train").items() if n["violating"]]
    val = summed("val")
    assert sorted(trained) == ["harassment", "hate", "spam_scams", "violent_threats"]
    for category in trained:
        assert val[category]["violating"] > 0 and val[category]["allowed"] > 0, (category, val[category])
    # harassment positives come only from OLID (IND) and GermEval (INSULT): their carved val splits
    assert val["harassment"] == {"violating": 51, "allowed": 111}


def test_sample_mappings_give_both_classes(no_shared_data):
    policy = load_policy(EXAMPLE)
    for name in SAMPLED:
        mapped = apply_mapping(load_split(name, "test"), load_mapping(name, policy), policy)
        counts = mapped.counts()
        assert counts["violating"].max() > 0 and counts["allowed"].max() > 0, name


def test_missing_dataset_says_where_it_looked(no_shared_data):
    assert availability("tweepfake") == "missing"
    with pytest.raises(CharterError) as err:
        load_split("tweepfake", "test")
    text = str(err.value)
    assert str(no_shared_data / "tweepfake") in text and "$CHARTER_DATA_DIR" in text
    assert "tweepfake.csv (vendored sample)" in text and "research use only" in text
    with pytest.raises(CharterError, match="looked in: .*davidson"):
        load_frame("davidson", "shared")


@pytest.mark.skipif(shared_root() is None, reason="../shared/data is not available")
@pytest.mark.parametrize("name", SAMPLED)
def test_sample_rows_are_the_same_rows_as_in_the_full_data(name):
    sample, _ = load_frame(name, "sample")
    full, _ = load_frame(name, "shared")
    full = full.set_index("id")
    assert set(sample["id"]) <= set(full.index)
    rows = full.loc[sample["id"]]
    assert (rows["split"].to_numpy() == sample["split"].to_numpy()).all()
    assert (rows["text"].to_numpy() == sample["text"].to_numpy()).all()
    for column in get_info(name).label_columns:
        assert (rows[column].to_numpy() == sample[column].to_numpy()).all()


@pytest.mark.skipif(shared_root() is None, reason="../shared/data is not available")
def test_sample_metadata_columns_round_trip():
    sample, _ = load_frame("toxic-spans", "sample")
    full, _ = load_frame("toxic-spans", "shared")
    rows = full.set_index("id").loc[sample["id"]]
    assert rows["spans"].tolist() == sample["spans"].tolist()
    assert rows["threat_raters"].tolist() == sample["threat_raters"].tolist()
    davidson, _ = load_frame("davidson", "sample")
    assert davidson["agreement"].between(0, 1).all() and davidson["annotators"].dtype == "Int64"
