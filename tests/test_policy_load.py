"""The policy loader: valid files parse; every malformed file gives located, actionable problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from charter.errors import CharterError, Problem
from charter.policy.load import LoadedPolicy, load_policy, load_policy_source, parse_policy_text
from charter.policy.spec import Policy

FIXTURE = Path(__file__).parent / "fixtures" / "minimal_policy.yaml"
BASE = FIXTURE.read_text(encoding="utf-8")


def mutate(old: str, new: str, text: str = BASE) -> str:
    """The fixture with one exact, unique fragment replaced (fails loudly if it is not there)."""
    assert text.count(old) == 1, f"fragment not unique in fixture: {old!r}"
    return text.replace(old, new)


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing `fragment`."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    return hits[occurrence - 1]


def col_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """1-based column where `fragment` starts on its line."""
    line = text.splitlines()[line_of(text, fragment, occurrence) - 1]
    return line.index(fragment) + 1


def problems_of(text: str, tmp_path: Path, name: str = "policy.yaml") -> tuple[CharterError, list[Problem]]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CharterError) as info:
        load_policy_source(path)
    return info.value, info.value.problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# --------------------------------------------------------------------------- valid input


def test_fixture_loads_and_locates_paths():
    source = load_policy_source(FIXTURE)
    assert isinstance(source, LoadedPolicy)
    assert source.file == str(FIXTURE)
    assert source.policy.id == "minimal"
    assert source.policy.category_ids() == ["hate", "spam_scams"]
    where = source.locate(("categories", 0, "tree", "nodes", "q3", "options", "slur"))
    assert where.path == "categories[hate].tree.nodes.q3.options.slur"
    assert where.line == line_of(BASE, "slur: slur")
    assert where.column == col_of(BASE, "slur: slur") + len("slur: ")
    rule = source.locate(("categories", 0, "rules", 1, "severity"))
    assert rule.path == "categories[hate].rules[HATE.2].severity"
    assert rule.line == line_of(BASE, "severity: medium")


def test_load_policy_returns_policy_and_parse_text_uses_default_name():
    assert isinstance(load_policy(FIXTURE), Policy)
    with pytest.raises(CharterError) as info:
        parse_policy_text("- 1\n")
    assert only(info.value.problems).location.file == "<string>"


# --------------------------------------------------------------------------- YAML-level problems


def test_yaml_syntax_error_is_located(tmp_path):
    text = mutate("owners: [trust-safety@example.com]", "owners: [trust-safety@example.com")
    error, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert problem.code == "yaml-syntax"
    assert problem.location.file == str(tmp_path / "policy.yaml")
    assert problem.location.line == line_of(BASE, "owners:") + 1
    assert "flow sequence" in problem.message and f"line {line_of(BASE, 'owners:')}" in problem.message
    assert "not valid YAML" in error.message


def test_tab_indentation(tmp_path):
    text = mutate("  title: Minimal test policy", "\ttitle: Minimal test policy")
    _, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert (problem.location.line, problem.location.column) == (line_of(text, "\ttitle"), 1)
    assert "tabs" in problem.message and "spaces" in problem.message


def test_unclosed_quote_points_at_the_opening_quote(tmp_path):
    text = mutate("  title: Minimal test policy", "  title: 'Minimal test policy")
    _, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert (problem.location.line, problem.location.column) == (line_of(text, "title: 'Minimal"), 10)
    assert "closing quote" in problem.message
    assert f"runs on until line {line_of(text, 'content' + chr(39) + 's reach')}" in problem.message


def test_unclosed_quote_at_end_of_file(tmp_path):
    text = BASE + "extra: 'never closed\n"
    _, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert (problem.location.line, problem.location.column) == (line_of(text, "extra: '"), 8)
    assert problem.message == "this quoted string is never closed (the file ends first)"


def test_unclosed_list_at_end_of_file(tmp_path):
    _, problems = problems_of(BASE + "extra: [1, 2\n", tmp_path)
    problem = only(problems)
    assert (problem.location.line, problem.location.column) == (line_of(BASE + "extra: [", "extra: ["), 8)
    assert problem.message == "this [...] list is never closed (the file ends first)"


def test_bad_indentation(tmp_path):
    text = mutate("  title: Minimal test policy", "   title: Minimal test policy")
    _, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert problem.location.line == line_of(text, "   title:")
    assert "indentation" in problem.message


def test_duplicate_key(tmp_path):
    text = mutate("    sla_hours: 24\n", "    sla_hours: 24\n    sla_hours: 48\n")
    error, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert problem.code == "duplicate-key"
    assert (problem.location.line, problem.location.column) == (line_of(text, "sla_hours: 48"), 5)
    assert "'sla_hours'" in problem.message and "only once" in problem.message
    assert f"starts at line {line_of(text, '- id: ts_review')}" in problem.message


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(tmp_path, text):
    error, problems = problems_of(text, tmp_path)
    assert only(problems).code == "empty-file"
    assert "empty" in error.message


def test_list_at_top_level(tmp_path):
    _, problems = problems_of("- metadata: {}\n- actions: []\n", tmp_path)
    problem = only(problems)
    assert problem.code == "not-a-mapping"
    assert (problem.location.line, problem.location.column) == (1, 1)
    assert "got a list" in problem.message and "metadata, definitions, actions" in problem.message


def test_scalar_at_top_level(tmp_path):
    _, problems = problems_of("just a sentence\n", tmp_path)
    assert "got a string" in only(problems).message


def test_unsupported_tag(tmp_path):
    text = mutate("  title: Minimal test policy", "  title: !!python/object:os.system x")
    _, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert problem.code == "unsupported-yaml"
    assert problem.location.path == "metadata.title"
    assert problem.location.line == line_of(text, "!!python")


def test_missing_file_directory_and_encoding(tmp_path):
    with pytest.raises(CharterError) as missing:
        load_policy_source(tmp_path / "nope.yaml")
    assert "not found" in missing.value.message
    assert only(missing.value.problems).location.file == str(tmp_path / "nope.yaml")

    with pytest.raises(CharterError) as directory:
        load_policy_source(tmp_path)
    assert "directory" in directory.value.message

    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("metadata:\n  title: Caf\u00e9\n".encode("latin-1"))
    with pytest.raises(CharterError) as encoding:
        load_policy_source(bad)
    problem = only(encoding.value.problems)
    assert problem.code == "not-utf8"
    assert (problem.location.line, problem.location.column) == (2, 13)
    assert "0xe9" in problem.message and "UTF-8" in problem.message


def test_control_character(tmp_path):
    text = mutate("  title: Minimal test policy", "  title: Minimal\x01 test policy")
    _, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert (problem.location.line, problem.location.column) == (line_of(text, "Minimal\x01"), 17)
    assert "not allowed" in problem.message


# --------------------------------------------------------------------------- schema problems


def test_unknown_key_suggests_the_closest(tmp_path):
    text = mutate("      - id: HATE.2\n        title: Slurs\n        severity: medium",
                  "      - id: HATE.2\n        title: Slurs\n        severty: medium")
    error, problems = problems_of(text, tmp_path)
    unknown = next(p for p in problems if p.code == "unknown-key")
    assert unknown.location.path == "categories[hate].rules[HATE.2].severty"
    assert (unknown.location.line, unknown.location.column) == (line_of(text, "severty:"), 9)
    assert "'severty'" in unknown.message and "Did you mean 'severity'?" in unknown.message
    assert "Allowed keys: id, title, severity, statement, includes, excludes" in unknown.message
    missing = next(p for p in problems if p.code == "missing-field")
    assert missing.location.path == "categories[hate].rules[HATE.2].severity"
    assert "invalid policy (2 problems)" in error.message


def test_wrong_type_names_expected_and_actual(tmp_path):
    text = mutate("      - id: medium\n        rank: 2", "      - id: medium\n        rank: two")
    _, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert problem.code == "wrong-type"
    assert problem.location.path == "categories[hate].severities[medium].rank"
    assert (problem.location.line, problem.location.column) == (line_of(text, "rank: two"), 15)
    assert problem.message == "expected an integer, got a string 'two'"


def test_number_where_text_expected_suggests_quoting(tmp_path):
    text = mutate("  version: 1.2.0", "  version: 1.2")
    _, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert problem.location.path == "metadata.version"
    assert "expected a string, got a number 1.2" in problem.message and 'quote it' in problem.message


def test_missing_field_points_at_parent_mapping(tmp_path):
    text = mutate("  title: Minimal test policy\n", "")
    _, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert problem.code == "missing-field"
    assert problem.location.path == "metadata.title"
    assert (problem.location.line, problem.location.column) == (line_of(text, "metadata:"), 1)
    assert "missing required field 'title'" in problem.message


def test_missing_field_in_list_item_points_at_the_item(tmp_path):
    text = mutate("    title: Trust and safety review\n", "")
    _, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert problem.location.path == "queues[ts_review].title"
    assert (problem.location.line, problem.location.column) == (line_of(text, "- id: ts_review"), 5)


def test_bad_enum_dsa_category_typo(tmp_path):
    text = mutate("category: STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "category: STATEMENT_CATEGORY_ILEGAL_HARMFUL_SPEECH")
    _, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert problem.code == "bad-enum"
    assert problem.location.path == "categories[hate].dsa.category"
    assert (problem.location.line, problem.location.column) == (line_of(text, "ILEGAL"), 17)
    assert "Did you mean 'STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH'?" in problem.message
    assert "STATEMENT_CATEGORY_SCAMS_AND_FRAUD" in problem.message  # the allowed list


def test_bad_enum_in_list_item_is_addressed_by_index(tmp_path):
    text = mutate("decision_visibility: [DECISION_VISIBILITY_CONTENT_REMOVED]", "decision_visibility: [DECISION_VISIBILITY_REMOVED]")
    _, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert problem.location.path == "actions[remove].dsa.decision_visibility[0]"
    assert problem.location.line == line_of(text, "DECISION_VISIBILITY_REMOVED")
    assert "Did you mean 'DECISION_VISIBILITY_CONTENT_REMOVED'?" in problem.message


def test_bad_literal_label(tmp_path):
    text = mutate("          label: needs_review\n          action: review",
                  "          label: review\n          action: review")
    _, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert problem.location.path == "categories[hate].tree.outcomes.unsure.label"
    assert "Allowed: violating, allowed, needs_review" in problem.message


def test_bad_semver(tmp_path):
    text = mutate("  version: 1.2.0", "  version: v1.2")
    _, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert problem.code == "bad-semver"
    assert problem.location.path == "metadata.version"
    assert (problem.location.line, problem.location.column) == (line_of(text, "version: v1.2"), 12)
    assert "'v1.2' is not semantic versioning" in problem.message


def test_bad_rule_id(tmp_path):
    text = mutate("      - id: HATE.2", "      - id: hate-2")
    _, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert problem.code == "bad-rule-id"
    assert problem.location.path == "categories[hate].rules[hate-2].id"
    assert (problem.location.line, problem.location.column) == (line_of(text, "id: hate-2"), 13)
    assert "'hate-2' is not a rule id" in problem.message and "HATE.1a" in problem.message


def test_bad_identifier_as_mapping_key(tmp_path):
    text = mutate("        q3:\n", "        3q:\n")
    _, problems = problems_of(text, tmp_path)
    problem = only(problems)
    assert problem.code == "bad-identifier"
    assert problem.location.path == "categories[hate].tree.nodes.3q"
    assert (problem.location.line, problem.location.column) == (line_of(text, "3q:"), 9)
    assert "'3q' is not an identifier" in problem.message


def test_out_of_range_and_several_problems_sorted_by_line(tmp_path):
    text = mutate("thresholds: {auto_action: 0.9, review: 0.6}", "thresholds: {auto_action: high, review: 1.6}")
    text = mutate("  version: 1.2.0", "  version: 1.2.0.0", text)
    error, problems = problems_of(text, tmp_path)
    assert [p.location.path for p in problems] == [
        "metadata.version",
        "categories[hate].thresholds.auto_action",
        "categories[hate].thresholds.review",
    ]
    assert "expected a number, got a string 'high'" in problems[1].message
    assert "1.6 is out of range: must be at most 1.0" in problems[2].message
    assert problems[2].location.column == col_of(text, "review: 1.6") + len("review: ")
    assert "(3 problems)" in error.message


def test_null_section(tmp_path):
    _, problems = problems_of("metadata:\nactions: []\ncategories: []\n", tmp_path)
    by_path = {p.location.path: p for p in problems}
    assert by_path["metadata"].message == "expected a mapping, got null"
    assert "needs at least 1 item" in by_path["actions"].message
