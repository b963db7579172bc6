"""Matchers in the policy: lint finds each kind of unusable or dangling matcher at its file,
line and column; the regex safety check tells catastrophic patterns from safe ones; the diff
reports matcher changes with their direction; the hash ignores order and is unchanged for
policies without matchers; the compiler resolves what a hit does into rules.json."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from charter.compile import compile_policy
from charter.compile.loader import load_bundle
from charter.compile.bundle import write_bundle
from charter.errors import CharterError
from charter.policy.diff import diff_policies
from charter.policy.hashing import policy_hash
from charter.policy.lint import lint_policy
from charter.policy.load import load_policy, parse_policy_text
from charter.policy.matchers import regex_problem
from charter.policy.spec import Policy

MINIMAL = Path(__file__).parent / "fixtures" / "minimal_policy.yaml"
ANCHOR = "    thresholds: {auto_action: 0.95, review: 0.7}\n"  # the spam category's, last in the file


def with_matchers(block: str, base: str | None = None) -> str:
    """The minimal policy with `block` (YAML lines under `matchers:`) added to spam_scams."""
    text = base or MINIMAL.read_text(encoding="utf-8")
    assert text.count(ANCHOR) == 1
    return text.replace(ANCHOR, ANCHOR + "    matchers:\n" + block)


def problems(block: str) -> list[tuple[str, int | None, int | None, str]]:
    source = parse_policy_text(with_matchers(block), "policy.yaml")
    report = lint_policy(source.policy, source)
    return [(p.code, p.location.line, p.location.column, p.message) for p in report.errors + report.warnings]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


GOOD = """\
      - id: advance_fee
        kind: terms
        values: [send you 10000, release fee]
        rule_ids: [SPAM.1]
        verdict: violating
        acts_alone: true
"""


def test_a_good_matcher_lints_clean() -> None:
    assert problems(GOOD) == []


def test_an_invalid_regex_is_located_at_its_value() -> None:
    block = """\
      - id: bad_pattern
        kind: regex
        values:
          - 'fine\\s+pattern'
          - '(unclosed'
        rule_ids: [SPAM.1]
        verdict: violating
