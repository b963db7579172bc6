"""`charter eval` end to end on real data, the joined frame, threshold write-back, and the
bad inputs a user will hit (missing files, mismatched logs, one-class data)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from charter.cli.main import app
from charter.compile import compile_policy, load_bundle, write_bundle
from charter.datasets import apply_mapping, load_mapping, load_split
from charter.errors import CharterError
from charter.evaluate import TierTargets
from charter.evaluate.joined import join_decisions
from charter.io.labelled import write_labelled_items
from charter.policy.load import load_policy
from charter.records import Decision
from charter.store.decision_log import write_decision_log
from charter.tune import tune_bundle

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples" / "policy.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def policy():
    return load_policy(EXAMPLE)


@pytest.fixture(scope="module")
def sms(policy):
    """The vendored SMS-spam test split with gold labels."""
    split = load_split("sms-spam", "test", source="sample")
    return apply_mapping(split, load_mapping("sms-spam", policy), policy)


def keyword_decisions(policy, items, identity_hash=None):
    """A transparent keyword pathway: scores from spam-typical words (real, if crude)."""
    words = ("free", "call", "txt", "win", "prize", "claim", "urgent", "cash", "mobile", "reply")
    decisions = []
    for item in items:
        text = item.text.lower()
        score = min(1.0, sum(w in text for w in words) / 3)
        decisions.append(
            Decision(
                item_id=item.id,
                pathway="rules",
                policy_id=policy.id,
                policy_version=policy.version,
                policy_hash=identity_hash or "0" * 64,
                scores={"spam_scams": score},
                labels={"spam_scams": "violating" if score >= 0.5 else "allowed"},
                action="remove" if score >= 0.5 else "allow",
            )
        )
    return decisions


@pytest.fixture()
def files(tmp_path, policy, sms):
    log = write_decision_log(keyword_decisions(policy, sms.items), tmp_path / "log.parquet")
    gold = write_labelled_items(
        tmp_path / "gold.parquet", sms.items, sms.labels, ["spam_scams"], dataset="sms-spam", split="test"
    )
    return log, gold


def test_eval_writes_an_offline_html_report_and_json_with_every_number(tmp_path, files, sms):
    log, gold = files
    out = tmp_path / "report"
    result = runner.invoke(app, ["eval", str(log), "--gold", str(gold), "-o", str(out), "--n-boot", "200", "--slice", "language"])
    assert result.exit_code == 0, result.output
    assert "spam_scams" in result.output and "report:" in result.output
    data = json.loads((out / "report.json").read_text())
    metrics = data["summary"]["categories"]["spam_scams"]
    gold_pos = sum(1 for label in sms.labels if label.labels.get("spam_scams") == "violating")
    assert metrics["support"] == gold_pos
    assert 0.0 <= metrics["intervals"]["f1"]["low"] <= metrics["f1"] <= metrics["intervals"]["f1"]["high"] <= 1.0
    assert data["sources"]["dataset"] == "sms-spam"
    assert data["slices"]["language"]["spam_scams"]["slices"][0]["value"] == "en"
    section = data["categories"]["spam_scams"]
    assert section["pr"]["precision"] and section["calibration"]["bins"]
    assert all(w["text"] for w in section["worst_false_positives"] + section["worst_false_negatives"])
    html = (out / "report.html").read_text()
    assert "<svg" in html and "Worst false negatives" in html
    # offline: no external scripts, styles, images or fonts
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "@import" not in html and "url(http" not in html


def test_precision_matches_a_direct_count(tmp_path, files, policy, sms):
    log, gold = files
    out = tmp_path / "r"
    assert runner.invoke(app, ["eval", str(log), "-g", str(gold), "-o", str(out), "--n-boot", "0"]).exit_code == 0
    data = json.loads((out / "report.json").read_text())["summary"]["categories"]["spam_scams"]
    decisions = {d.item_id: d for d in keyword_decisions(policy, sms.items)}
    flagged = [label for label in sms.labels if decisions[label.item_id].labels["spam_scams"] == "violating"]
    tp = sum(1 for label in flagged if label.labels["spam_scams"] == "violating")
    assert data["precision"] == pytest.approx(tp / len(flagged))


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.parquet", "-g", "{gold}"], "does not exist"),
        (["{log}", "-g", "missing-gold.parquet"], "does not exist"),
        (["{log}", "-g", "{log}"], "not a labelled-items file"),
        (["{log}", "-g", "{gold}", "--slice", "country"], "unknown slice or weight column"),
        (["{log}", "-g", "{gold}", "--category", "hate"], "no gold labels for category ['hate']"),
        (["{log}", "-g", "{gold}", "--pathway", "llm"], "no decisions from pathway 'llm'"),
        (["{log}", "-g", "{gold}", "--review-as", "maybe"], "--review-as must be"),
        (["{log}", "-g", "{gold}", "--confidence", "1.5"], "invalid option"),
    ],
)
def test_bad_inputs_give_one_clear_message(tmp_path, files, args, message):
    log, gold = files
    argv = ["eval"] + [a.format(log=log, gold=gold) for a in args] + ["-o", str(tmp_path / "o")]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_decisions_for_other_items_are_a_clear_error(policy, sms):
    other = keyword_decisions(policy, load_split("davidson", "test", source="sample").items)
    with pytest.raises(CharterError, match="no decision matches a gold-labelled item"):
        join_decisions(other, sms.items, sms.labels)


def test_an_item_decided_twice_needs_a_pathway_filter(policy, sms):
    decisions = keyword_decisions(policy, sms.items)
    twice = decisions + [decisions[0].model_copy(update={"pathway": "llm"})]
    with pytest.raises(CharterError, match="decided more than once.*--pathway"):
        join_decisions(twice, sms.items, sms.labels)


def test_review_verdicts_count_as_the_user_says(policy, sms):
    decisions = [d.model_copy(update={"labels": {"spam_scams": "needs_review"}}) for d in keyword_decisions(policy, sms.items)]
    flagged = join_decisions(decisions, sms.items, sms.labels, review_as="flagged")
    not_flagged = join_decisions(decisions, sms.items, sms.labels)
    assert flagged.frame["pred:spam_scams"].eq(1.0).all()
    assert not_flagged.frame["pred:spam_scams"].eq(0.0).all()
    assert any("human review" in note for note in not_flagged.notes)


def test_one_class_gold_marks_metrics_undefined_instead_of_crashing(tmp_path, policy, sms):
    ham = [i for i, label in enumerate(sms.labels) if label.labels["spam_scams"] == "allowed"]
    items = [sms.items[i] for i in ham]
    labels = [sms.labels[i] for i in ham]
    log = write_decision_log(keyword_decisions(policy, items), tmp_path / "log.parquet")
    gold = write_labelled_items(tmp_path / "gold.parquet", items, labels, ["spam_scams"])
    out = tmp_path / "o"
    result = runner.invoke(app, ["eval", str(log), "-g", str(gold), "-o", str(out), "--n-boot", "50"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "report.json").read_text())["summary"]["categories"]["spam_scams"]
    assert metrics["recall"] is None and "recall" in metrics["undefined"]
    assert metrics["roc_auc"] is None and "roc_auc" in metrics["undefined"]
    assert "undefined" in (out / "report.html").read_text()


def test_tuned_thresholds_are_written_into_the_bundle_with_provenance(tmp_path, policy, sms):
    bundle_dir = write_bundle(compile_policy(policy), tmp_path / "bundle")
    identity = load_bundle(bundle_dir).identity
    decisions = keyword_decisions(policy, sms.items, identity.hash)
    targets = TierTargets(auto_action_precision=0.9, review_precision=None, review_recall=0.8)
    [result] = tune_bundle(bundle_dir, decisions, sms.items, sms.labels, targets=targets, source={"dataset": "sms-spam", "split": "test"})
    assert result.applied, result.reason
    config = load_bundle(bundle_dir).classifier["categories"]["spam_scams"]
    assert config["thresholds"]["auto_action"] == pytest.approx(result.tiers.auto_action.threshold)
    assert config["provenance"]["dataset"] == "sms-spam"
    assert config["provenance"]["policy_hash"] == identity.hash
    assert result.tiers.auto_action.precision >= 0.9


def test_tuning_refuses_decisions_made_under_another_policy(tmp_path, policy, sms):
    bundle_dir = write_bundle(compile_policy(policy), tmp_path / "bundle")
    decisions = keyword_decisions(policy, sms.items, "f" * 64)
    with pytest.raises(CharterError, match="do not carry over"):
        tune_bundle(bundle_dir, decisions, sms.items, sms.labels, targets=TierTargets(), source={})


def test_unattainable_targets_keep_the_policy_thresholds(tmp_path, policy, sms):
    bundle_dir = write_bundle(compile_policy(policy), tmp_path / "bundle")
    identity = load_bundle(bundle_dir).identity
    rng = np.random.default_rng(0)
    decisions = [
        d.model_copy(update={"scores": {"spam_scams": float(rng.random())}})
        for d in keyword_decisions(policy, sms.items, identity.hash)
    ]
    before = load_bundle(bundle_dir).classifier["categories"]["spam_scams"]["thresholds"]
    [result] = tune_bundle(
        bundle_dir, decisions, sms.items, sms.labels, targets=TierTargets(auto_action_precision=0.99, use_lower_bound=True), source={}
    )
    assert not result.applied and result.reason
    assert load_bundle(bundle_dir).classifier["categories"]["spam_scams"]["thresholds"] == before


def test_findings_name_weak_categories_and_slices():
    import pandas as pd

    from charter.report.evaluation import EvalOptions, evaluate_frame

    rng = np.random.default_rng(1)
    n = 800
    language = np.where(np.arange(n) < 400, "en", "de")
    gold = (rng.random(n) < 0.3).astype(float)
    # English violations are caught, German ones mostly missed
    caught = np.where(language == "en", rng.random(n) < 0.95, rng.random(n) < 0.2)
    pred = (gold == 1) & caught
    frame = pd.DataFrame({"item_id": [f"i{k}" for k in range(n)], "text": "t", "language": language,
                          "gold:hate": gold, "pred:hate": pred.astype(float)})
    run = evaluate_frame(frame, title="t", policy={"id": "p", "version": "1", "hash": "h"}, sources={},
                         options=EvalOptions(n_boot=100, slice_columns=["language"]))
    assert any("recall is significantly lower where language = de" in f for f in run.findings), run.findings
    assert not any("language = en" in f for f in run.findings)


def test_sample_weights_reweight_every_number():
    import pandas as pd

    from charter.report.evaluation import EvalOptions, evaluate_frame

    # 10 flagged items: 6 true positives (weight 1), 4 false positives (weight 3, an under-sampled stratum)
    gold = [1.0] * 6 + [0.0] * 4 + [1.0] * 2 + [0.0] * 8
    pred = [1.0] * 10 + [0.0] * 10
    weight = [1.0] * 6 + [3.0] * 4 + [1.0] * 10
    frame = pd.DataFrame({"item_id": [f"i{k}" for k in range(20)], "gold:spam_scams": gold, "pred:spam_scams": pred,
                          "metadata.weight": weight})
    policy = {"id": "p", "version": "1", "hash": "h"}
    run = evaluate_frame(frame, title="t", policy=policy, sources={}, options=EvalOptions(n_boot=50, weight_column="metadata.weight"))
    assert run.summary.categories["spam_scams"].precision == pytest.approx(6 / (6 + 12))
    frame.loc[0, "metadata.weight"] = -1
    with pytest.raises(CharterError, match="negative weight"):
        evaluate_frame(frame, title="t", policy=policy, sources={}, options=EvalOptions(n_boot=0, weight_column="metadata.weight"))


def _run(frame, **options):
    from charter.report.evaluation import EvalOptions, evaluate_frame

    return evaluate_frame(frame, title="t", policy={"id": "p", "version": "1", "hash": "h"}, sources={},
                          options=EvalOptions(**options))


def test_a_category_without_violating_gold_is_called_unmeasurable_in_plain_words(tmp_path):
    import pandas as pd

    from charter.report.html import write_report

    rng = np.random.default_rng(2)
    n = 300
    spam = (rng.random(n) < 0.3).astype(float)
    frame = pd.DataFrame({
        "item_id": [f"i{k}" for k in range(n)], "text": "t",
        "gold:spam_scams": spam, "pred:spam_scams": spam, "score:spam_scams": np.clip(spam * 0.8 + rng.random(n) * 0.2, 0, 1),
        "gold:hate": 0.0, "pred:hate": 0.0, "score:hate": rng.random(n) * 0.3,
    })
    run = _run(frame, n_boot=50)
    [finding] = [f for f in run.findings if f.startswith("hate:")]
    assert "cannot measure how well violations are caught" in finding and "none of the 300 labelled items" in finding
    html = write_report(run, tmp_path)[0].read_text()
    # the reasons are grouped and in a policy lead's words, not the API's
    assert "recall, AUPRC, best-F1 threshold undefined (no violating items in the gold labels)" in html
    assert "no positives in y_true" not in html
    assert "hold only one class, so no threshold can be judged" in html
    # the operating point is drawn on the PR curve of the measurable category
    assert "dot: current decisions" in html and ">now<" in html


def test_thin_evidence_for_a_threshold_and_tiny_classes_are_findings():
    import pandas as pd

    # 40 items, 4 violating: every number is anecdotal, and auto-action rests on a handful of items
    gold = np.array([1.0] * 4 + [0.0] * 36)
    score = np.r_[[0.9, 0.8, 0.3, 0.2], np.linspace(0.0, 0.5, 36)]
    frame = pd.DataFrame({"item_id": [f"i{k}" for k in range(40)], "text": "t", "gold:hate": gold,
                          "pred:hate": (score >= 0.5).astype(float), "score:hate": score})
    findings = _run(frame, n_boot=50).findings
    assert any("only 4 violating items and 36 allowed items are labelled" in f for f in findings), findings
    assert any("rests on only 2 flagged items" in f for f in findings), findings
    assert not any("F1 is uncertain" in f for f in findings)  # said once, by the anecdotal finding


def test_pooled_interval_in_the_report_is_never_narrower_than_the_category_wilson():
    import pandas as pd

    # one category: pooled and per-category precision are the same proportion (14 of 16)
    gold = np.array([1.0] * 14 + [0.0] * 2 + [1.0] * 20 + [0.0] * 200)
    pred = np.array([1.0] * 16 + [0.0] * 220)
    frame = pd.DataFrame({"item_id": [f"i{k}" for k in range(len(gold))], "text": "t", "gold:hate": gold, "pred:hate": pred})
    run = _run(frame, n_boot=300)
    pooled, wilson = run.summary.micro.intervals["precision"], run.summary.categories["hate"].intervals["precision"]
    assert pooled.low <= wilson.low + 1e-9 and pooled.high >= wilson.high - 1e-9


def test_a_users_own_score_file_is_evaluated_with_map_set_and_threshold(tmp_path, sms):
    gold = write_labelled_items(tmp_path / "gold.parquet", sms.items, sms.labels, ["spam_scams"])
    rows = ["post,p_spam"] + [f"{item.id},{0.9 if 'free' in item.text.lower() else 0.1}" for item in sms.items]
    (tmp_path / "vendor.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    argv = ["eval", str(tmp_path / "vendor.csv"), "-g", str(gold), "-o", str(tmp_path / "o"), "--n-boot", "0",
            "--map", "item_id=post", "--map", "scores.spam_scams=p_spam", "--set", "pathway=external",
            "--set", "policy_id=vendor", "--set", "policy_version=1.0.0", "--set", "policy_hash=unknown"]
    result = runner.invoke(app, argv + ["--threshold", "0.5"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "o" / "report.json").read_text())
    flagged = sum("free" in item.text.lower() for item in sms.items)
    assert data["summary"]["categories"]["spam_scams"]["predicted_positive"] == flagged
    assert any("flagged at score >= 0.5" in note for note in data["notes"])
    # without --threshold a score-only file flags nothing, and says so
    result = runner.invoke(app, argv)
    assert result.exit_code == 0 and "pass --threshold" in result.output
    # without the constants, the message names what is missing and how to give it
    result = runner.invoke(app, argv[:10])
    assert result.exit_code == 2 and "--set pathway=<value>" in result.output


def test_a_score_outside_0_1_names_the_file_and_item(tmp_path, policy, sms):
    decisions = keyword_decisions(policy, sms.items)
    decisions[3] = decisions[3].model_copy(update={"scores": {"spam_scams": 1.7}})
    log = write_decision_log(decisions, tmp_path / "log.parquet")
    gold = write_labelled_items(tmp_path / "gold.parquet", sms.items, sms.labels, ["spam_scams"])
    result = runner.invoke(app, ["eval", str(log), "-g", str(gold), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert f"log.parquet: item {sms.items[3].id!r}: score for spam_scams is 1.7, outside [0, 1]" in result.output
    assert "Traceback" not in result.output


def test_the_mappings_caveats_travel_from_import_into_the_report(tmp_path, monkeypatch, policy):
    from charter.cli.datasets_cmd import app as datasets_app

    monkeypatch.setenv("CHARTER_DATA_DIR", str(tmp_path / "no-shared-data"))
    gold = tmp_path / "olid.parquet"
    assert runner.invoke(datasets_app, ["import", "olid", "--split", "test", "-o", str(gold)]).exit_code == 0
    split = load_split("olid", "test", source="sample")
    decisions = [
        Decision(item_id=item.id, pathway="rules", policy_id=policy.id, policy_version=policy.version,
                 policy_hash="0" * 64, labels={"hate": "violating" if "@USER" in item.text else "allowed"})
        for item in split.items
    ]
    log = write_decision_log(decisions, tmp_path / "log.parquet")
    out = tmp_path / "o"
    assert runner.invoke(app, ["eval", str(log), "-g", str(gold), "-o", str(out), "--n-boot", "0"]).exit_code == 0
    caveats = json.loads((out / "report.json").read_text())["gold_caveats"]
    assert list(caveats) == ["hate"] and "political affiliation" in caveats["hate"]
    html = (out / "report.html").read_text()
    assert "About the gold labels (olid@1.0.0)" in html and "political affiliation" in html
