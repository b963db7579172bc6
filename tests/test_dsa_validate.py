"""The statement-of-reasons validator: one case per Transparency Database rule (1 July 2025 schema)."""

from __future__ import annotations

import copy

import pytest

from charter.dsa import StatementOfReasons, validate_statement
from charter.dsa import vocab

MINIMAL = {
    "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
    "decision_facts": "The item broke the rule against slurs.",
    "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
    "incompatible_content_ground": "Community policy 1.0.0, rule HATE.1a Slurs",
    "incompatible_content_explanation": "Rule HATE.1a forbids slurs.",
    "content_type": ["CONTENT_TYPE_TEXT"],
    "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "content_date": "2025-07-01",
    "application_date": "2025-07-02",
    "source_type": "SOURCE_VOLUNTARY",
    "automated_detection": "Yes",
    "automated_decision": "AUTOMATED_DECISION_FULLY",
    "puid": "charter-0001",
}
ILLEGAL = {
    **{k: v for k, v in MINIMAL.items() if not k.startswith("incompatible")},
    "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
    "illegal_content_legal_ground": "StGB § 241",
    "illegal_content_explanation": "A threat of a crime against a named person.",
}


def messages(data: dict) -> list[str]:
    return [str(e) for e in validate_statement(data)]


def changed(base: dict = MINIMAL, drop: tuple[str, ...] = (), **values) -> dict:
    data = copy.deepcopy(base)
    for key in drop:
        data.pop(key)
    data.update(values)
    return data


def test_minimal_statements_pass_and_build_the_model():
    assert messages(MINIMAL) == []
    assert messages(ILLEGAL) == []
    assert StatementOfReasons.model_validate(MINIMAL).wire() == MINIMAL


def test_a_full_statement_passes():
    full = changed(
        decision_visibility=["DECISION_VISIBILITY_OTHER", "DECISION_VISIBILITY_CONTENT_LABELLED"],
        decision_visibility_other="Comments turned off",
        decision_monetary="DECISION_MONETARY_OTHER",
        decision_monetary_other="Tips paused",
        decision_provision="DECISION_PROVISION_PARTIAL_SUSPENSION",
        decision_account="DECISION_ACCOUNT_SUSPENDED",
        account_type="ACCOUNT_TYPE_PRIVATE",
        decision_ground_reference_url="https://example.org/terms",
        incompatible_content_illegal="No",
        content_type=["CONTENT_TYPE_OTHER", "CONTENT_TYPE_SYNTHETIC_MEDIA"],
        content_type_other="3D model",
        category_addition=["STATEMENT_CATEGORY_CYBER_VIOLENCE"],
        category_specification=["KEYWORD_HATE_SPEECH", "KEYWORD_STALKING", "KEYWORD_OTHER"],
        category_specification_other="Coded slur",
        territorial_scope=["DE", "GR", "NO"],
        content_language="DE",
        end_date_visibility_restriction="2038-01-01",
        end_date_account_restriction="2030-01-01",
        end_date_monetary_restriction="2030-01-01",
        end_date_service_restriction="2030-01-01",
        source_type="SOURCE_TRUSTED_FLAGGER",
        source_identity="Flagger e.V.",
        content_id={"EAN-13": "0123456789123"},
    )
    assert messages(full) == []
    assert StatementOfReasons.model_validate(full).wire() == full


@pytest.mark.parametrize(
    "field", ["decision_facts", "decision_ground", "content_type", "category", "content_date",
              "application_date", "source_type", "automated_detection", "automated_decision", "puid"],
)
def test_required_fields(field):
    assert f"{field}: required" in messages(changed(drop=(field,)))
    assert f"{field}: required" in messages(changed(**{field: None}))


def test_one_decision_field_is_required():
    found = messages(changed(drop=("decision_visibility",)))
    for field in ("decision_visibility", "decision_monetary", "decision_provision", "decision_account"):
        assert any(m.startswith(f"{field}: required when none of") for m in found), field
    for field, value in (
        ("decision_account", "DECISION_ACCOUNT_TERMINATED"),
        ("decision_provision", "DECISION_PROVISION_TOTAL_TERMINATION"),
        ("decision_monetary", "DECISION_MONETARY_SUSPENSION"),
    ):
        assert messages(changed(drop=("decision_visibility",), **{field: value})) == []
    assert any("required when none" in m for m in messages(changed(decision_visibility=[])))


@pytest.mark.parametrize(
    ("field", "limit"),
    [("decision_facts", 5000), ("incompatible_content_ground", 500), ("incompatible_content_explanation", 2000),
     ("puid", 500)],
)
def test_maximum_lengths(field, limit):
    assert messages(changed(**{field: "a" * limit})) == []
    assert f"{field}: is {limit + 1} characters long; the maximum is {limit}" in messages(
        changed(**{field: "a" * (limit + 1)})
    )


def test_illegal_fields_maximum_lengths():
    found = messages(changed(ILLEGAL, illegal_content_legal_ground="x" * 501, illegal_content_explanation="y" * 2001))
    assert "illegal_content_legal_ground: is 501 characters long; the maximum is 500" in found
    assert "illegal_content_explanation: is 2001 characters long; the maximum is 2000" in found


