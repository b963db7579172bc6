"""The content hash identifies what a policy says: formatting, comments, key order and the
order of id-addressed lists never change it; any content change does; version and changelog
do not (they name a release, not its content)."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString, SingleQuotedScalarString

from charter.policy.hashing import canonical_json, identity, policy_hash, short_hash
from charter.policy.load import parse_policy_text
from charter.policy.spec import Policy

FIXTURE = Path(__file__).parent / "fixtures" / "identity_policy.yaml"
BASE: dict[str, Any] = YAML(typ="safe").load(FIXTURE.read_text(encoding="utf-8"))
BASE_POLICY = Policy.model_validate(BASE)
BASE_HASH = policy_hash(BASE_POLICY)

KEYED_LISTS = {
    "definitions", "actions", "queues", "categories", "markets", "severities", "rules", "examples", "extra_rules", "matchers",
}  # fmt: skip
SET_LISTS = {"owners", "languages", "keywords", "decision_visibility", "values"}
RELEASE_ONLY = {("metadata", "version"), ("metadata", "changelog")}
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Path_ = tuple[Any, ...]


def validated(data: dict[str, Any]) -> Policy | None:
    try:
        return Policy.model_validate(data)
    except ValidationError:
        return None


def get(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data


def put(data: Any, path: Path_, value: Any) -> None:
    get(data, path[:-1])[path[-1]] = value


def leaves(data: Any, path: Path_ = ()) -> list[Path_]:
    """Paths to every scalar in the document, except release-only ones."""
    if path[:2] in RELEASE_ONLY:
        return []
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in leaves(v, (*path, k))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in leaves(v, (*path, i))]
    return [path]


STRING_LEAVES = [p for p in leaves(BASE) if isinstance(get(BASE, p), str)]
NUMBER_LEAVES = [p for p in leaves(BASE) if isinstance(get(BASE, p), int | float)]


def lists(data: Any, path: Path_ = ()) -> list[Path_]:
    """Paths to every list with more than one item, except release-only ones."""
    if path[:2] in RELEASE_ONLY:
        return []
    found = [path] if isinstance(data, list) and len(data) > 1 else []
    children = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else []
    return found + [p for k, v in children for p in lists(v, (*path, k))]


SHRINKABLE_LISTS = lists(BASE)


def mutate_string(data: dict[str, Any], path: Path_, suffix: str) -> bool:
    """Append `suffix` to a string (or swap an enum value); False if no valid mutation exists."""
    old = get(data, path)
    for candidate in (old + suffix, *ENUM_ALTERNATIVES):
        if candidate == old:
            continue
        put(data, path, candidate)
        if validated(data) is not None:
            return True
    put(data, path, old)
    return False


ENUM_ALTERNATIVES = [
    "choice", "yes_no", "allowed", "violating", "needs_review", "borderline", "label", "remove", "demote",
    "escalate", "allow", "suspend_account", "STATEMENT_CATEGORY_VIOLENCE", "DECISION_GROUND_ILLEGAL_CONTENT",
    "DECISION_GROUND_INCOMPATIBLE_CONTENT", "DECISION_VISIBILITY_OTHER", "DECISION_ACCOUNT_TERMINATED",
    "DECISION_PROVISION_PARTIAL_SUSPENSION", "regex",
]


# ----------------------------------------------------------------------------- re-serialisation


@st.composite
def restyled(draw: st.DrawFn) -> str:
    """The base policy written differently: key order, list order where free, flow/block
    style, quoting, literal blocks, comments, indentation and line width all drawn."""

    def build(value: Any, key: Any = None, in_flow: bool = False) -> Any:
        if isinstance(value, dict):
            flow = in_flow or draw(st.integers(0, 3)) == 0
            node = CommentedMap()
            for k, v in draw(st.permutations(list(value.items()))):
                node[k] = build(v, k, flow)
            node.fa.set_flow_style() if flow else node.fa.set_block_style()
            plain_keys = [k for k, v in value.items() if not isinstance(v, dict | list)]
            if not flow and plain_keys and draw(st.booleans()):
                node.yaml_add_eol_comment("# reviewed", draw(st.sampled_from(plain_keys)))
            return node
        if isinstance(value, list):
            flow = in_flow or draw(st.integers(0, 3)) == 0
            items = [build(v, None, flow) for v in value]
            if key in KEYED_LISTS or key in SET_LISTS:
                items = draw(st.permutations(items))
            node = CommentedSeq(items)
            node.fa.set_flow_style() if flow else node.fa.set_block_style()
            return node
        if isinstance(value, str):
            styles = [str, SingleQuotedScalarString, DoubleQuotedScalarString]
            if not in_flow and " " in value:
                styles.append(LiteralScalarString)
            return draw(st.sampled_from(styles))(value)
        return value

    document = build(copy.deepcopy(BASE))
    yaml = YAML()
    offset = draw(st.integers(0, 3))
    yaml.indent(mapping=draw(st.integers(2, 6)), sequence=offset + draw(st.integers(2, 4)), offset=offset)
    yaml.width = draw(st.integers(40, 200))
    out = io.StringIO()
    out.write("# a comment at the top\n")
    yaml.dump(document, out)
    return out.getvalue()


@settings(SETTINGS, phases=[Phase.explicit, Phase.reuse, Phase.generate])  # shrinking these documents is slow
@given(text=restyled())
def test_hash_is_stable_under_reformatting(text: str) -> None:
    policy = parse_policy_text(text, "restyled.yaml").policy
    assert policy_hash(policy) == BASE_HASH
    assert canonical_json(policy) == canonical_json(BASE_POLICY)


def test_spelled_out_defaults_do_not_change_the_hash() -> None:
    data = copy.deepcopy(BASE)
    data["categories"][0]["tree"]["nodes"]["q2"]["type"] = "yes_no"
    data["queues"][0]["reviewer_role"] = "reviewer"
    data["categories"][1]["examples"][0]["rationale"] = None
    assert policy_hash(Policy.model_validate(data)) == BASE_HASH


def test_written_order_of_includes_and_outcome_rule_ids_is_content() -> None:
    """Includes and rule_ids are presented to LLMs and reviewers in order: order is content."""
    data = copy.deepcopy(BASE)
    data["categories"][0]["rules"][0]["includes"].reverse()
    assert policy_hash(Policy.model_validate(data)) != BASE_HASH


# ----------------------------------------------------------------------------- content changes


@SETTINGS
@given(path=st.sampled_from(STRING_LEAVES), suffix=st.text(alphabet="ABXYZ_", min_size=1, max_size=4))
def test_changing_any_string_changes_the_hash(path: Path_, suffix: str) -> None:
    data = copy.deepcopy(BASE)
    assert mutate_string(data, path, suffix), path
    assert policy_hash(Policy.model_validate(data)) != BASE_HASH, path


def test_every_string_leaf_can_be_mutated_validly() -> None:
    """Guards the property above against silently skipping fields."""
    unmutable = [p for p in STRING_LEAVES if not mutate_string(copy.deepcopy(BASE), p, "X")]
    assert unmutable == []


@SETTINGS
@given(path=st.sampled_from(NUMBER_LEAVES), data=st.data())
def test_changing_any_number_changes_the_hash(path: Path_, data: st.DataObject) -> None:
    doc = copy.deepcopy(BASE)
    old = get(doc, path)
    if isinstance(old, float):
        new: Any = data.draw(st.floats(0.0, 1.0).filter(lambda v: v != old), label="new")
    elif path[-1] == "rank":
        new = data.draw(st.integers(0, 10).filter(lambda v: v != old), label="new")
    elif path[-1] == "priority":
        new = data.draw(st.integers(1, 5).filter(lambda v: v != old), label="new")
    else:  # sla_hours
        new = data.draw(st.integers(1, 1000).filter(lambda v: v != old), label="new")
    put(doc, path, new)
    assert policy_hash(Policy.model_validate(doc)) != BASE_HASH


@SETTINGS
@given(path=st.sampled_from(SHRINKABLE_LISTS), index=st.integers(0, 10))
def test_dropping_a_list_item_changes_the_hash(path: Path_, index: int) -> None:
    data = copy.deepcopy(BASE)
    items = get(data, path)
    del items[index % len(items)]
    policy = validated(data)
    if policy is not None:
        assert policy_hash(policy) != BASE_HASH


@SETTINGS
@given(
    category=st.integers(0, 1),
    rule_id=st.from_regex(r"\A[A-Z]{2,5}\.[0-9]{1,3}[a-z]?\Z"),
    statement=st.text(min_size=1, max_size=60).filter(lambda s: s.strip()),
)
def test_adding_a_rule_changes_the_hash(category: int, rule_id: str, statement: str) -> None:
    data = copy.deepcopy(BASE)
    rules = data["categories"][category]["rules"]
    rules.append({"id": rule_id, "title": "New rule", "severity": "high", "statement": statement})
    assert policy_hash(Policy.model_validate(data)) != BASE_HASH


def test_effective_date_is_content() -> None:
    data = copy.deepcopy(BASE)
    data["metadata"]["effective_date"] = dt.date(2026, 1, 1)
    assert policy_hash(Policy.model_validate(data)) != BASE_HASH


# ----------------------------------------------------------------------------- release info


@SETTINGS
@given(
    version=st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)).map(lambda v: "%d.%d.%d" % v),
    summaries=st.lists(st.text(min_size=1, max_size=40).filter(lambda s: s.strip()), max_size=3),
)
def test_version_and_changelog_do_not_change_the_hash(version: str, summaries: list[str]) -> None:
    data = copy.deepcopy(BASE)
    data["metadata"]["version"] = version
    data["metadata"]["changelog"] = [
        {"version": f"9.9.{i}", "date": dt.date(2030, 1, 1 + i), "summary": s} for i, s in enumerate(summaries)
    ]
    policy = Policy.model_validate(data)
    assert policy_hash(policy) == BASE_HASH


# ----------------------------------------------------------------------------- shape of the output


def test_canonical_json_is_compact_sorted_and_content_only_drops_release_info() -> None:
    text = canonical_json(BASE_POLICY)
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert list(data) == sorted(data)
    assert [c["id"] for c in data["categories"]] == ["hate", "spam_scams"]
    assert [a["id"] for a in data["actions"]] == sorted(a["id"] for a in BASE["actions"])
    assert data["metadata"]["owners"] == sorted(BASE["metadata"]["owners"])
    content = json.loads(canonical_json(BASE_POLICY, content_only=True))
    assert "version" not in content["metadata"] and "changelog" not in content["metadata"]
    assert content["metadata"]["id"] == "identity"


def test_hash_is_sha256_hex_and_identity_names_the_release() -> None:
    assert len(BASE_HASH) == 64 and int(BASE_HASH, 16) >= 0
    assert short_hash(BASE_HASH) == BASE_HASH[:12]
    ident = identity(BASE_POLICY)
    assert (ident.id, ident.version, ident.hash) == ("identity", "1.2.0", BASE_HASH)
    assert str(ident) == f"identity@1.2.0 ({BASE_HASH[:12]})"


def test_hash_of_the_same_file_loaded_twice_is_equal() -> None:
    first = parse_policy_text(FIXTURE.read_text(encoding="utf-8")).policy
    second = parse_policy_text(FIXTURE.read_text(encoding="utf-8")).policy
    assert policy_hash(first) == policy_hash(second) == BASE_HASH


@pytest.mark.parametrize("field", ["title", "statement"])
def test_non_ascii_text_is_hashed_as_utf8(field: str) -> None:
    data = copy.deepcopy(BASE)
    data["categories"][0]["rules"][0][field] += " — über"
    policy = Policy.model_validate(data)
    assert "über" in canonical_json(policy)
    assert policy_hash(policy) != BASE_HASH