"""
    text = with_matchers(block)
    [(code, line, column, message)] = problems(block)
    assert code == "invalid-regex" and "at position 0: missing ), unterminated subpattern" in message
    assert (line, column) == (line_of(text, "(unclosed"), 13)


@pytest.mark.parametrize(
    ("pattern", "risky"),
    [
        (r"(a+)+$", True),
        (r"(\w+\s?)*x", True),
        (r"(a|aa)+b", True),
        (r"(.*a){12}", True),
        (r"(x+x+)+y", True),
        (r"\bsend\s+\d+\s*btc\b", False),
        (r"(?:[a-z0-9-]+\.)+(?:xyz|top)\b", False),
        (r"(?:\w+\s)+end", False),
        (r"(\d{3}[- ]?){2}\d{4}", False),
        (r"(?:ab|cd)+", False),
    ],
)
def test_backtracking_prone_patterns_are_refused(pattern: str, risky: bool) -> None:
    problem = regex_problem(pattern)
    assert (problem is not None and "backtrack" in problem) == risky, problem


def test_a_pattern_that_matches_everything_is_refused() -> None:
    assert "empty string" in regex_problem(r"(?:free)?\s*")


@pytest.mark.parametrize(
    ("block", "code", "fragment"),
    [
        (GOOD.replace("[SPAM.1]", "[SPAM.9]"), "dangling-reference", "'SPAM.9' is not a defined rule"),
        (GOOD.replace("values: [send you 10000, release fee]", "values: []"), "empty-matcher", "has no values"),
        (GOOD.replace("release fee", "'  '"), "empty-matcher", "empty value"),
        (GOOD.replace("release fee", "'!!!'"), "invalid-term", "no letter or digit"),
        (GOOD.replace("kind: terms", "kind: exact"), "invalid-digest", "not a sha256 digest"),
        (GOOD + "        action: obliterate\n", "dangling-reference", "'obliterate' is not a defined action"),
        (GOOD + "        action: allow\n", "label-action-mismatch", "violating but its action 'allow'"),
        (GOOD + "        queue: ts_review\n", "matcher-queue-without-review", "drop queue"),
        (GOOD.replace("        rule_ids: [SPAM.1]\n", ""), "matcher-without-rule", "names no rule_ids"),
        (GOOD.replace("verdict: violating", "verdict: needs_review") + "        queue: nowhere\n", "dangling-reference",
         "'nowhere' is not a defined queue"),
        (GOOD.replace("verdict: violating", "verdict: needs_review") + "        action: remove\n", "escalation-action-kind",
         "takes no action"),
        (GOOD.replace("verdict: violating", "verdict: needs_review"), "escalation-without-queue", "names no queue"),
        (GOOD + GOOD.replace("values: [send you 10000, release fee]", "values: [wire the fee]"), "duplicate-id",
         "matcher 'advance_fee' is defined twice"),
        (GOOD.replace("release fee", "Send You 10000"), "duplicate-value", "twice"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 30 else None,
)
def test_lint_names_each_matcher_problem(block: str, code: str, fragment: str) -> None:
    found = problems(block)
    assert any(c == code and fragment in m for c, _, _, m in found), found


def test_a_market_matcher_may_cite_the_markets_rules_only_there() -> None:
    data = YAML(typ="safe").load(MINIMAL.read_text(encoding="utf-8"))
    market = {"id": "GB", "title": "UK", "categories": {"spam_scams": {
        "extra_rules": [{"id": "SPAM.GB1", "title": "Premium-rate prize lines", "severity": "high",
                         "statement": "Do not send people to premium-rate prize lines.", "includes": ["09 numbers"]}],
        "matchers": [{"id": "gb_premium", "kind": "regex", "values": [r"\b09\d{9}\b"], "rule_ids": ["SPAM.GB1"],
                      "verdict": "violating", "acts_alone": True}],
    }}}  # fmt: skip
    data.setdefault("markets", []).append(market)
    assert not lint_policy(Policy.model_validate(data)).errors
    data["categories"][1]["matchers"] = [{**market["categories"]["spam_scams"]["matchers"][0], "id": "everywhere"}]
    errors = lint_policy(Policy.model_validate(data)).errors
    assert [e.code for e in errors] == ["dangling-reference"] and "SPAM.GB1" in errors[0].message


def test_acting_alone_under_a_human_only_severity_is_warned() -> None:
    base = MINIMAL.read_text(encoding="utf-8").replace(
        "        description: Fraud.\n        default_action: remove\n",
        "        description: Fraud.\n        default_action: remove\n        requires_human: true\n",
    )
    source = parse_policy_text(with_matchers(GOOD, base), "policy.yaml")
    report = lint_policy(source.policy, source)
    assert not report.errors and [w.code for w in report.warnings] == ["matcher-needs-human"]


# --------------------------------------------------------------------------- hash and diff


def minimal_data() -> dict:
    return YAML(typ="safe").load(MINIMAL.read_text(encoding="utf-8"))


def test_policies_without_matchers_keep_their_hash_and_order_is_not_content() -> None:
    plain = minimal_data()
    spelled = copy.deepcopy(plain)
    for category in spelled["categories"]:
        category["matchers"] = []
        for severity in category["severities"]:
            severity["requires_human"] = False
    assert policy_hash(Policy.model_validate(plain)) == policy_hash(Policy.model_validate(spelled))
    one = parse_policy_text(with_matchers(GOOD + GOOD.replace("advance_fee", "second")), "a.yaml").policy
    other = parse_policy_text(with_matchers(
        GOOD.replace("advance_fee", "second").replace("[send you 10000, release fee]", "[release fee, send you 10000]") + GOOD
    ), "b.yaml").policy  # fmt: skip
    assert policy_hash(one) == policy_hash(other)
    assert policy_hash(one) != policy_hash(Policy.model_validate(plain))


def test_the_diff_reports_matcher_changes_with_their_direction() -> None:
    old = parse_policy_text(with_matchers(GOOD), "old.yaml").policy
    new = parse_policy_text(with_matchers(
        GOOD.replace("verdict: violating", "verdict: needs_review").replace("acts_alone: true", "acts_alone: false")
        + "        queue: ts_review\n"
    ), "new.yaml").policy  # fmt: skip
    changes = {c.path.rsplit(".", 1)[-1]: c for c in diff_policies(old, new).changes}
    assert changes["verdict"].kind == "matcher-changed" and changes["verdict"].direction == "loosened"
    assert changes["acts_alone"].bump == "major" and changes["queue"].bump == "minor"
    assert all("rules" in c.impact for c in changes.values())
    assert diff_policies(new, old).changes[0].direction == "tightened"


def test_the_example_release_adds_a_market_matcher() -> None:
    examples = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples"
    diff = diff_policies(load_policy(examples / "policy.yaml"), load_policy(examples / "policy_v1_1.yaml"))
    added = [c for c in diff.changes if c.kind == "matcher-added"]
    assert [(c.market, c.category, c.path) for c in added] == [
        ("DE", "hate", "markets[DE].categories[hate].matchers[de_banned_slogans]")
    ]


# --------------------------------------------------------------------------- compiled


def test_rules_json_resolves_what_a_hit_does(tmp_path: Path) -> None:
    block = GOOD + GOOD.replace("advance_fee", "parcel_fee").replace("verdict: violating", "verdict: needs_review").replace(
        "        rule_ids: [SPAM.1]\n", "        queue: ts_review\n"
    )  # fmt: skip
    source = parse_policy_text(with_matchers(block), "policy.yaml")
    bundle = load_bundle(write_bundle(compile_policy(source.policy, source), tmp_path / "bundle"))
    spam = bundle.rules["categories"]["spam_scams"]
    acting, review = spam["matchers"]
    assert (acting["action"], acting["action_kind"], acting["queue"], acting["acts_alone"]) == ("remove", "remove", None, True)
    assert (review["action"], review["queue"], review["requires_human"]) == ("review", "ts_review", False)
    assert spam["human_only"] == {"severities": [], "rule_ids": []}
    assert bundle.rules["policy"] == {"id": "minimal", "version": "1.2.0", "hash": bundle.identity.hash}
    (tmp_path / "bundle" / "rules.json").write_text(json.dumps({**bundle.rules, "markets": {"XX": {}}}), encoding="utf-8")
    with pytest.raises(CharterError, match="failed verification") as caught:
        load_bundle(tmp_path / "bundle")
    assert "rules.json" in str(caught.value) and "tampered" in str(caught.value)
