"""Every loader against the real shared data: official split sizes, ids, and each file's quirks."""

from __future__ import annotations

import pandas as pd
import pytest

from charter.datasets import dataset_names, get_info, load_frame, load_split
from charter.datasets.paths import shared_root
from charter.datasets.splits import carve_validation, seeded_split
from charter.errors import CharterError

ROOT = shared_root()
needs_shared = pytest.mark.skipif(ROOT is None, reason="../shared/data (or $CHARTER_DATA_DIR) is not available")

# The sizes the datasets' authors publish (README files and papers), per split.
OFFICIAL = {
    "hatexplain": {"train": 15383, "val": 1922, "test": 1924},
    "olid": {"train": 13240, "test": 860},
    "germeval2018": {"train": 5009, "test": 3532},
    "cold-chinese": {"train": 25726, "val": 6431, "test": 5323},
    "toxic-spans": {"train": 7939, "val": 690, "test": 2000},
    "tweepfake": {"train": 20712, "val": 2302, "test": 2558},
    "sdcnl_suicide_vs_depression": {"train": 1516, "test": 379},
    "dices": {"350": 350, "990": 990},
}
TOTALS = {
    "davidson": 24783,
    "mlma": 5647 + 4014 + 3353,
    "sms-spam": 5574,
    "twitter_suicidal_intention": 9119,
    "cyberbullying_tweets": 19775,
    "jigsaw-bias-madlibs": 76564 + 34958 + 27410 + 30654 + 37359 + 30240 + 1492 * 2,
}


def frame(name: str) -> pd.DataFrame:
    data, source = load_frame(name, "shared")
    assert source == "shared"
    return data


@needs_shared
@pytest.mark.parametrize("name", dataset_names())
def test_split_sizes_match_the_registry(name):
    counts = frame(name)["split"].value_counts().to_dict()
    assert counts == {split: info.rows for split, info in get_info(name).splits.items()}


@needs_shared
@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_official_splits_have_the_published_sizes(name):
    info = get_info(name)
    split_of = {split: s.carved_from or split for split, s in info.splits.items()}
    counts = frame(name)["split"].map(split_of).value_counts().to_dict()
    assert {k: counts.get(k) for k in OFFICIAL[name]} == OFFICIAL[name]
    assert {k: info.published_splits.get(k) for k in OFFICIAL[name]} == OFFICIAL[name]


# Datasets published with train and test only, whose train split gives a seeded `val`.
CARVED = {
    "olid": ("olid-training-v1.0.tsv", ["subtask_a", "subtask_b", "subtask_c"]),
    "germeval2018": ("germeval2018.training.txt", ["fine"]),
    "sdcnl_suicide_vs_depression": ("training-set.csv", ["is_suicide"]),
}


def test_every_dataset_with_a_train_split_has_a_val_split():
    for name in dataset_names():
        info = get_info(name)
        if "train" in info.splits:
            assert "val" in info.splits, name
            assert ("val" in info.carved) == (name in CARVED), name


@needs_shared
@pytest.mark.parametrize("name", sorted(CARVED))
def test_carved_validation_is_stratified_stable_and_leaves_test_alone(name):
    data = frame(name)
    info = get_info(name)
    _, strata = CARVED[name]
    official_train = data[data["split"].isin(["train", "val"])]
    assert len(official_train) == info.published_splits["train"]
    assert info.splits["test"].official and info.splits["val"].carved_from == "train"
    # the test split is exactly the official test file: same ids as an uncarved read would give
    assert len(data[data["split"] == "test"]) == OFFICIAL[name]["test"]
    key = official_train[strata].agg("/".join, axis=1)
    share = official_train.assign(key=key).groupby("key")["split"].apply(lambda s: (s == "val").mean())
    big = share[key.value_counts()[share.index] >= 50]
    assert big.between(0.08, 0.12).all(), share.to_dict()
    assert official_train.groupby("text")["split"].nunique().max() == 1  # duplicates never straddle
    # membership depends on text and label only: shuffling the rows changes nothing
    shuffled = official_train.sample(frac=1.0, random_state=0)
    again = pd.Series(carve_validation(shuffled["text"], shuffled[strata].agg("/".join, axis=1)), index=shuffled.index)
    assert (again.loc[official_train.index].to_numpy() == official_train["split"].to_numpy()).all()


def test_carve_validation_by_stratum_and_seed():
    texts = pd.Series([f"text {i}" for i in range(200)] + ["dup", "dup"])
    strata = pd.Series(["a"] * 100 + ["b"] * 100 + ["a", "a"])
    split = carve_validation(texts, strata)
    assert set(split) == {"train", "val"}
    assert (split[:100] == "val").sum() + (split[200:] == "val").sum() // 2 == round(101 * 0.1)
    assert (split[100:200] == "val").sum() == 10
    assert split[200] == split[201]
    assert (carve_validation(texts, strata, seed=14) != split).any()


@needs_shared
@pytest.mark.parametrize("name", sorted(TOTALS))
def test_datasets_without_official_splits_keep_every_row(name):
    assert len(frame(name)) == TOTALS[name]


@needs_shared
@pytest.mark.parametrize("name", dataset_names())
def test_ids_are_unique_prefixed_and_texts_present(name):
    data = frame(name)
    assert data["id"].is_unique
    assert data["id"].str.startswith(f"{name}:").all()
    assert (data["text"].str.len() > 0).mean() > 0.99
    assert set(data["language"]) <= set(get_info(name).languages)


