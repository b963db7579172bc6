"""`charter compare`, `charter agreement` and `charter thresholds tune` on real items."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from charter.cli.main import app
from charter.comparison import compare_logs, pathway_agreement
from charter.compile import compile_policy, load_bundle, write_bundle
from charter.errors import CharterError
from charter.io.labelled import write_labelled_items
from charter.store.decision_log import write_decision_log
from test_eval_report import keyword_decisions, policy, sms  # noqa: F401  (shared fixtures)

runner = CliRunner()


def flipped(decisions, every=7):
    """A candidate that disagrees with the baseline on every `every`-th item."""
    out = []
    for k, d in enumerate(decisions):
        if k % every == 0:
            verdict = "allowed" if d.labels["spam_scams"] == "violating" else "violating"
            d = d.model_copy(update={"labels": {"spam_scams": verdict}, "pathway": "llm"})
        out.append(d)
    return out


def test_compare_lists_every_flipped_item_with_its_direction(policy, sms):
    a = keyword_decisions(policy, sms.items)
    b = flipped(a)
    result = compare_logs(a, b, sms.labels, n_boot=100)
    section = result.categories["spam_scams"]
    assert len(section.flipped) == len(range(0, len(a), 7))
    gold = {label.item_id: label.labels["spam_scams"] for label in sms.labels}
    for flip in section.flipped:
        assert flip.direction == ("fixed" if flip.b == gold[flip.item_id] else "broken")
    comp = section.comparison
    assert comp.mcnemar.only_a_correct + comp.mcnemar.only_b_correct == len(section.flipped)


def test_identical_logs_are_not_significantly_different(policy, sms):
    a = keyword_decisions(policy, sms.items)
    comp = compare_logs(a, a, sms.labels, n_boot=50).categories["spam_scams"].comparison
    assert comp.f1.difference == 0 and comp.mcnemar.p_value_exact == 1.0


def test_compare_and_agreement_cli(tmp_path, policy, sms):
    a = keyword_decisions(policy, sms.items)
    log_a = write_decision_log(a, tmp_path / "a.parquet")
    log_b = write_decision_log(flipped(a), tmp_path / "b.parquet")
    gold = write_labelled_items(tmp_path / "gold.parquet", sms.items, sms.labels, ["spam_scams"])
    out = tmp_path / "cmp.json"
    result = runner.invoke(app, ["compare", str(log_a), str(log_b), "-g", str(gold), "-o", str(out), "--n-boot", "100"])
    assert result.exit_code == 0, result.output
    assert "McNemar" in result.output and json.loads(out.read_text())["categories"]["spam_scams"]["flipped"]
    result = runner.invoke(app, ["agreement", str(log_a), str(log_b)])
    assert result.exit_code == 0, result.output
    agreement = pathway_agreement({"a": a, "b": flipped(a)})["spam_scams"]
    assert 0.5 < agreement.cohen_kappa.value < 1.0
    assert agreement.krippendorff_alpha.value == pytest.approx(agreement.cohen_kappa.value, abs=0.02)


def test_compare_refuses_logs_of_other_items(policy, sms):
    from charter.datasets import load_split

    other = keyword_decisions(policy, load_split("davidson", "test", source="sample").items)
    with pytest.raises(CharterError, match="share no gold-labelled item"):
        compare_logs(keyword_decisions(policy, sms.items), other, sms.labels)


def test_thresholds_tune_cli_writes_and_dry_run_does_not(tmp_path, policy, sms):
    bundle_dir = write_bundle(compile_policy(policy), tmp_path / "bundle")
    identity = load_bundle(bundle_dir).identity
    log = write_decision_log(keyword_decisions(policy, sms.items, identity.hash), tmp_path / "log.parquet")
    gold = write_labelled_items(tmp_path / "gold.parquet", sms.items, sms.labels, ["spam_scams"], dataset="sms-spam", split="test")
    before = load_bundle(bundle_dir).classifier["categories"]["spam_scams"]
    argv = ["thresholds", "tune", str(log), "-g", str(gold), "-b", str(bundle_dir), "--auto-precision", "0.9"]
    result = runner.invoke(app, argv + ["--dry-run"])
    assert result.exit_code == 0, result.output
    assert load_bundle(bundle_dir).classifier["categories"]["spam_scams"] == before
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    after = load_bundle(bundle_dir).classifier["categories"]["spam_scams"]
    assert after["provenance"]["source"] == "tuned" and after["provenance"]["dataset"] == "sms-spam"
    assert after["thresholds"] != before["thresholds"]
    bad = runner.invoke(app, argv + ["--review-precision", "0.5", "--review-recall", "0.5"])
    assert bad.exit_code == 2 and "invalid targets" in bad.output


def test_compare_records_each_logs_policy_and_puts_text_beside_flips(policy, sms):
    a = keyword_decisions(policy, sms.items)
    b = [d.model_copy(update={"policy_version": "1.1.0", "policy_hash": "1" * 64}) for d in flipped(a)]
    result = compare_logs(a, b, sms.labels, n_boot=50, gold_items=sms.items)
    assert result.a_stamp.policies == [f"{policy.id}@{policy.version} (000000000000)"]
    assert result.b_stamp.pathways == ["llm", "rules"]
    assert any("different policy versions" in note for note in result.notes)
    texts = {item.id: item.text for item in sms.items}
    assert all(flip.text == texts[flip.item_id] for flip in result.categories["spam_scams"].flipped)
    assert not compare_logs(a, a, sms.labels, n_boot=0).notes


def test_thresholds_tune_never_shows_an_unmet_target_as_a_change(tmp_path, policy, sms):
    bundle_dir = write_bundle(compile_policy(policy), tmp_path / "bundle")
    identity = load_bundle(bundle_dir).identity
    log = write_decision_log(keyword_decisions(policy, sms.items, identity.hash), tmp_path / "log.parquet")
    gold = write_labelled_items(tmp_path / "gold.parquet", sms.items, sms.labels, ["spam_scams"])
    before = load_bundle(bundle_dir).classifier["categories"]["spam_scams"]["thresholds"]
    argv = ["thresholds", "tune", str(log), "-g", str(gold), "-b", str(bundle_dir), "--auto-precision", "1.0", "--lower-bound"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert f"{before['auto_action']:.3f} kept" in result.output and "→" not in result.output
    assert load_bundle(bundle_dir).classifier["categories"]["spam_scams"]["thresholds"] == before


def test_thresholds_tune_for_least_cost_writes_both_tiers_with_the_costs(tmp_path, policy, sms):
    bundle_dir = write_bundle(compile_policy(policy), tmp_path / "bundle")
    identity = load_bundle(bundle_dir).identity
    log = write_decision_log(keyword_decisions(policy, sms.items, identity.hash), tmp_path / "log.parquet")
    gold = write_labelled_items(tmp_path / "gold.parquet", sms.items, sms.labels, ["spam_scams"], dataset="sms-spam", split="test")
    argv = ["thresholds", "tune", str(log), "-g", str(gold), "-b", str(bundle_dir), "--cost-fp", "5", "--cost-fn", "2"]
    partial = runner.invoke(app, argv)
    assert partial.exit_code == 2 and "needs all three" in partial.output
    mixed = runner.invoke(app, argv + ["--cost-review", "0.5", "--review-recall", "0.9"])
    assert mixed.exit_code == 2 and "give one or the other" in mixed.output
    result = runner.invoke(app, argv + ["--cost-review", "0.5"])
    assert result.exit_code == 0, result.output
    config = load_bundle(bundle_dir).classifier["categories"]["spam_scams"]
    assert config["provenance"]["source"] == "tuned_for_cost"
    assert config["provenance"]["costs"] == {"false_positive": 5.0, "false_negative": 2.0, "review": 0.5}
    assert config["thresholds"]["review"] <= config["thresholds"]["auto_action"] <= 1.0
    # the written pair is the cheapest one: no other pair of cut-offs on this data costs less
    from charter.tune import tune_bundle_for_cost

    [again] = tune_bundle_for_cost(bundle_dir, keyword_decisions(policy, sms.items, identity.hash), sms.items, sms.labels,
                                   cost_fp=5, cost_fn=2, cost_review=0.5, source={}, apply=False)
    gold_of = {label.item_id: label.labels["spam_scams"] == "violating" for label in sms.labels}
    scores = {d.item_id: d.scores["spam_scams"] for d in keyword_decisions(policy, sms.items)}
    cuts = sorted(set(scores.values())) + [1.01]

    def cost(auto: float, review: float) -> float:
        total = 0.0
        for item_id, s in scores.items():
            if s >= auto:
                total += 5 * (not gold_of[item_id])
            elif s >= review:
                total += 0.5
            else:
                total += 2 * gold_of[item_id]
        return total

    best = min(cost(a, r) for a in cuts for r in cuts if r <= a)
    assert again.costs.expected_cost == pytest.approx(best)
