"""Multi-annotator label quality (cleanlab CROWDLAB): a careless annotator and planted
mislabels are found on synthetic votes; on DICES-350 (first 80 items, 123 raters each, read
from the store) annotator quality tracks each rater's agreement with the majority, and the
items ranked least trustworthy are the ones DICES's expert rating disputes most."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from scipy.stats import spearmanr
from typer.testing import CliRunner

from charter.cli import review_interop_cmd
from charter.datasets import availability, load_split
from charter.errors import CharterError
from charter.records import ContentItem, Decision
from charter.review import Annotation, import_annotations, make_engine, migrate, session_factory
from charter.review.label_quality import assess_category, label_quality
from review_support import T0, Store, bundle, postgres_url, project, store  # noqa: F401

SPAM = ("win a free prize click this link now", "cheap pills discount buy today",
        "claim your reward send your bank details", "limited offer earn money fast from home")
HAM = ("see you at the game tonight", "thanks for the recipe it was lovely",
       "the meeting moved to thursday", "happy birthday hope you have a great day")
VERDICTS = ("allowed", "violating")
PLANTED = (5, 17, 33)
DICES = {"Yes": "violating", "No": "allowed", "Unsure": "needs_review"}  # "Yes" = unsafe (see the loader)
DICES_ITEMS = 80


def _synthetic(n: int = 60, seed: int = 0):
    """Texts of two separable kinds; five annotators right 85% of the time, each labelling
    about 80% of items; one careless annotator answering at random; three planted items that
    most annotators get wrong."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n)
    texts = [f"{(SPAM if t else HAM)[i % 4]} {i}" for i, t in enumerate(truth)]
    votes = []
    for i, t in enumerate(truth):
        row = {f"good{a}": VERDICTS[t if rng.random() > 0.15 else 1 - t] for a in range(5) if rng.random() < 0.8}
        row["careless"] = VERDICTS[rng.integers(0, 2)]
        votes.append(row)
    for i in PLANTED:
        wrong, right = VERDICTS[1 - truth[i]], VERDICTS[truth[i]]
        votes[i] = {"good0": wrong, "good1": wrong, "good2": wrong, "good3": right, "careless": wrong}
    return truth, texts, votes


def test_crowdlab_finds_the_careless_annotator_and_the_planted_mislabels() -> None:
    truth, texts, votes = _synthetic()
    ids = [f"i{i}" for i in range(len(votes))]
    quality = assess_category("spam_scams", list(range(len(votes))), ids, texts, votes)
    assert quality.probabilities == "text_model" and quality.classes == ["violating", "allowed"]
    assert quality.annotators[0].annotator == "careless"
    assert quality.annotators[0].quality < min(a.quality for a in quality.annotators[1:]) - 0.1
    assert {it.item_id for it in quality.items[:len(PLANTED)]} == {f"i{i}" for i in PLANTED}
    consensus = {it.item_id: it.consensus for it in quality.items}
    assert np.mean([consensus[f"i{i}"] == VERDICTS[t] for i, t in enumerate(truth)]) > 0.95
    assert quality.changed_from_majority >= len(PLANTED) - 1  # the model overrules a wrong majority
    assert all(0 <= it.quality <= 1 and sum(it.votes.values()) == it.n_labels for it in quality.items)


def test_too_little_evidence_is_refused_with_the_reason() -> None:
    with pytest.raises(CharterError, match="only 2 labelled item"):
        assess_category("hate", [1, 2], ["a", "b"], ["x", "y"], [{"r": "allowed"}, {"r": "violating"}])
    with pytest.raises(CharterError, match="no item has more than one annotator"):
        assess_category("hate", list(range(4)), list("abcd"), list("wxyz"),
                        [{"r": "allowed"}, {"r": "violating"}, {"s": "allowed"}, {"s": "violating"}])


def _store_votes(session, p, n: int = 40):
    """The synthetic votes imported as external annotators' labels for spam_scams, and a
    unanimous category (hate) that cannot be assessed."""
    truth, texts, votes = _synthetic(n, seed=1)
    items = [ContentItem(id=f"s-{i}", text=text) for i, text in enumerate(texts)]
    import_annotations(session, p, "spam_scams",
                       [Annotation(item, who, verdict) for item, row in zip(items, votes) for who, verdict in row.items()],
                       now=T0)
    import_annotations(session, p, "hate", [Annotation(item, who, "allowed") for item in items[:6] for who in ("a", "b")],
                       now=T0)
    return items, truth


