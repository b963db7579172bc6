"""The semantic diff: every change kind, its path, bump and direction; text and JSON output;
and the version-bump check built on it."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import pytest
from ruamel.yaml import YAML

from charter.policy.diff import Change, ChangeKind, PolicyDiff, diff_policies, render_text, word_diff
from charter.policy.hashing import policy_hash
from charter.policy.load import load_policy
from charter.policy.spec import Policy
from charter.policy.versioning import check_version_bump, is_error

FIXTURE = Path(__file__).parent / "fixtures" / "identity_policy.yaml"
EXAMPLES = Path(__file__).parent.parent / "src" / "charter" / "examples"
BASE: dict[str, Any] = YAML(typ="safe").load(FIXTURE.read_text(encoding="utf-8"))
BASE_POLICY = load_policy(FIXTURE)

Edit = Callable[[dict[str, Any]], None]
HATE = ("categories", 0)
SPAM = ("categories", 1)
DE = ("markets", 0)


def edited(*edits: Edit, version: str | None = None) -> Policy:
    data = copy.deepcopy(BASE)
    for edit in edits:
        edit(data)
    if version:
        data["metadata"]["version"] = version
    return Policy.model_validate(data)


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def setp(*path: Any) -> Callable[[Any], Edit]:
    """setp(a, b)(value): an edit that sets data[a][b] = value."""
    return lambda value: lambda data: _at(data, path[:-1]).__setitem__(path[-1], value)


def delp(*path: Any) -> Edit:
    return lambda data: _at(data, path[:-1]).__delitem__(path[-1])


def addp(*path: Any) -> Callable[[Any], Edit]:
    return lambda item: lambda data: _at(data, path).append(item)


NEW_RULE = {"id": "HATE.3", "title": "Calls for exclusion", "severity": "medium", "statement": "Do not call for exclusion."}
NEW_EXAMPLE = {
    "id": "hate_ex4", "kind": "allowed", "text": "A history lesson.",
    "expected": {"label": "allowed"}, "answers": {"q1": "no"},
}
NEW_NODE = {"question": "Is it a quote being criticised?", "yes": "allowed", "no": "dehumanising"}

# (id, edit, kind, path, bump, direction)
CASES: list[tuple[str, Edit, str, str, str, str | None]] = [
    ("title", setp("metadata", "title")("Renamed"), "metadata-changed", "metadata.title", "patch", None),
    ("owners", setp("metadata", "owners")(["x@example.com"]), "metadata-changed", "metadata.owners", "patch", None),
    ("definition+", addp("definitions")({"term": "slur", "definition": "An insult."}), "definition-added", "definitions[slur]", "patch", None),
    ("definition-", delp("definitions", 1), "definition-removed", "definitions[scam]", "patch", None),
    ("definition~", setp("definitions", 1, "definition")("Fraud."), "definition-changed", "definitions[scam]", "patch", None),
    ("action+", addp("actions")({"id": "warn", "kind": "label", "description": "Warn."}), "action-added", "actions[warn]", "minor", None),
    ("action-", delp("actions", 5), "action-removed", "actions[suspend]", "major", None),
    ("action kind up", setp("actions", 2, "kind")("remove"), "action-changed", "actions[demote].kind", "minor", "tightened"),
    ("action kind down", setp("actions", 3, "kind")("label"), "action-changed", "actions[remove].kind", "major", "loosened"),
    ("action description", setp("actions", 0, "description")("Keep it."), "action-changed", "actions[allow].description", "patch", None),
    ("action dsa", setp("actions", 3, "dsa", "decision_visibility")(["DECISION_VISIBILITY_CONTENT_REMOVED"]), "dsa-changed", "actions[remove].dsa", "minor", None),
    ("queue+", addp("queues")({"id": "urgent", "title": "Urgent", "priority": 1, "sla_hours": 1}), "queue-added", "queues[urgent]", "minor", None),
    ("queue-", delp("queues", 1), "queue-removed", "queues[legal]", "major", None),
    ("queue sla", setp("queues", 0, "sla_hours")(12), "queue-changed", "queues[ts_review].sla_hours", "minor", None),
    ("category+", addp("categories")({**copy.deepcopy(BASE["categories"][1]), "id": "synthetic_media"}), "category-added", "categories[synthetic_media]", "minor", None),
    ("category-", delp("categories", 1), "category-removed", "categories[spam_scams]", "major", None),
    ("category description", setp(*HATE, "description")("Attacks."), "category-changed", "categories[hate].description", "patch", None),
    ("category queue", setp(*HATE, "escalation_queue")("legal"), "category-changed", "categories[hate].escalation_queue", "minor", None),
    ("severity default down", setp(*HATE, "severities", 1, "default_action")("demote"), "category-changed", "categories[hate].severities[high].default_action", "major", "loosened"),
    ("severity tier+", addp(*HATE, "severities")({"id": "low", "rank": 1, "description": "Mild.", "default_action": "label_context"}), "category-changed", "categories[hate].severities[low]", "minor", None),
    ("rule+", addp(*HATE, "rules")(NEW_RULE), "rule-added", "categories[hate].rules[HATE.3]", "minor", None),
    ("rule-", delp(*HATE, "rules", 1), "rule-removed", "categories[hate].rules[HATE.2]", "major", None),
    ("rule statement", setp(*HATE, "rules", 0, "statement")("Do not compare groups to vermin."), "rule-reworded", "categories[hate].rules[HATE.1].statement", "patch", None),
    ("rule includes", addp(*HATE, "rules", 1, "includes")("slurs in usernames"), "rule-reworded", "categories[hate].rules[HATE.2].includes", "patch", None),
    ("rule severity up", setp(*HATE, "rules", 1, "severity")("high"), "severity-changed", "categories[hate].rules[HATE.2].severity", "minor", "tightened"),
    ("rule severity down", setp(*HATE, "rules", 0, "severity")("medium"), "severity-changed", "categories[hate].rules[HATE.1].severity", "major", "loosened"),
    ("node+", setp(*HATE, "tree", "nodes", "q4")(NEW_NODE), "node-added", "categories[hate].tree.nodes[q4]", "minor", None),
    ("node-", delp(*SPAM, "tree", "nodes", "s1"), "node-removed", "categories[spam_scams].tree.nodes[s1]", "minor", None),
    ("question", setp(*HATE, "tree", "nodes", "q2", "question")("Is it dehumanising?"), "question-changed", "categories[hate].tree.nodes[q2].question", "patch", None),
    ("guidance", setp(*HATE, "tree", "nodes", "q2", "guidance")("Include insects."), "guidance-changed", "categories[hate].tree.nodes[q2].guidance", "patch", None),
    ("branch", setp(*HATE, "tree", "nodes", "q3", "options", "unclear")("allowed"), "branch-changed", "categories[hate].tree.nodes[q3].branches", "minor", None),
    ("root", setp(*HATE, "tree", "root")("q2"), "branch-changed", "categories[hate].tree.root", "minor", None),
    ("outcome+", setp(*HATE, "tree", "outcomes", "quoted")({"label": "allowed"}), "outcome-added", "categories[hate].tree.outcomes[quoted]", "minor", None),
    ("outcome-", delp(*HATE, "tree", "outcomes", "unsure"), "outcome-removed", "categories[hate].tree.outcomes[unsure]", "minor", None),
    ("outcome label down", setp(*HATE, "tree", "outcomes", "slur", "label")("needs_review"), "outcome-changed", "categories[hate].tree.outcomes[slur].label", "major", "loosened"),
    ("outcome label up", setp(*HATE, "tree", "outcomes", "unsure", "label")("violating"), "outcome-changed", "categories[hate].tree.outcomes[unsure].label", "minor", "tightened"),
    ("outcome rule_ids", setp(*HATE, "tree", "outcomes", "slur", "rule_ids")(["HATE.2", "HATE.1"]), "outcome-changed", "categories[hate].tree.outcomes[slur].rule_ids", "minor", None),
    ("outcome escalation", setp(*HATE, "tree", "outcomes", "unsure", "escalate", "queue")("legal"), "outcome-changed", "categories[hate].tree.outcomes[unsure].escalate", "minor", None),
    ("outcome note", setp(*HATE, "tree", "outcomes", "allowed", "note")("Ideas may be criticised."), "outcome-changed", "categories[hate].tree.outcomes[allowed].note", "patch", None),
    ("outcome action up", setp(*HATE, "tree", "outcomes", "slur", "action")("remove"), "action-changed", "categories[hate].tree.outcomes[slur].action", "minor", "tightened"),
    ("outcome action down", setp(*HATE, "tree", "outcomes", "dehumanising", "action")("demote"), "action-changed", "categories[hate].tree.outcomes[dehumanising].action", "major", "loosened"),
    ("outcome action to escalate", setp(*HATE, "tree", "outcomes", "slur", "action")("review"), "action-changed", "categories[hate].tree.outcomes[slur].action", "minor", None),
    ("threshold down", setp(*HATE, "thresholds", "auto_action")(0.8), "threshold-changed", "categories[hate].thresholds.auto_action", "minor", "tightened"),
    ("threshold up", setp(*HATE, "thresholds", "review")(0.7), "threshold-changed", "categories[hate].thresholds.review", "major", "loosened"),
    ("market threshold", setp(*DE, "categories", "hate", "thresholds", "auto_action")(0.95), "threshold-changed", "markets[de].categories[hate].thresholds.auto_action", "major", "loosened"),
    ("market threshold added", setp(*DE, "categories", "spam_scams")({"thresholds": {"auto_action": 0.9, "review": 0.7}}), "threshold-changed", "markets[de].categories[spam_scams].thresholds.auto_action", "minor", "tightened"),
    ("auto action down", setp(*HATE, "auto_action")("demote"), "auto-action-changed", "categories[hate].auto_action", "major", "loosened"),
    ("example+", addp(*HATE, "examples")(NEW_EXAMPLE), "example-added", "categories[hate].examples[hate_ex4]", "patch", None),
    ("example-", delp(*HATE, "examples", 1), "example-removed", "categories[hate].examples[hate_ex2]", "patch", None),
    ("example text", setp(*HATE, "examples", 1, "text")("I like my neighbours."), "example-changed", "categories[hate].examples[hate_ex2].text", "patch", None),
    ("example answers", setp(*HATE, "examples", 2, "answers", "q3")("slur"), "example-changed", "categories[hate].examples[hate_ex3].answers", "patch", None),
    ("market+", addp("markets")({"id": "in", "title": "India", "languages": ["hi"]}), "market-added", "markets[in]", "minor", None),
    ("market-", delp("markets", 1), "market-removed", "markets[fr]", "major", None),
    ("market languages", setp(*DE, "languages")(["de"]), "market-changed", "markets[de].languages", "minor", None),
    ("market rule+", addp(*DE, "categories", "hate", "extra_rules")({**NEW_RULE, "id": "HATE.DE2"}), "market-rule-added", "markets[de].categories[hate].extra_rules[HATE.DE2]", "minor", None),
    ("market rule-", delp(*DE, "categories", "hate", "extra_rules", 0), "market-rule-removed", "markets[de].categories[hate].extra_rules[HATE.DE1]", "major", None),
    ("market rule reworded", setp(*DE, "categories", "hate", "extra_rules", 0, "statement")("Do not deny or trivialise the Holocaust."), "rule-reworded", "markets[de].categories[hate].extra_rules[HATE.DE1].statement", "patch", None),
    ("category dsa", setp(*HATE, "dsa", "keywords")(["KEYWORD_HATE_SPEECH"]), "dsa-changed", "categories[hate].dsa.keywords", "minor", None),
    ("category dsa ground", setp(*SPAM, "dsa", "ground")("DECISION_GROUND_INCOMPATIBLE_CONTENT"), "dsa-changed", "categories[spam_scams].dsa.ground", "minor", None),
    ("matcher+", addp(*SPAM, "matchers")({"id": "wallet_drain", "kind": "regex", "values": [r"claim\s+your\s+airdrop"], "rule_ids": ["SPAM.1"], "verdict": "violating"}), "matcher-added", "categories[spam_scams].matchers[wallet_drain]", "minor", "tightened"),
    ("matcher-", delp(*SPAM, "matchers", 0), "matcher-removed", "categories[spam_scams].matchers[advance_fee]", "major", "loosened"),
    ("matcher values", setp(*SPAM, "matchers", 0, "values")(["send you 10000"]), "matcher-changed", "categories[spam_scams].matchers[advance_fee].values", "major", "loosened"),
]


@pytest.mark.parametrize(("edit", "kind", "path", "bump", "direction"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_change_is_reported_with_kind_path_bump_and_direction(
    edit: Edit, kind: str, path: str, bump: str, direction: str | None
) -> None:
    result = diff_policies(BASE_POLICY, edited(edit))
    matching = [c for c in result.changes if c.path == path]
    assert [c.kind for c in matching] == [kind], [(c.kind, c.path) for c in result.changes]
    (change,) = matching
    assert (change.bump, change.direction) == (bump, direction)
    if kind != "metadata-changed":  # owners and dates reach no enforcement pathway
        assert change.impact, "every enforcement-relevant change names the pathways it reaches"
    assert result.content_changed


def test_every_change_kind_is_covered_by_a_case() -> None:
    covered = {c[2] for c in CASES}
    assert set(get_args(ChangeKind)) - covered == set()


def test_impacts_name_the_pathways_a_change_reaches() -> None:
    def impact_of(edit: Edit) -> list[str]:
        (change,) = [c for c in diff_policies(BASE_POLICY, edited(edit)).changes]
        return change.impact

    assert impact_of(setp(*HATE, "thresholds", "auto_action")(0.8)) == ["classifier_thresholds"]
    assert set(impact_of(setp(*HATE, "rules", 0, "statement")("Reworded."))) == {"llm_prompts", "human_guidelines"}
    assert impact_of(setp("queues", 0, "sla_hours")(12)) == ["routing"]
    assert impact_of(setp(*HATE, "tree", "outcomes", "unsure", "escalate", "queue")("legal")) == ["routing"]


def test_changes_carry_category_and_market_for_grouping() -> None:
    result = diff_policies(BASE_POLICY, edited(setp(*DE, "categories", "hate", "thresholds", "review")(0.4)))
    (change,) = result.changes
    assert (change.category, change.market, change.old, change.new) == ("hate", "de", 0.5, 0.4)


def test_identical_and_reordered_policies_have_no_changes() -> None:
    def reorder(data: dict[str, Any]) -> None:
        data["categories"].reverse()
        data["actions"].reverse()
        data["metadata"]["owners"].reverse()
        data["categories"][1]["dsa"]["keywords"].reverse()
        data["categories"][1]["rules"].reverse()
        data["markets"][0]["languages"].reverse()

    assert diff_policies(BASE_POLICY, BASE_POLICY).changes == []
    result = diff_policies(BASE_POLICY, edited(reorder))
    assert result.changes == [] and not result.content_changed
    assert "no changes" in render_text(result)


def test_release_only_changes_need_no_bump() -> None:
    def release(data: dict[str, Any]) -> None:
        data["metadata"]["changelog"].append({"version": "1.2.1", "date": dt.date(2025, 4, 1), "summary": "Release."})

    result = diff_policies(BASE_POLICY, edited(release, version="1.2.1"))
    assert {c.path for c in result.changes} == {"metadata.version", "metadata.changelog[1.2.1]"}
    assert result.required_bump() == "none" and not result.content_changed


def test_diff_reports_a_content_change_exactly_when_the_hash_changes() -> None:
    """For every scalar in the policy: a content edit shows up in the diff with a bump."""
    scalars: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if path[:2] in {("metadata", "version"), ("metadata", "changelog")}:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*path, index))
        elif isinstance(node, str):
            scalars.append(path)

    walk(BASE, ())
    checked = 0
    for path in scalars:
        data = copy.deepcopy(BASE)
        _at(data, path[:-1])[path[-1]] += "X"
        try:
            new = Policy.model_validate(data)
        except ValueError:
            continue  # an enumeration: covered by the cases above
        result = diff_policies(BASE_POLICY, new)
        assert policy_hash(new) != policy_hash(BASE_POLICY)
        assert result.required_bump() != "none", path
        checked += 1
    assert checked > 100


# ----------------------------------------------------------------------------- rendering


def test_word_diff_marks_removed_and_added_words() -> None:
    assert word_diff("Do not compare people to animals", "Do not compare groups to animals") == (
        "Do not compare [-people-]{+groups+} to animals"
    )
    assert word_diff("same", "same") == "same"


def test_render_text_groups_by_category_with_markers_and_word_diff() -> None:
    new = edited(
        setp(*HATE, "rules", 0, "statement")("Do not compare people to insects or vermin because of a protected characteristic."),
        addp(*HATE, "rules")(NEW_RULE),
        delp(*HATE, "examples", 1),
        setp(*SPAM, "thresholds", "auto_action")(0.9),
        setp("metadata", "title")("Renamed policy"),
        version="1.3.0",
    )
    text = render_text(diff_policies(BASE_POLICY, new))
    lines = text.splitlines()
    assert lines[0].startswith("identity@1.2.0 (") and "-> identity@1.3.0 (" in lines[0]
    assert "calls for a MINOR version bump" in text
    assert "~ rule-reworded: categories[hate].rules[HATE.1].statement" in text
    assert "compare people to [-animals-]{+insects+} or vermin" in text
    assert "+ rule-added: categories[hate].rules[HATE.3]" in text
    assert "- example-removed: categories[hate].examples[hate_ex2]" in text
    assert "~ threshold-changed: categories[spam_scams].thresholds.auto_action (tightened)" in text
    assert "0.95 -> 0.9" in text
    groups = [line for line in lines if line and not line.startswith(" ") and line in {"policy", "category hate", "category spam_scams"}]
    assert groups == ["policy", "category hate", "category spam_scams"]
    hate_block = text.split("category hate")[1].split("category spam_scams")[0]
    assert "spam_scams" not in hate_block and "HATE.3" in hate_block


def test_render_text_shows_list_items_and_changed_keys() -> None:
    new = edited(
        addp(*HATE, "rules", 1, "includes")("slurs in usernames"),
        setp(*HATE, "tree", "nodes", "q2", "no")("allowed"),
    )
    text = render_text(diff_policies(BASE_POLICY, new))
    assert "+ slurs in usernames" in text
    assert "no: q3 -> allowed" in text


def test_json_output_round_trips_and_is_plain_data() -> None:
    result = diff_policies(BASE_POLICY, edited(addp(*HATE, "rules")(NEW_RULE), version="1.3.0"))
    data = json.loads(result.model_dump_json())
    assert data["old"]["version"] == "1.2.0" and data["new"]["version"] == "1.3.0"
    added = [c for c in data["changes"] if c["kind"] == "rule-added"]
    assert added[0]["new"]["statement"] == "Do not call for exclusion." and added[0]["old"] is None
    assert PolicyDiff.model_validate_json(result.model_dump_json()) == result
    assert Change.model_validate(data["changes"][0]).kind == data["changes"][0]["kind"]


# ----------------------------------------------------------------------------- version bump check


def codes(old: Policy, new: Policy) -> list[str]:
    return [p.code for p in check_version_bump(old, new)]


def with_changelog(version: str) -> Edit:
    return addp("metadata", "changelog")({"version": version, "date": dt.date(2025, 5, 1), "summary": "Changes."})


RULE_ADDED = addp(*HATE, "rules")(NEW_RULE)
RULE_REMOVED = delp(*HATE, "rules", 1)
REWORDED = setp(*HATE, "rules", 0, "title")("Dehumanising comparisons")


def test_unchanged_policy_passes() -> None:
    assert check_version_bump(BASE_POLICY, BASE_POLICY) == []


@pytest.mark.parametrize("version", ["1.3.0-01", "1.3.0-rc..1"])
def test_version_that_is_not_semver_is_an_error(version: str) -> None:
    problems = check_version_bump(BASE_POLICY, edited(version=version))
    assert [p.code for p in problems] == ["version-invalid"] and is_error(problems[0])
    assert version in problems[0].message


def test_content_change_without_a_version_bump_is_an_error() -> None:
    problems = check_version_bump(BASE_POLICY, edited(REWORDED))
    assert [p.code for p in problems] == ["version-not-bumped"] and is_error(problems[0])
    assert "1.2.1" in problems[0].message and problems[0].location.path == "metadata.version"


def test_decreasing_version_is_an_error() -> None:
    problems = check_version_bump(BASE_POLICY, edited(version="1.1.9"))
    assert [p.code for p in problems] == ["version-decreased"] and is_error(problems[0])


def test_different_policy_ids_are_an_error() -> None:
    problems = check_version_bump(BASE_POLICY, edited(setp("metadata", "id")("other"), version="2.0.0"))
    assert [p.code for p in problems] == ["policy-id-changed"] and is_error(problems[0])


def test_patch_bump_for_a_new_rule_suggests_minor() -> None:
    problems = check_version_bump(BASE_POLICY, edited(RULE_ADDED, with_changelog("1.2.1"), version="1.2.1"))
    assert [p.code for p in problems] == ["bump-too-small"] and not is_error(problems[0])
    assert "MINOR" in problems[0].message and "use 1.3.0" in problems[0].message
    assert "rule-added categories[hate].rules[HATE.3]" in problems[0].message


def test_minor_bump_for_a_removal_or_loosening_suggests_major() -> None:
    assert codes(BASE_POLICY, edited(RULE_REMOVED, with_changelog("1.3.0"), version="1.3.0")) == ["bump-too-small"]
    loosened = edited(setp(*HATE, "thresholds", "auto_action")(0.99), with_changelog("1.3.0"), version="1.3.0")
    (problem,) = check_version_bump(BASE_POLICY, loosened)
    assert "MAJOR" in problem.message and "use 2.0.0" in problem.message


@pytest.mark.parametrize(
    ("edit", "version"),
    [(REWORDED, "1.2.1"), (REWORDED, "1.3.0"), (RULE_ADDED, "1.3.0"), (RULE_REMOVED, "2.0.0"), (RULE_ADDED, "2.0.0")],
)
def test_big_enough_bumps_with_a_changelog_entry_pass(edit: Edit, version: str) -> None:
    assert codes(BASE_POLICY, edited(edit, with_changelog(version), version=version)) == []


def test_missing_changelog_entry_is_a_warning() -> None:
    problems = check_version_bump(BASE_POLICY, edited(REWORDED, version="1.2.1"))
    assert [p.code for p in problems] == ["changelog-missing"] and not is_error(problems[0])


def test_version_bump_without_content_change_is_a_warning() -> None:
    assert codes(BASE_POLICY, edited(with_changelog("1.2.1"), version="1.2.1")) == ["version-without-change"]


def test_zero_major_versions_may_break_in_a_minor_bump() -> None:
    old = edited(version="0.4.0")
    new = edited(RULE_REMOVED, with_changelog("0.5.0"), version="0.5.0")
    assert codes(old, new) == []
    assert codes(old, edited(RULE_REMOVED, with_changelog("0.4.1"), version="0.4.1")) == ["bump-too-small"]


def test_pre_release_steps_are_not_judged_for_size() -> None:
    old = edited(version="1.3.0-rc.1")
    assert codes(old, edited(RULE_REMOVED, with_changelog("1.3.0-rc.2"), version="1.3.0-rc.2")) == []
    assert codes(old, edited(version="1.3.0-rc.1")) == []
    assert codes(old, edited(REWORDED, version="1.3.0-rc.1")) == ["version-not-bumped"]


# ----------------------------------------------------------------------------- the shipped example


@pytest.mark.skipif(
    not (EXAMPLES / "policy.yaml").exists() or not (EXAMPLES / "policy_v1_1.yaml").exists(),
    reason="example policies not written yet",
)
def test_example_policy_v1_1_diff_has_the_expected_kinds() -> None:
    old, new = load_policy(EXAMPLES / "policy.yaml"), load_policy(EXAMPLES / "policy_v1_1.yaml")
    result = diff_policies(old, new)
    kinds = result.kinds()
    for kind in ("rule-reworded", "rule-added", "example-removed", "threshold-changed", "node-added", "market-rule-added"):
        assert kind in kinds, kind
    assert any(c.kind == "action-changed" and ".tree.outcomes[" in c.path for c in result.changes)
    assert not any(is_error(p) for p in check_version_bump(old, new))