def test_the_sixteen_v2_categories_are_accepted():
    assert len(vocab.CATEGORY) == 16
    for category in vocab.CATEGORY:
        assert messages(changed(category=category, category_addition=[category])) == []


@pytest.mark.parametrize("removed", sorted(vocab.REMOVED_CATEGORIES))
def test_v1_categories_are_rejected_as_removed(removed):
    found = messages(changed(category=removed, category_addition=[removed]))
    assert any(m.startswith(f"category: {removed} was removed in the 1 July 2025 schema") for m in found)
    assert any(m.startswith(f"category_addition.0: {removed} was removed in the 1 July 2025 schema") for m in found)


def test_renamed_category_names_its_replacement():
    found = messages(changed(category="STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS"))
    assert found == [
        "category: STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS was removed in the 1 July 2025 schema; "
        "use STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS"
    ]


def test_unknown_enumeration_values_are_rejected():
    found = messages(changed(category="Illegal or harmful speech", decision_ground="INCOMPATIBLE"))
    assert any(m.startswith("category: 'Illegal or harmful speech' is not an accepted value") for m in found)
    assert any(m.startswith("decision_ground: 'INCOMPATIBLE' is not an accepted value") for m in found)
    assert any(
        m.startswith("decision_visibility.0: 'DECISION_VISIBILITY_REMOVED' is not an accepted value; did you mean")
        for m in messages(changed(decision_visibility=["DECISION_VISIBILITY_REMOVED"]))
    )
    assert "decision_visibility: must be an array, got str" in messages(
        changed(decision_visibility="DECISION_VISIBILITY_CONTENT_REMOVED")
    )
    for field in ("decision_monetary", "decision_provision", "decision_account", "account_type",
                  "source_type", "automated_decision"):
        assert any(m.startswith(f"{field}: 'NOPE' is not an accepted value") for m in messages(changed(**{field: "NOPE"})))
    assert any(m.startswith("content_type.0: 'CONTENT_TYPE_PHOTO'") for m in messages(changed(content_type=["CONTENT_TYPE_PHOTO"])))


def test_yes_no_fields_take_the_literal_strings():
    assert 'automated_detection: True must be the string "Yes" or "No"' in messages(changed(automated_detection=True))
    assert "automated_detection: 'yes' must be the string \"Yes\" or \"No\"" in messages(changed(automated_detection="yes"))
    assert messages(changed(automated_detection="No")) == []


def test_decision_visibility_other_iff_other():
    assert messages(changed(decision_visibility=["DECISION_VISIBILITY_OTHER"])) == [
        "decision_visibility_other: required because decision_visibility contains DECISION_VISIBILITY_OTHER"
    ]
    assert messages(changed(decision_visibility_other="comments off")) == [
        "decision_visibility_other: only allowed when decision_visibility contains DECISION_VISIBILITY_OTHER"
    ]


def test_decision_monetary_other_iff_other():
    assert messages(changed(decision_monetary="DECISION_MONETARY_OTHER")) == [
        "decision_monetary_other: required because decision_monetary is DECISION_MONETARY_OTHER"
    ]
    assert messages(changed(decision_monetary="DECISION_MONETARY_TERMINATION", decision_monetary_other="x")) == [
        "decision_monetary_other: only allowed when decision_monetary is DECISION_MONETARY_OTHER"
    ]


def test_illegal_ground_fields_iff_illegal():
    found = messages(changed(ILLEGAL, drop=("illegal_content_legal_ground", "illegal_content_explanation")))
    assert found == [
        "illegal_content_legal_ground: required because decision_ground is DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_explanation: required because decision_ground is DECISION_GROUND_ILLEGAL_CONTENT",
    ]
    assert messages(changed(illegal_content_legal_ground="StGB")) == [
        "illegal_content_legal_ground: only allowed when decision_ground is DECISION_GROUND_ILLEGAL_CONTENT"
    ]


def test_incompatible_ground_fields_iff_incompatible():
    found = messages(changed(drop=("incompatible_content_ground", "incompatible_content_explanation")))
    assert found == [
        "incompatible_content_ground: required because decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_explanation: required because decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT",
    ]
    assert messages(changed(ILLEGAL, incompatible_content_ground="ToS 3.1")) == [
        "incompatible_content_ground: only allowed when decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT"
    ]


def test_incompatible_content_illegal_only_with_incompatible_ground():
    assert messages(changed(incompatible_content_illegal="Yes")) == []
    assert messages(changed(ILLEGAL, incompatible_content_illegal="Yes")) == [
        "incompatible_content_illegal: only allowed when decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT"
    ]


def test_content_type_other_iff_other():
    assert messages(changed(content_type=["CONTENT_TYPE_OTHER"])) == [
        "content_type_other: required because content_type contains CONTENT_TYPE_OTHER"
    ]
    assert messages(changed(content_type_other="hologram")) == [
        "content_type_other: only allowed when content_type contains CONTENT_TYPE_OTHER"
    ]