def test_label_quality_of_a_project_with_and_without_a_decision_log(store: Store, bundle) -> None:
    with store.session() as session, session.begin():
        p = project(session, bundle)
        items, truth = _store_votes(session, p)
    stamp = dict(pathway="classifier", policy_id=p.policy_id, policy_version=p.policy_version, policy_hash=p.policy_hash)
    log = [Decision(item_id=item.id, scores={"spam_scams": 0.9 if t else 0.1}, **stamp) for item, t in zip(items, truth)]
    with store.session() as session:
        by_text = label_quality(session, p)
        by_log = label_quality(session, p, decisions=log, categories=["spam_scams"])
        with pytest.raises(CharterError, match="no score for 1 of 40 labelled items, e.g. 's-39'"):
            label_quality(session, p, decisions=log[:-1])
        with pytest.raises(CharterError, match="two decisions for item 's-0'"):
            label_quality(session, p, decisions=log + log[:1])
        with pytest.raises(CharterError, match="was made under policy"):
            label_quality(session, p, decisions=[log[0].model_copy(update={"policy_hash": "0" * 64})])
        with pytest.raises(CharterError, match="no category 'gore'"):
            label_quality(session, p, categories=["gore"])
    assert by_text.skipped == {"hate": "every label gives the same verdict"}
    (spam_text,) = by_text.categories
    (spam_log,) = by_log.categories
    assert (spam_text.probabilities, spam_log.probabilities) == ("text_model", "decision_log")
    for quality in (spam_text, spam_log):
        assert quality.n_items == 40 and quality.annotators[0].annotator == "careless"
        assert {it.item_id for it in quality.items} == {item.id for item in items}
    assert by_log.policy_hash == p.policy_hash and by_log.skipped == {}


@pytest.fixture(scope="module")
def dices():
    if availability("dices") != "shared":
        pytest.skip("../shared/data/dices is absent (set CHARTER_DATA or add the shared data folder)")
    return load_split("dices", "350", source="shared").items[:DICES_ITEMS]


def test_annotator_quality_on_dices_tracks_agreement_with_the_majority(store: Store, bundle, dices) -> None:
    # rater_answers positions are the same rater across DICES-350 items (123 raters rated all
    # 350): per-position "Yes" rates spread with sd 0.20, against 0.03 expected by chance
    annotations = [Annotation(item, f"dices-rater-{position:03d}", DICES[answer])
                   for item in dices for position, answer in enumerate(item.metadata["rater_answers"])]
    with store.session() as session, session.begin():
        p = project(session, bundle)
        import_annotations(session, p, "harassment", annotations, now=T0)
    with store.session() as session:
        report = label_quality(session, p, categories=["harassment"])
    (quality,) = report.categories
    assert (quality.n_items, quality.n_labels, len(quality.annotators)) == (DICES_ITEMS, len(annotations), 123)
    agree: dict[str, list[bool]] = {}
    for item in dices:
        answers = [DICES[a] for a in item.metadata["rater_answers"]]
        majority = max(set(answers), key=answers.count)
        for position, answer in enumerate(answers):
            agree.setdefault(f"dices-rater-{position:03d}", []).append(answer == majority)
    scores = {a.annotator: a.quality for a in quality.annotators}
    names = sorted(scores)
    rho = spearmanr([scores[n] for n in names], [np.mean(agree[n]) for n in names]).statistic
    assert rho > 0.95
    # the expert's verdict takes no part in the computation: where the consensus is least
    # trustworthy, the expert disputes it far more often than elsewhere
    expert = {item.id: DICES[item.metadata["expert"]] for item in dices}
    disputed = [it.consensus != expert[it.item_id] for it in quality.items]
    quarter = DICES_ITEMS // 4
    assert np.mean(disputed[:quarter]) > np.mean(disputed[quarter:]) + 0.2


def test_cli_writes_the_report_and_prints_tables(tmp_path: Path, bundle) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url)
    with session_factory(make_engine(url))() as session, session.begin():
        _store_votes(session, project(session, bundle))
    app = typer.Typer()
    app.command("label-quality")(review_interop_cmd.label_quality)
    app.command("unused")(review_interop_cmd.export_labelstudio)  # two commands, so Typer keeps the command name
    out = tmp_path / "quality.json"
    done = CliRunner().invoke(app, ["label-quality", "p", "-o", str(out), "--top", "3", "--db", url])
    assert done.exit_code == 0, done.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert [c["category"] for c in report["categories"]] == ["spam_scams"]
    assert report["categories"][0]["annotators"][0]["annotator"] == "careless"
    assert "spam_scams: 40 items" in done.output and "careless" in done.output
    assert "hate: not assessed: every label gives the same verdict" in done.output
    done = CliRunner().invoke(app, ["label-quality", "p", "-o", str(out), "-c", "gore", "--db", url])
    assert done.exit_code == 2 and "no category 'gore'" in done.output