@needs_shared
def test_seeded_split_is_stable_stratified_and_keeps_duplicates_together():
    data = frame("sms-spam")
    again = seeded_split(data["text"], data["label"])
    assert (again == data["split"].to_numpy()).all()
    assert data.groupby("text")["split"].nunique().max() == 1
    share = data[data["label"] == "spam"]["split"].value_counts(normalize=True)
    assert share["train"] == pytest.approx(0.8, abs=0.02) and share["test"] == pytest.approx(0.1, abs=0.02)


@needs_shared
def test_hatexplain_no_majority_posts_are_outside_the_official_splits():
    data = frame("hatexplain")
    assert set(data[data["split"] == "unassigned"]["category"]) == {"3"}
    assert "3" not in set(data[data["split"] != "unassigned"]["category"])
    assert set(data["platform"]) == {"twitter", "gab"}


@needs_shared
def test_olid_test_labels_of_all_three_levels_are_joined():
    test = frame("olid").query("split == 'test'")
    assert test["subtask_a"].value_counts().to_dict() == {"NOT": 620, "OFF": 240}
    assert test["subtask_b"].value_counts().to_dict() == {"NULL": 620, "TIN": 213, "UNT": 27}
    assert test["subtask_c"].value_counts().to_dict() == {"NULL": 647, "IND": 100, "GRP": 78, "OTH": 35}


@needs_shared
def test_germeval_line_breaks_and_labels():
    data = frame("germeval2018")
    assert not data["text"].str.contains("|LBR|", regex=False).any()
    assert data["text"].str.contains("\n").sum() > 1000
    assert data.query("split == 'test'")["fine"].value_counts().to_dict() == {
        "OTHER": 2330, "ABUSE": 773, "INSULT": 381, "PROFANITY": 48,
    }  # fmt: skip


@needs_shared
def test_davidson_text_is_unescaped_and_votes_kept():
    data = frame("davidson")
    assert not data["text"].str.contains("&amp;").any()
    assert (data["annotators"] >= 3).all()
    votes = data["hate_speech_votes"] + data["offensive_language_votes"] + data["neither_votes"]
    assert (votes == data["annotators"]).all()
    assert data.loc[data["id"] == "davidson:0", "class"].item() == "2"


@needs_shared
def test_dices_majority_yes_means_unsafe_and_rater_answers_are_exposed():
    split = load_split("dices", "350", "shared")
    by_id = {item.id: item for item in split.items}
    item = by_id["dices:350-173"]
    assert item.metadata["majority_human"] == "No" and item.metadata["safety"] == "safe"
    assert len(item.metadata["rater_answers"]) == item.metadata["raters"] == 123
    assert item.metadata["yes_votes"] + item.metadata["no_votes"] + item.metadata["unsure_votes"] == 123
    assert "smacking him with the  belt" in item.metadata["context"]
    frame_ = split.frame
    assert ((frame_["majority_human"] == "Yes") == (frame_["safety"] == "unsafe")).all()
    assert frame_["expert"].value_counts().to_dict() == {"No": 175, "Yes": 175}
    assert (load_split("dices", "990", "shared").frame["expert"] == "NULL").all()


@needs_shared
def test_mlma_sentiment_is_multi_label():
    data = frame("mlma")
    labels = set(data["sentiment"].str.split("_").explode())
    assert labels == {"normal", "offensive", "hateful", "abusive", "disrespectful", "fearful"}
    assert data["language"].value_counts().to_dict() == {"en": 5647, "fr": 4014, "ar": 3353}


@needs_shared
def test_toxic_spans_raw_types_are_joined():
    data = frame("toxic-spans")
    assert (data["threat"] != "unmatched").all()
    assert data["threat"].value_counts()["majority"] == 94
    first = data[data["spans"].map(len) > 0].iloc[0]
    start, end = first["spans"][0]
    assert 0 <= start < end <= len(first["text"])


@needs_shared
def test_tweepfake_semicolon_files_and_cold_fine_labels():
    tweepfake = frame("tweepfake")
    assert set(tweepfake["class_type"]) == {"human", "gpt2", "rnn", "others"}
    assert tweepfake["screen_name"].nunique() == 40
    cold = frame("cold-chinese")
    assert (cold.query("split != 'test'")["fine_grained"] == "NULL").all()
    assert cold.query("split == 'test'")["fine_grained"].value_counts().to_dict() == {
        "0": 2548,
        "2": 1819,
        "3": 668,
        "1": 288,
    }


@needs_shared
def test_load_split_builds_items_with_metadata_and_raw_labels():
    split = load_split("olid", "test", "shared")
    assert len(split) == 860 and split.source == "shared" and split.languages == {"en"}
    item = split.items[0]
    assert item.metadata["dataset"] == "olid" and item.metadata["split"] == "test"
    assert list(split.raw_labels.columns) == ["subtask_a", "subtask_b", "subtask_c"]
    assert split.raw_labels.loc[item.id, "subtask_a"] == item.metadata["subtask_a"]


def test_split_aliases_and_unknown_split():
    info = get_info("cold-chinese")
    assert info.split_name("dev") == "val" and info.split_name("val") == "val"
    with pytest.raises(CharterError, match="has no split 'dev'.*train, val, test, all"):
        load_split("olid", "dev")
    with pytest.raises(CharterError, match="unknown dataset 'nope'"):
        load_split("nope")