def test_source_identity_is_not_for_voluntary_statements():
    assert messages(changed(source_identity="Someone")) == [
        "source_identity: not allowed with SOURCE_VOLUNTARY (there is no notifier; the database drops it)"
    ]
    assert messages(changed(source_type="SOURCE_ARTICLE_16", source_identity="Someone")) == []


def test_territorial_scope_codes():
    assert messages(changed(territorial_scope=list(vocab.EEA_COUNTRIES))) == []
    assert messages(changed(territorial_scope=["EL"])) == [
        "territorial_scope.0: 'EL' is not accepted; the database writes this country as GR"
    ]
    assert messages(changed(territorial_scope=["DE", "GB"])) == [
        "territorial_scope.1: 'GB' is not an EU/EEA ISO 3166-1 alpha-2 code"
    ]


def test_content_language_uppercase_iso_639_1():
    assert messages(changed(content_language="EN")) == []
    assert messages(changed(content_language="en")) == ["content_language: 'en' must be uppercase (EN)"]
    assert messages(changed(content_language="ENG")) == ["content_language: 'ENG' is not an ISO 639-1 language code"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("content_date", "1999-12-31", "content_date: 1999-12-31 is before 2000-01-01; it must be between 2000-01-01 and 2038-01-01"),
        ("content_date", "2038-01-02", "content_date: 2038-01-02 is after 2038-01-01; it must be between 2000-01-01 and 2038-01-01"),
        ("application_date", "2019-12-31", "application_date: 2019-12-31 is before 2020-01-01; it must be between 2020-01-01 and 2038-01-01"),
        ("end_date_account_restriction", "2038-01-02", "end_date_account_restriction: 2038-01-02 is after 2038-01-01; it must be on or before 2038-01-01"),
        ("end_date_visibility_restriction", "2040-05-05", "end_date_visibility_restriction: 2040-05-05 is after 2038-01-01; it must be on or before 2038-01-01"),
        ("content_date", "01/07/2025", "content_date: '01/07/2025' is not a date in Y-m-d form (e.g. 2025-07-01)"),
        ("application_date", "2025-02-30", "application_date: '2025-02-30' is not a real calendar date"),
    ],
)
def test_dates(field, value, message):
    assert messages(changed(**{field: value})) == [message]


def test_date_bounds_are_inclusive_and_blank_end_dates_mean_indefinite():
    assert messages(changed(content_date="2000-01-01", application_date="2020-01-01")) == []
    assert messages(changed(content_date="2038-01-01", application_date="2038-01-01")) == []
    assert messages(changed(end_date_service_restriction="")) == []


def test_puid_alphabet_and_length():
    assert messages(changed(puid="a-Z_09")) == []
    assert messages(changed(puid="item/42")) == ["puid: 'item/42' may contain only letters, digits, '-' and '_'"]
    assert messages(changed(puid="x" * 501)) == ["puid: is 501 characters long; the maximum is 500"]


def test_keywords_from_the_accepted_list():
    assert messages(changed(category_specification=["KEYWORD_STALKING", "KEYWORD_CYBER_STALKING"])) == []
    assert messages(changed(category_specification=["KEYWORD_DANGEROUS_TOYS"])) == [
        "category_specification.0: KEYWORD_DANGEROUS_TOYS was removed in the 1 July 2025 schema and has no direct replacement"
    ]
    assert messages(changed(category_specification=["KEYWORD_HATE_SPEECH", "KEYWORD_DISINFORMATION"])) == [
        "category_specification.1: KEYWORD_DISINFORMATION was removed in the 1 July 2025 schema; "
        "use KEYWORD_MISINFORMATION_DISINFORMATION"
    ]
    assert any(
        m.startswith("category_specification.0: 'KEYWORD_MADE_UP' is not an accepted value")
        for m in messages(changed(category_specification=["KEYWORD_MADE_UP"]))
    )


def test_content_id_only_ean_13():
    assert messages(changed(content_id={"EAN-13": "0123456789123"})) == []
    assert messages(changed(content_id={"EAN-13": "12345"})) == ["content_id.EAN-13: '12345' must be a string of exactly 13 digits"]
    assert messages(changed(content_id={"ISBN": "0123456789123"})) == [
        'content_id.ISBN: unknown identifier; the only accepted key is "EAN-13"'
    ]
    assert messages(changed(content_id="0123456789123")) == [
        'content_id: must be an object such as {"EAN-13": "0123456789123"}'
    ]


def test_reference_url_and_unknown_fields():
    assert messages(changed(decision_ground_reference_url="example.org/terms")) == [
        "decision_ground_reference_url: 'example.org/terms' is not a valid http(s) URL"
    ]
    assert messages(changed(decision_visiblity=["DECISION_VISIBILITY_CONTENT_REMOVED"])) == [
        "decision_visiblity: not a statement-of-reasons field; did you mean decision_visibility?"
    ]
    assert messages(["not", "an", "object"]) == ["statement: must be a JSON object, got list"]
