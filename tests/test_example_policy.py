"""The shipped example policy (and its 1.1.0 release) must be internally consistent: every
worked example walks its tree to exactly the stated verdict, every rule is reachable, and
markets only tighten. These are direct checks, independent of the linter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from charter.policy.spec import ACTION_STRENGTH, Policy
from charter.policy.tree import find_cycle, reachable, walk

EXAMPLES = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples"
POLICY_FILES = ["policy.yaml", "policy_v1_1.yaml"]
RULE_PREFIX = {
    "hate": "HATE",
    "harassment": "HARASS",
    "violent_threats": "THREAT",
    "self_harm": "SELFHARM",
    "adult_sexual": "ADULT",
    "spam_scams": "SPAM",
    "synthetic_media": "SYNTH",
}
CATEGORY_IDS = list(RULE_PREFIX)


def load(name: str) -> Policy:
    with (EXAMPLES / name).open(encoding="utf-8") as handle:
        return Policy.model_validate(YAML(typ="safe").load(handle))


@pytest.fixture(scope="module", params=POLICY_FILES)
def policy(request: pytest.FixtureRequest) -> Policy:
    return load(request.param)


def test_metadata_and_category_ids(policy: Policy) -> None:
    assert policy.id == "charter-example"
    assert policy.category_ids() == CATEGORY_IDS
    assert policy.metadata.changelog[0].version == policy.version


def test_rule_ids_carry_their_category_prefix(policy: Policy) -> None:
    for category in policy.categories:
        for rule in category.rules:
            assert re.fullmatch(rf"{RULE_PREFIX[category.id]}\.\d+[a-z]", rule.id), rule.id
            assert rule.includes and rule.excludes, rule.id


def test_bracketed_terms_are_defined(policy: Policy) -> None:
    terms = {definition.term for definition in policy.definitions}
    used = set(re.findall(r"\[\[([^\]]+)\]\]", policy.model_dump_json()))
    assert used - terms == set(), "undefined [[terms]]"
    assert terms - used == set(), "definitions never referenced"


def test_every_example_walks_to_its_expected_outcome(policy: Policy) -> None:
    for category in policy.categories:
        for example in category.examples:
            result = walk(category.tree, example.answers)
            got = (result.outcome.label, result.outcome.rule_ids, result.outcome.action)
            want = (example.expected.label, example.expected.rule_ids, example.expected.action)
            assert got == want, f"{category.id}/{example.id} reached {result.outcome_id}"
            unused = set(example.answers) - set(result.path)
            assert not unused, f"{category.id}/{example.id} answers nodes off its path: {sorted(unused)}"


def test_trees_are_acyclic_fully_reachable_and_apply_every_rule(policy: Policy) -> None:
    for category in policy.categories:
        tree = category.tree
        assert find_cycle(tree) is None, category.id
        targets = {t for node in tree.nodes.values() for t in node.branches().values()}
        assert targets <= set(tree.nodes) | set(tree.outcomes), f"{category.id}: dangling branch"
        unreachable = (set(tree.nodes) | set(tree.outcomes)) - reachable(tree)
        assert not unreachable, f"{category.id}: unreachable {sorted(unreachable)}"
        applied = {rule_id for outcome in tree.outcomes.values() for rule_id in outcome.rule_ids}
        assert applied == {rule.id for rule in category.rules}, category.id
        nodes = tree.nodes.values()
        assert 4 <= len(tree.nodes) <= 8, category.id
        assert sum(node.type == "yes_no" for node in nodes) > len(tree.nodes) / 2, category.id


def test_outcome_actions_are_defined_and_strong_enough(policy: Policy) -> None:
    queues = {queue.id for queue in policy.queues}
    for category in policy.categories:
        assert any(o.escalate for o in category.tree.outcomes.values()), f"{category.id}: no escalation route"
        for outcome_id, outcome in category.tree.outcomes.items():
            where = f"{category.id}/{outcome_id}"
            action = policy.action(outcome.action or "")
            assert action is not None, f"{where}: undefined action"
            if outcome.escalate:
                assert outcome.label == "needs_review" and action.kind.value == "escalate", where
                assert outcome.escalate.queue in queues, where
                continue
            if outcome.label != "violating":
                assert action.kind.value == "allow", where
                continue
            assert outcome.rule_ids, where
            floor = max(
                ACTION_STRENGTH[policy.action(category.severity(category.rule(r).severity).default_action).kind]
                for r in outcome.rule_ids
            )
            assert ACTION_STRENGTH[action.kind] >= floor, f"{where}: weaker than its rules' default action"


def test_restrictive_actions_carry_a_dsa_mapping(policy: Policy) -> None:
    for action in policy.actions:
        if action.kind.restricts:
            assert action.dsa is not None and not action.dsa.is_empty(), action.id
    suspend = policy.action("suspend_account")
    assert suspend.dsa.decision_account.value == "DECISION_ACCOUNT_SUSPENDED"


def test_each_category_has_six_examples_with_a_borderline_one(policy: Policy) -> None:
    for category in policy.categories:
        kinds = [example.kind for example in category.examples]
        assert len(kinds) >= 6, category.id
        assert {"violating", "allowed", "borderline"} <= set(kinds), category.id
        assert len({example.id for example in category.examples}) == len(kinds), category.id


def test_markets_only_tighten(policy: Policy) -> None:
    assert {"DE", "FR"} <= {market.id for market in policy.markets}
    for market in policy.markets:
        for category_id, override in market.categories.items():
            category = policy.category(category_id)
            assert category is not None, f"{market.id}: unknown category {category_id}"
            if override.thresholds:
                assert override.thresholds.auto_action <= category.thresholds.auto_action, market.id
                assert override.thresholds.review <= category.thresholds.review, market.id
            for rule in override.extra_rules:
                assert category.severity(rule.severity) is not None, rule.id
                assert category.rule(rule.id) is None, f"{rule.id} shadows a base rule"
    de_hate = policy.market("DE").categories["hate"]
    assert "HATE.DE1" in {rule.id for rule in de_hate.extra_rules}
    assert de_hate.thresholds.auto_action < policy.category("hate").thresholds.auto_action


def test_next_release_changes_what_the_diff_demo_shows() -> None:
    old, new = load("policy.yaml"), load("policy_v1_1.yaml")
    assert (old.version, new.version) == ("1.0.0", "1.1.0")
    assert new.metadata.changelog[0].version == "1.1.0"
    old_synth, new_synth = old.category("synthetic_media"), new.category("synthetic_media")
    assert {r.id for r in new_synth.rules} - {r.id for r in old_synth.rules} == {"SYNTH.1c"}
    assert set(new_synth.tree.nodes) - set(old_synth.tree.nodes) == {"election_process"}
    assert old.category("harassment").rule("HARASS.1a").statement != new.category("harassment").rule("HARASS.1a").statement
    old_ex = {e.id for e in old.category("adult_sexual").examples}
    assert old_ex - {e.id for e in new.category("adult_sexual").examples} == {"adult_lace_set"}
    assert old.category("spam_scams").thresholds != new.category("spam_scams").thresholds
    old_out = old.category("hate").tree.outcomes["violating_generalization"]
    new_out = new.category("hate").tree.outcomes["violating_generalization"]
    assert (old_out.action, new_out.action) == ("demote", "remove")
    de_rules = {r.id for r in new.market("DE").categories["hate"].extra_rules}
    assert de_rules - {r.id for r in old.market("DE").categories["hate"].extra_rules} == {"HATE.DE2"}
