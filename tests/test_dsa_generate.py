"""Statements of reasons generated from decisions on real items under the example policy."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls

from charter.dsa import PlatformConfig, load_platform_config, statement_for, validate_statement
from charter.dsa.export import BATCH_SIZE, batches, build_statements, export_statements
from charter.dsa.generate import InvalidStatement
from charter.errors import CharterError
from charter.policy.spec import DecisionGround, StatementCategory
from dsa_helpers import DECIDED, decide, items, policy

CONFIG = PlatformConfig(puid_prefix="examplenet", decision_ground_reference_url="https://example.org/terms")


def sor(decision, item=None, config=CONFIG, under=None):
    item = item or next(i for i in items() if i.id == decision.item_id)
    return statement_for(decision, item, under or policy(), platform_config=config)


def valid_wire(statement):
    wire = statement.wire()
    assert validate_statement(wire) == []
    return wire


@pytest.mark.parametrize(
    ("action", "category", "rule", "visibility", "account", "dsa_category"),
    [
        ("label", "self_harm", "SELFHARM.3a", ["DECISION_VISIBILITY_CONTENT_LABELLED"], None, "STATEMENT_CATEGORY_SELF_HARM"),
        ("label_ai", "synthetic_media", "SYNTH.1a", ["DECISION_VISIBILITY_CONTENT_LABELLED"], None,
         "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS"),
        ("age_restrict", "adult_sexual", "ADULT.1b", ["DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED"], None,
         "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"),
        ("demote", "hate", "HATE.2a", ["DECISION_VISIBILITY_CONTENT_DEMOTED"], None,
         "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"),
        ("remove", "spam_scams", "SPAM.1b", ["DECISION_VISIBILITY_CONTENT_REMOVED"], None, "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"),
        ("suspend_account", "hate", "HATE.3a", ["DECISION_VISIBILITY_CONTENT_REMOVED"], "DECISION_ACCOUNT_SUSPENDED",
         "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"),
    ],
)
def test_every_restrictive_action_kind(action, category, rule, visibility, account, dsa_category):
    item = items()[3]
    wire = valid_wire(sor(decide(item, action, {category: "violating"}, [rule])))
    assert wire["decision_visibility"] == visibility
    assert wire.get("decision_account") == account
    assert wire["category"] == dsa_category
    assert wire["category_specification"] == policy().category(category).dsa.keywords
    assert wire["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert rule in wire["incompatible_content_ground"]
    assert policy().category(category).rule(rule).title in wire["incompatible_content_ground"]
    assert "charter-example 1.0.0" in wire["incompatible_content_ground"]
    assert wire["decision_ground_reference_url"] == "https://example.org/terms"
    assert wire["application_date"] == "2026-09-02"
    assert wire["source_type"] == "SOURCE_VOLUNTARY" and "source_identity" not in wire


@pytest.mark.parametrize(
    ("action", "labels"),
    [("allow", {"hate": "allowed"}), ("escalate", {"hate": "needs_review"}), ("escalate", {})],
)
def test_no_statement_when_nothing_is_restricted(action, labels):
    assert sor(decide(items()[0], action, labels, escalation_queue="specialist_hate")) is None


def test_unknown_action_and_unexplained_restriction_are_errors():
    with pytest.raises(CharterError, match="action 'ban'.* does not define"):
        sor(decide(items()[0], "ban", {"hate": "violating"}))
    with pytest.raises(CharterError, match="names no violating category and no rule ID"):
        sor(decide(items()[0], "remove", {"hate": "allowed"}))
    with pytest.raises(CharterError, match="no decided_at"):
        sor(decide(items()[0], "remove", {"hate": "violating"}, decided_at=None))


def test_illegal_ground_uses_the_categorys_legal_ground():
    wire = valid_wire(sor(decide(items()[1], "remove", {"violent_threats": "violating"}, ["THREAT.1b"])))
    assert wire["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert wire["illegal_content_legal_ground"].startswith("Threats of violence and public incitement")
    assert "THREAT.1b" in wire["illegal_content_explanation"]
    assert not any(key.startswith("incompatible") for key in wire)


@pytest.mark.parametrize(
    ("pathway", "extra", "detection", "decision"),
    [
        ("rules", {}, "Yes", "AUTOMATED_DECISION_FULLY"),
        ("classifier", {}, "Yes", "AUTOMATED_DECISION_FULLY"),
        ("llm", {}, "Yes", "AUTOMATED_DECISION_FULLY"),
        ("cascade", {}, "Yes", "AUTOMATED_DECISION_FULLY"),
        ("cascade", {"decided_by": "classifier"}, "Yes", "AUTOMATED_DECISION_FULLY"),
        ("cascade", {"decided_by": "human"}, "Yes", "AUTOMATED_DECISION_PARTIALLY"),
        ("human", {"detected_by": "classifier"}, "Yes", "AUTOMATED_DECISION_PARTIALLY"),
        ("human", {"detected_by": "llm"}, "Yes", "AUTOMATED_DECISION_PARTIALLY"),
        ("human", {}, "No", "AUTOMATED_DECISION_NOT_AUTOMATED"),
        ("human", {"detected_by": "human"}, "No", "AUTOMATED_DECISION_NOT_AUTOMATED"),
        ("external", {"decided_by": "llm"}, "Yes", "AUTOMATED_DECISION_FULLY"),
        ("external", {"decided_by": "human", "detected_by": "rules"}, "Yes", "AUTOMATED_DECISION_PARTIALLY"),
    ],
)
def test_automation_follows_who_detected_and_who_decided(pathway, extra, detection, decision):
    wire = valid_wire(sor(decide(items()[2], "remove", {"hate": "violating"}, ["HATE.1a"], pathway, extra=extra)))
    assert (wire["automated_detection"], wire["automated_decision"]) == (detection, decision)
    assert ("a human reviewer" in wire["decision_facts"]) == (extra.get("decided_by", pathway) == "human")
    assert ("It was flagged by " in wire["decision_facts"]) == (decision == "AUTOMATED_DECISION_PARTIALLY")


def test_pathways_that_cannot_say_who_decided_are_errors():
    with pytest.raises(CharterError, match="record who decided"):
        sor(decide(items()[2], "remove", {"hate": "violating"}, pathway="external"))
    with pytest.raises(CharterError, match="gold label"):
        sor(decide(items()[2], "remove", {"hate": "violating"}, pathway="dataset"))


def test_strongest_category_is_primary_and_the_others_are_additional():
    decision = decide(
        items()[4],
        "suspend_account",
        {"hate": "violating", "harassment": "violating", "spam_scams": "allowed"},
        ["HATE.2a", "HARASS.3a"],
    )
    wire = valid_wire(sor(decision))
    assert wire["category"] == "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    assert wire["category_addition"] == ["STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"]
    assert "HARASS.3a" in wire["incompatible_content_ground"] and "HATE.2a" not in wire["incompatible_content_ground"]
    assert "it also violates Hateful conduct" in wire["decision_facts"]


def test_classifier_decision_attributed_by_auto_action_and_policy_order():
    decision = decide(
        items()[5],
        "remove",
        {"hate": "violating", "harassment": "violating", "spam_scams": "violating", "adult_sexual": "needs_review"},
        pathway="classifier",
        scores={"hate": 0.97, "harassment": 0.91, "spam_scams": 0.95},
    )
    wire = valid_wire(sor(decision))
    # hate and spam_scams both auto-remove; hate comes first in the policy, as routing breaks ties.
    assert wire["category"] == "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    assert wire["category_addition"] == ["STATEMENT_CATEGORY_CYBER_VIOLENCE", "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"]
    assert "rules calling for remove: HATE.1a Slurs; HATE.1b Dehumanization" in wire["incompatible_content_ground"]
    assert "no single rule was identified" in wire["incompatible_content_explanation"]


def test_category_addition_is_deduplicated_and_excludes_the_primary():
    changed = policy().model_copy(deep=True)
    changed.category("harassment").dsa.category = StatementCategory.STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH
    changed.category("adult_sexual").dsa.category = StatementCategory.STATEMENT_CATEGORY_SCAMS_AND_FRAUD
    labels = {c: "violating" for c in ("hate", "harassment", "spam_scams", "adult_sexual")}
    wire = valid_wire(sor(decide(items()[5], "remove", labels, ["HATE.1a"], under=changed), under=changed))
    assert wire["category"] == "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    assert wire["category_addition"] == ["STATEMENT_CATEGORY_SCAMS_AND_FRAUD"]


def test_tree_walk_and_outcome_are_explained():
    path = ["hate/targets_group", "hate/author_stance", "hate/supports_violence", "hate/uses_slur"]
    wire = valid_wire(sor(decide(items()[6], "remove", {"hate": "violating"}, ["HATE.1a"], "llm", tree_path=path)))
    assert "Does the author adopt the hateful element? endorses" in wire["decision_facts"]
    assert "Does it use a slur? yes" in wire["decision_facts"]
    assert "[[" not in wire["decision_facts"]
    assert "outcome 'violating_slur'" in wire["incompatible_content_explanation"]
    assert "Rule HATE.1a (Slurs): Do not use a slur to refer to or address people." in wire["incompatible_content_explanation"]


def test_market_rules_attribute_to_their_category():
    item = items()[7].model_copy(update={"market": "DE", "language": "de"})
    wire = valid_wire(sor(decide(item, "remove", {"hate": "violating"}, ["HATE.DE1"]), item))
    assert "HATE.DE1" in wire["incompatible_content_ground"]
    assert wire["territorial_scope"] == ["DE"] and wire["content_language"] == "DE"


PERSONAL = "Reported by @jane_doe99 (jane.doe+mod@mail.example.com, +49 30 1234 5678) linking https://evil.example/p?id=7 and www.spam.example/x"


def test_personal_data_is_redacted_and_the_content_is_described_not_copied():
    item = next(i for i in items() if "http://t.co/" in i.text and "@" in i.text)
    decision = decide(item, "remove", {"hate": "violating"}, ["HATE.1a"], "human",
                      rationale=f"{PERSONAL}. The post says {item.text}")
    wire = valid_wire(sor(decision, item))
    facts = wire["decision_facts"]
    for leaked in ("@jane_doe99", "jane.doe", "mail.example.com", "1234 5678", "evil.example", "www.spam", "http"):
        assert leaked not in facts
    assert "[handle]" in facts and "[email]" in facts and "[phone]" in facts and "[link]" in facts
    assert item.text not in facts and "[quoted content]" in facts
    assert "Its text contains 1 link, 1 handle (not reproduced here)" in facts
    for field in ("incompatible_content_ground", "incompatible_content_explanation"):
        assert "@" not in wire[field] and "http" not in wire[field]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(email=st.emails(), url=urls(), words=st.lists(st.sampled_from(["see", "mail", "to", "now", "."]), max_size=4))
def test_no_generated_email_or_url_survives(email, url, words):
    rationale = " ".join([*words, email, "and", url, *words])
    decision = decide(items()[8], "remove", {"hate": "violating"}, ["HATE.1a"], "llm", rationale=rationale)
    facts = sor(decision).decision_facts
    assert email not in facts
    assert url not in facts
    assert email.split("@")[1] not in facts.split("Recorded rationale")[1]


def test_content_types_from_text_media_and_provenance():
    base = items()[9]
    item = base.model_copy(update={
        "media": ["s3://bucket/a.JPG", "https://cdn.example/v/clip.mp4?sig=1", "voice.mp3", "model.glb"],
        "provenance": {"digital_source_type": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"},
    })
    wire = valid_wire(sor(decide(item, "label_ai", {"synthetic_media": "violating"}, ["SYNTH.1a"]), item))
    assert wire["content_type"] == [
        "CONTENT_TYPE_TEXT", "CONTENT_TYPE_IMAGE", "CONTENT_TYPE_VIDEO", "CONTENT_TYPE_AUDIO",
        "CONTENT_TYPE_OTHER", "CONTENT_TYPE_SYNTHETIC_MEDIA",
    ]
    assert wire["content_type_other"] == "media attachment of unrecognised type (.glb)"
    media_only = base.model_copy(update={"text": " ", "media": ["x.png"], "provenance": {"ai_generated": True}})
    wire = valid_wire(sor(decide(media_only, "label_ai", {"synthetic_media": "violating"}, ["SYNTH.1a"]), media_only))
    assert wire["content_type"] == ["CONTENT_TYPE_IMAGE", "CONTENT_TYPE_SYNTHETIC_MEDIA"]


def test_language_scope_and_dates_from_the_item():
    base = items()[10]
    created = dt.datetime(2026, 8, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    cases = [
        ({"language": "en-GB", "market": "FR", "created_at": created}, "EN", ["FR"], "2026-09-01"),
        ({"language": "pt_BR", "market": "el"}, "PT", ["GR"], "2026-09-02"),
        ({"language": "und", "market": "US"}, None, ["AT", "DE"], "2026-09-02"),
    ]
    config = CONFIG.model_copy(update={"default_territorial_scope": ["DE", "AT"]})
    for update, language, scope, content_date in cases:
        item = base.model_copy(update=update)
        wire = valid_wire(sor(decide(item, "remove", {"hate": "violating"}, ["HATE.1a"]), item, config))
        assert wire.get("content_language") == language
        assert wire["territorial_scope"] == scope
        assert wire["content_date"] == content_date


def test_puids_are_stable_and_unique():
    item = items()[11]
    first = decide(item, "remove", {"hate": "violating"}, ["HATE.1a"])
    assert sor(first).puid == sor(first.model_copy()).puid
    others = [
        decide(item, "demote", {"hate": "violating"}, ["HATE.2a"]),
        decide(item, "remove", {"hate": "violating"}, ["HATE.1a"], "human"),
        decide(item, "remove", {"hate": "violating"}, ["HATE.1a"], decided_at=DECIDED + dt.timedelta(days=1)),
        decide(items()[12], "remove", {"hate": "violating"}, ["HATE.1a"]),
    ]
    puids = {sor(d).puid for d in [first, *others]}
    assert len(puids) == 5
    assert all(p.startswith("examplenet-") for p in puids)
    assert sor(decide(item, "remove", {"hate": "violating"}, decision_id="dec_42")).puid == "examplenet-dec_42"
    odd = sor(decide(item, "remove", {"hate": "violating"}, decision_id="dec/42 x")).puid
    assert validate_statement({"puid": odd}) and "puid" not in {e.field for e in validate_statement({"puid": odd})}
    assert odd == sor(decide(item, "remove", {"hate": "violating"}, decision_id="dec/42 x")).puid != "examplenet-dec/42 x"


def test_account_type_and_notice_source_from_config(tmp_path):
    item = items()[13].model_copy(update={"metadata": {"account_type": "Business"}})
    config_file = tmp_path / "platform.yaml"
    config_file.write_text(
        "puid_prefix: acme\nsource_type: SOURCE_TRUSTED_FLAGGER\nsource_identity: Hotline e.V.\n"
        "decision_ground_reference_url: https://acme.example/terms\n"
    )
    wire = valid_wire(sor(decide(item, "remove", {"hate": "violating"}, ["HATE.1a"]), item, load_platform_config(config_file)))
    assert wire["account_type"] == "ACCOUNT_TYPE_BUSINESS"
    assert (wire["source_type"], wire["source_identity"]) == ("SOURCE_TRUSTED_FLAGGER", "Hotline e.V.")
    assert wire["puid"].startswith("acme-")
    bad = item.model_copy(update={"metadata": {"account_type": "corporate"}})
    with pytest.raises(CharterError, match="not an account type"):
        sor(decide(bad, "remove", {"hate": "violating"}, ["HATE.1a"]), bad)
    config_file.write_text("territory: [DE]\n")
    with pytest.raises(CharterError, match=r"platform.yaml territory: unknown field \(fields: puid_prefix"):
        load_platform_config(config_file)
    config_file.write_text("source_type: SOURCE_VOLUNTARY\nsource_identity: Someone\n")
    with pytest.raises(CharterError, match="needs a notice source_type, not SOURCE_VOLUNTARY"):
        load_platform_config(config_file)


def _mixed_decisions(under=None):
    actions = [("remove", "hate", "HATE.1a"), ("demote", "hate", "HATE.2a"), ("allow", None, None),
               ("suspend_account", "spam_scams", "SPAM.2a"), ("escalate", None, None)]
    decisions = []
    for index, item in enumerate(items()):
        action, category, rule = actions[index % len(actions)]
        labels = {category: "violating"} if category else {}
        decisions.append(decide(item, action, labels, [rule] if rule else [], under=under))
        if index % 2 == 0 and category:
            decisions.append(decide(item, action, labels, [rule], "human", extra={"detected_by": "classifier"}, under=under))
    return decisions


def test_export_batches_of_at_most_100_all_valid():
    decisions = _mixed_decisions()
    export = build_statements(decisions, items(), policy(), CONFIG)
    body = list(batches(export.statements))
    sizes = [len(b["statements"]) for b in body]
    restrictive = sum(d.action not in ("allow", "escalate") for d in decisions)
    assert sum(sizes) == restrictive > BATCH_SIZE
    assert all(1 <= s <= BATCH_SIZE for s in sizes) and sizes[:-1] == [BATCH_SIZE] * (len(sizes) - 1)
    statements = [s for b in body for s in b["statements"]]
    assert all(validate_statement(s) == [] for s in statements)
    assert len({s["puid"] for s in statements}) == len(statements)
    summary = export.summary()
    assert summary["statements"] == restrictive and summary["batches"] == len(body)
    assert summary["without_statement"] == {"allow": 40, "escalate": 40}
    assert set(summary["by_category"]) == {"STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"}
    assert summary["by_decision"]["DECISION_ACCOUNT_SUSPENDED"] == sum(d.action == "suspend_account" for d in decisions)
    assert set(summary["by_automation"]) == {"AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY"}


def test_export_is_all_or_nothing():
    broken = policy().model_copy(deep=True)
    broken.action("demote").dsa = None
    batches = export_statements(_mixed_decisions(broken), items(), broken, CONFIG)
    with pytest.raises(CharterError) as caught:
        next(batches)
    text = str(caught.value)
    assert "nothing was exported" in text
    assert "examplenet-" in text and "decision_visibility: required when none of" in text
    direct = decide(items()[1], "demote", {"hate": "violating"}, ["HATE.2a"], under=broken)
    with pytest.raises(InvalidStatement) as single:
        sor(direct, under=broken)
    assert single.value.puid.startswith("examplenet-")
    assert {e.field for e in single.value.errors} == {"decision_visibility", "decision_monetary", "decision_provision", "decision_account"}


def test_export_refuses_duplicate_puids_missing_items_and_other_policies():
    same = [decide(items()[i], "remove", {"hate": "violating"}, ["HATE.1a"], decision_id="d-1") for i in (0, 1)]
    with pytest.raises(CharterError, match="puid examplenet-d-1 is also the puid of the decision on item"):
        build_statements(same, items(), policy(), CONFIG)
    with pytest.raises(CharterError, match="not in the items file"):
        build_statements(same[:1], items()[1:], policy(), CONFIG)
    other = policy().model_copy(deep=True)
    other.category("hate").rules[0].statement = "Changed wording."
    with pytest.raises(CharterError, match="not the bundle's charter-example"):
        build_statements(same[:1], items(), other, CONFIG)


def test_kinds_of_ground_in_example_policy_are_both_exercised():
    grounds = {c.dsa.ground for c in policy().categories}
    assert grounds == {DecisionGround.DECISION_GROUND_ILLEGAL_CONTENT, DecisionGround.DECISION_GROUND_INCOMPATIBLE_CONTENT}


def test_a_decision_can_record_the_notice_that_triggered_it():
    notice = {"source_type": "SOURCE_ARTICLE_16", "source_identity": "Notifier N. (via form)"}
    wire = valid_wire(sor(decide(items()[14], "remove", {"hate": "violating"}, ["HATE.1a"], "human", extra=notice)))
    assert (wire["source_type"], wire["source_identity"]) == ("SOURCE_ARTICLE_16", "Notifier N. (via form)")
    with pytest.raises(InvalidStatement, match="would be rejected") as caught:
        sor(decide(items()[14], "remove", {"hate": "violating"}, ["HATE.1a"], extra={"source_type": "SOURCE_EMAIL"}))
    assert [e.field for e in caught.value.errors] == ["source_type"]
