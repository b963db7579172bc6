"""The policy linter and the `policy lint/show` commands: one known mistake at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from charter.cli.policy_cmd import app
from charter.errors import Problem
from charter.policy.lint import LintReport, lint_policy
from charter.policy.load import load_policy_source, parse_policy_text

FIXTURE = Path(__file__).parent / "fixtures" / "minimal_policy.yaml"
BASE = FIXTURE.read_text(encoding="utf-8")
EXAMPLE_POLICY = Path(__file__).parents[1] / "src" / "charter" / "examples" / "policy.yaml"
NAME = "policy.yaml"


def mutate(*pairs: str, text: str = BASE) -> str:
    """The fixture with exact, unique fragments replaced: mutate(old1, new1, old2, new2...)."""
    for old, new in zip(pairs[::2], pairs[1::2]):
        assert text.count(old) == 1, f"fragment not unique in fixture: {old!r}"
        text = text.replace(old, new)
    return text


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    return hits[occurrence - 1]


def lint_text(text: str) -> LintReport:
    source = parse_policy_text(text, filename=NAME)
    return lint_policy(source.policy, source)


def find(problems: list[Problem], code: str) -> list[Problem]:
    return [p for p in problems if p.code == code]


def one(problems: list[Problem], code: str) -> Problem:
    found = find(problems, code)
    assert len(found) == 1, [str(p) for p in problems]
    return found[0]


def codes(problems: list[Problem]) -> set[str]:
    return {p.code for p in problems}


# --------------------------------------------------------------------------- the clean fixture


def test_fixture_is_clean_with_and_without_source():
    assert lint_text(BASE) == LintReport()
    bare = lint_policy(parse_policy_text(BASE).policy)
    assert bare.ok and not bare.errors and not bare.warnings


def test_without_source_problems_carry_document_paths_only():
    policy = parse_policy_text(mutate("yes: q2", "yes: q9")).policy
    problem = one(lint_policy(policy).errors, "dangling-reference")
    assert problem.location.path == "categories[hate].tree.nodes.q1.yes"
    assert problem.location.line is None and problem.location.file is None


# --------------------------------------------------------------------------- references and trees


def test_dangling_branch_target_is_reported_once():
    text = mutate("yes: q2", "yes: q3x")
    report = lint_text(text)
    problem = one(report.errors, "dangling-reference")
    assert problem.location.file == NAME
    assert (problem.location.line, problem.location.column) == (line_of(text, "yes: q3x"), 16)
    assert problem.location.path == "categories[hate].tree.nodes.q1.yes"
    assert "'q3x'" in problem.message and "neither a node nor an outcome" in problem.message
    assert "did you mean 'q3'?" in problem.message
    assert not find(report.errors, "example-path-invalid")  # no cascade from the same mistake
    # q2 and q3 are cut off only by the typo: one mistake, one error, not one per node below it
    assert not find(report.errors, "unreachable-node") and not find(report.errors, "unapplied-rule")
    assert not find(report.warnings, "unreachable-outcome")
    assert "checked for reachability once this is fixed" in problem.message


def test_cycle_is_reported_as_a_path():
    text = mutate("            neutral: allowed", "            neutral: q2")
    report = lint_text(text)
    problem = one(report.errors, "tree-cycle")
    assert "q2 -> q3 -> q2" in problem.message
    assert problem.location.path == "categories[hate].tree.nodes.q2"
    assert problem.location.line == line_of(text, "        q2:")
    walk = one(report.errors, "example-path-invalid")
    assert "hate_ex4" in walk.message and "loops back to node 'q2'" in walk.message


def test_unreachable_node_is_an_error_and_outcome_a_warning():
    text = mutate(
        "      outcomes:\n        dehumanising:",
        "        q4:\n          question: Orphan?\n          yes: dehumanising\n          no: spare\n"
        "      outcomes:\n        spare:\n          label: allowed\n        dehumanising:",
    )
    report = lint_text(text)
    node = one(report.errors, "unreachable-node")
    assert node.location.path == "categories[hate].tree.nodes.q4"
    assert (node.location.line, node.location.column) == (line_of(text, "q4:"), 9)
    assert "cannot be reached from the root 'q1'" in node.message
    outcome = one(report.warnings, "unreachable-outcome")
    assert outcome.location.path == "categories[hate].tree.outcomes.spare"


def test_unapplied_rule():
    text = mutate(
        "    tree:\n      root: q1",
        "      - id: HATE.3\n        title: Stereotypes\n        severity: medium\n"
        "        statement: No harmful stereotypes.\n        includes: [stereotypes]\n    tree:\n      root: q1",
    )
    problem = one(lint_text(text).errors, "unapplied-rule")
    assert problem.location.path == "categories[hate].rules[HATE.3]"
    assert (problem.location.line, problem.location.column) == (line_of(text, "- id: HATE.3"), 9)
    assert "HATE.3 is applied by no outcome" in problem.message


def test_market_extra_rules_need_not_be_applied_but_ids_are_global():
    assert not find(lint_text(BASE).errors, "unapplied-rule")
    text = mutate("          - id: HATE.DE1", "          - id: SPAM.1")
    problem = one(lint_text(text).errors, "duplicate-id")
    assert problem.location.path == "markets[de].categories.hate.extra_rules[SPAM.1].id"
    assert "rule 'SPAM.1' is defined twice; first at categories[spam_scams].rules[SPAM.1]" in problem.message
    assert f"(line {line_of(text, '- id: SPAM.1')})" in problem.message


def test_duplicate_rule_id():
    text = mutate("      - id: HATE.2", "      - id: HATE.1")
    problem = one(lint_text(text).errors, "duplicate-id")
    assert problem.location.line == line_of(text, "- id: HATE.1", occurrence=2)
    assert "rule 'HATE.1' is defined twice" in problem.message


def test_node_and_outcome_with_the_same_id():
    text = mutate("        unsure:\n", "        q3:\n", "            unclear: unsure", "            unclear: q3")
    report = lint_text(text)
    problem = one(report.errors, "duplicate-id")
    assert problem.location.path == "categories[hate].tree.outcomes.q3"
    assert "same id as a node" in problem.message


def test_other_dangling_references():
    text = mutate(
        "        severity: medium", "        severity: meduim",
        "          rule_ids: [HATE.2]", "          rule_ids: [SPAM.1]",
        "            queue: ts_review", "            queue: ts_reveiw",
        'answers: {q1: "no"}\n      - id: hate_ex4', 'answers: {q1: "no", q7: "yes"}\n      - id: hate_ex4',
        "      hate:\n        thresholds: {auto_action: 0.85", "      hat:\n        thresholds: {auto_action: 0.85",
    )
    report = lint_text(text)
    messages = {p.location.path: p.message for p in find(report.errors, "dangling-reference")}
    assert "'meduim' is not a defined severity (did you mean 'medium'?)" in messages["categories[hate].rules[HATE.2].severity"]
    assert "(it belongs to category 'spam_scams')" in messages["categories[hate].tree.outcomes.slur.rule_ids[0]"]
    assert "did you mean 'ts_review'?" in messages["categories[hate].tree.outcomes.unsure.escalate.queue"]
    assert "'q7', which is not a node" in messages["categories[hate].examples[hate_ex3].answers.q7"]
    assert "unknown category 'hat' (did you mean 'hate'?)" in messages["markets[de].categories.hat"]


def test_node_shape():
    text = mutate("          yes: dehumanising\n          no: q3\n", "          yes: dehumanising\n")
    report = lint_text(text)
    problem = one(report.errors, "node-shape")
    assert problem.location.path == "categories[hate].tree.nodes.q2"
    assert "has no no branch" in problem.message


# --------------------------------------------------------------------------- outcomes


def test_outcome_without_action():
    text = mutate("          rule_ids: [HATE.2]\n          action: demote\n", "          rule_ids: [HATE.2]\n")
    report = lint_text(text)
    problem = one(report.errors, "outcome-without-action")
    assert problem.location.path == "categories[hate].tree.outcomes.slur"
    assert (problem.location.line, problem.location.column) == (text.splitlines().index("        slur:") + 1, 9)
    assert "labelled violating but names no action" in problem.message
    assert "hate_ex2" in one(report.errors, "example-mismatch").message


def test_escalation_without_queue_and_with_wrong_kind():
    text = mutate(
        "          action: review\n          escalate:\n            queue: ts_review\n            reason: Unclear intent.\n",
        "          action: demote\n",
        "    escalation_queue: ts_review\n", "",
    )
    report = lint_text(text)
    assert one(report.errors, "escalation-without-queue").location.path == "categories[hate].tree.outcomes.unsure"
    kind = one(report.errors, "escalation-action-kind")
    assert "'demote' is demote, not an escalate action" in kind.message


def test_escalate_block_on_a_violating_outcome():
    text = mutate(
        "          rule_ids: [HATE.2]\n          action: demote\n",
        "          rule_ids: [HATE.2]\n          action: demote\n          escalate: {queue: ts_review}\n",
    )
    problem = one(lint_text(text).errors, "escalate-label")
    assert problem.location.path == "categories[hate].tree.outcomes.slur.label"
    assert "label it needs_review" in problem.message


def test_label_action_mismatch():
    text = mutate("        ok:\n          label: allowed\n", "        ok:\n          label: allowed\n          action: remove\n")
    problem = one(lint_text(text).errors, "label-action-mismatch")
    assert problem.location.path == "categories[spam_scams].tree.outcomes.ok.action"
    assert "labelled allowed but its action 'remove' is remove" in problem.message


# --------------------------------------------------------------------------- examples


def test_example_mismatch_says_what_tree_gives():
    text = mutate(
        "expected: {label: violating, rule_ids: [HATE.1], action: remove}",
        "expected: {label: violating, rule_ids: [HATE.1], action: demote}",
    )
    problem = one(lint_text(text).errors, "example-mismatch")
    assert problem.location.path == "categories[hate].examples[hate_ex1].expected"
    assert problem.location.line == line_of(text, "rule_ids: [HATE.1], action: demote}")
    assert "expects label violating, rules [HATE.1], action demote" in problem.message
    assert "(q1=yes -> q2=yes) reach outcome 'dehumanising': label violating, rules [HATE.1], action remove" in problem.message


def test_example_path_invalid_names_the_node():
    text = mutate('answers: {q1: "yes", q2: "no", q3: slur}', 'answers: {q1: "yes", q2: "no", q3: insult}')
    problem = one(lint_text(text).errors, "example-path-invalid")
    assert problem.location.path == "categories[hate].examples[hate_ex2].answers.q3"
    assert problem.location.line == line_of(text, "q3: insult")
    assert "'insult' is not an option at node 'q3' (options: neutral, slur, unclear)" in problem.message


def test_example_path_missing_answer():
    text = mutate('answers: {q1: "yes", q2: "no", q3: slur}', 'answers: {q1: "yes"}')
    problem = one(lint_text(text).errors, "example-path-invalid")
    assert problem.location.path == "categories[hate].examples[hate_ex2].answers"
    assert "no answer given for node 'q2'" in problem.message


def test_example_kind_and_unused_answer():
    text = mutate('        kind: allowed\n        text: I love my neighbours.', '        kind: violating\n        text: I love my neighbours.',
                  'answers: {q1: "no"}\n      - id: hate_ex4', 'answers: {q1: "no", q2: "yes"}\n      - id: hate_ex4')
    report = lint_text(text)
    assert "of kind violating but expects label allowed" in one(report.errors, "example-kind-mismatch").message
    assert one(report.warnings, "unused-answer").location.path == "categories[hate].examples[hate_ex3].answers.q2"


def test_few_examples_and_no_borderline_are_warnings():
    start = BASE.index("      - id: spam_ex3")
    end = BASE.index("    thresholds: {auto_action: 0.95")
    report = lint_text(BASE[:start] + BASE[end:])
    assert report.ok
    assert "has 2 examples; at least 6" in one(report.warnings, "few-examples").message
    assert one(report.warnings, "no-borderline-example").location.path == "categories[spam_scams].examples"


# --------------------------------------------------------------------------- DSA


def test_restrictive_action_without_dsa_mapping():
    text = mutate("    dsa:\n      decision_visibility: [DECISION_VISIBILITY_CONTENT_DEMOTED]\n", "")
    problem = one(lint_text(text).errors, "missing-dsa-mapping")
    assert problem.location.path == "actions[demote]"
    assert (problem.location.line, problem.location.column) == (line_of(text, "- id: demote"), 5)
    assert "'demote' (demote) restricts content but has no DSA mapping" in problem.message


def test_visibility_other_needs_text_and_illegal_needs_legal_ground():
    text = mutate(
        "[DECISION_VISIBILITY_CONTENT_DEMOTED]", "[DECISION_VISIBILITY_OTHER]",
        "      legal_ground: Fraud provisions of national criminal law.\n", "",
    )
    report = lint_text(text)
    other = one(report.errors, "missing-visibility-other")
    assert other.location.path == "actions[demote].dsa.decision_visibility[0]"
    legal = one(report.errors, "missing-legal-ground")
    assert legal.location.path == "categories[spam_scams].dsa.ground"
    assert legal.location.line == line_of(text, "ground: DECISION_GROUND_ILLEGAL_CONTENT")


# --------------------------------------------------------------------------- severities, thresholds, markets


def test_severity_action_consistency_warnings():
    text = mutate("        default_action: demote", "        default_action: remove",
                  "        default_action: remove\n    rules:\n      - id: HATE.1", "        default_action: demote\n    rules:\n      - id: HATE.1")
    report = lint_text(text)
    assert report.ok
    order = one(report.warnings, "severity-order")
    assert order.location.path == "categories[hate].severities[high].default_action"
    assert "weaker than 'remove' of the lower-ranked severity 'medium'" in order.message
    strength = one(report.warnings, "severity-action-mismatch")
    assert strength.location.path == "categories[hate].tree.outcomes.slur.action"
    assert "applies HATE.2 (severity 'medium', default action 'remove') but takes the weaker action 'demote'" in strength.message


def test_auto_action_not_restrictive():
    text = mutate("    auto_action: remove\n    escalation_queue", "    auto_action: review\n    escalation_queue")
    problem = one(lint_text(text).warnings, "auto-action-not-restrictive")
    assert problem.location.path == "categories[hate].auto_action"


def test_review_threshold_not_below_auto_action():
    text = mutate("thresholds: {auto_action: 0.9, review: 0.6}", "thresholds: {auto_action: 0.9, review: 0.9}")
    problem = one(lint_text(text).errors, "threshold-order")
    assert problem.location.path == "categories[hate].thresholds.review"
    assert problem.location.line == line_of(text, "review: 0.9}")
    assert "review threshold 0.9 must be below auto_action 0.9" in problem.message


def test_market_loosening_threshold():
    text = mutate("{auto_action: 0.85, review: 0.5}", "{auto_action: 0.95, review: 0.5}")
    problem = one(lint_text(text).errors, "market-loosens-threshold")
    assert problem.location.path == "markets[de].categories.hate.thresholds.auto_action"
    assert problem.location.line == line_of(text, "{auto_action: 0.95, review: 0.5}")
    assert "raises hate.auto_action from 0.9 to 0.95" in problem.message


def test_rule_without_includes_and_changelog_version():
    text = mutate("        includes: [advance-fee fraud]\n", "", "  version: 1.2.0", "  version: 1.3.0")
    report = lint_text(text)
    assert report.ok
    assert one(report.warnings, "rule-without-includes").location.path == "categories[spam_scams].rules[SPAM.1]"
    assert "no entry for the current version 1.3.0" in one(report.warnings, "changelog-version").message


def test_unknown_term():
    text = mutate("for a [[protected characteristic]]?", "for a [[protected characteristics]]?",
                  "Do not deny the Holocaust.", "Do not deny the [[Holocaust]].")
    first, second = find(lint_text(text).errors, "unknown-term")
    assert first.location.path == "categories[hate].tree.nodes.q1.question"
    assert "[[protected characteristics]] is not a defined term (did you mean 'protected characteristic'?)" in first.message
    assert second.location.path == "markets[de].categories.hate.extra_rules[HATE.DE1].statement"
    assert second.message == "[[Holocaust]] is not a defined term; known terms: protected characteristic"


# --------------------------------------------------------------------------- the CLI


runner = CliRunner()


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / NAME
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_cli_lint_clean_policy_exits_zero():
    result = runner.invoke(app, ["lint", str(FIXTURE)])
    assert result.exit_code == 0, result.output
    assert "OK, 0 errors, 0 warnings" in result.output


def test_cli_lint_errors_exit_one_with_located_lines(tmp_path):
    text = mutate("yes: q2", "yes: q9")
    path = write(tmp_path, text)
    result = runner.invoke(app, ["lint", path])
    assert result.exit_code == 1
    assert f"{path}:{line_of(text, 'yes: q9')}:16  error  dangling-reference  categories[hate].tree.nodes.q1.yes:" in result.output
    assert "FAILED" in result.output
    assert "Traceback" not in result.output


def test_cli_strict_fails_on_warnings(tmp_path):
    path = write(tmp_path, mutate("        includes: [advance-fee fraud]\n", ""))
    assert runner.invoke(app, ["lint", path]).exit_code == 0
    result = runner.invoke(app, ["lint", path, "--strict"])
    assert result.exit_code == 1
    assert "warning  rule-without-includes" in result.output


def test_cli_json_report(tmp_path):
    path = write(tmp_path, mutate("thresholds: {auto_action: 0.9, review: 0.6}", "thresholds: {auto_action: 0.9, review: 0.95}"))
    result = runner.invoke(app, ["lint", path, "--json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert [e["code"] for e in payload["errors"]] == ["threshold-order"]
    assert payload["errors"][0]["path"] == "categories[hate].thresholds.review"
    assert payload["errors"][0]["file"] == path


@pytest.mark.parametrize(
    "content",
    ["metadata: [\n", "", "- a\n", BASE.replace("  title: Minimal test policy", "\ttitle: x")],
)
def test_cli_load_errors_exit_two_without_traceback(tmp_path, content):
    path = write(tmp_path, content)
    result = runner.invoke(app, ["lint", path])
    assert result.exit_code == 2
    assert f"{path}:" in result.output and "error:" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cli_missing_file_and_json_load_error(tmp_path):
    result = runner.invoke(app, ["lint", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "not found" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["lint", write(tmp_path, "- a\n"), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["errors"][0]["code"] == "not-a-mapping"


def test_cli_show_summarises_categories():
    result = runner.invoke(app, ["show", str(FIXTURE)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    hate = next(line for line in lines if line.strip().startswith("hate"))
    assert hate.split() == ["hate", "2", "3", "6", "0.90", "0.60", "de"]
    assert "2 categories, 4 actions, 1 queue, 1 market, 1 definition" in result.output


# --------------------------------------------------------------------------- the shipped example policy


@pytest.mark.skipif(not EXAMPLE_POLICY.exists(), reason="example policy not written yet")
def test_example_policy_lints_without_errors():
    source = load_policy_source(EXAMPLE_POLICY)
    report = lint_policy(source.policy, source)
    assert report.errors == [], "\n".join(str(p) + f" [{p.code}]" for p in report.errors)
