"""The rules pathway: term lists, regexes and digests matched on normalized text, what a hit
decides (or only signals), market matchers, human-only rules, and the trie-shaped term
pattern finding exactly what a plain per-term search finds."""

from __future__ import annotations

import copy
import re
from functools import cache

import pytest

from cascade_helpers import example_bundle
from charter.engines.rules import RulesEngine, _trie_pattern, exact_digest
from charter.policy.spec import Policy
from charter.records import ContentItem


@cache
def engine() -> RulesEngine:
    return RulesEngine(example_bundle())


def decide(*texts: str, market: str | None = None):
    return engine().decide([ContentItem(id=f"i{n}", text=t, market=market) for n, t in enumerate(texts)])


def hits(decision) -> list[str]:
    return [h["matcher"] for h in decision.extra.get("rules", {}).get("hits", [])]


def test_terms_match_whole_words_case_and_spacing_insensitively() -> None:
    matched, spaced, plural, inside = decide(
        "DOUBLE YOUR BITCOIN in 24h", "double   your\nbitcoin", "double your bitcoins", "xdouble your bitcoin"
    )
    assert hits(matched) == hits(spaced) == ["crypto_doubling"]
    assert matched.labels == {"spam_scams": "violating"} and matched.action == "suspend_account"
    assert matched.rule_ids == ["SPAM.2b"] and matched.pathway == "rules"
    assert hits(plural) == hits(inside) == [] and plural.action == "allow" and plural.labels == {}


def test_evasions_are_undone_before_matching_and_recorded() -> None:
    leet, homoglyph, zero_width = decide("d0ubl3 y0ur b1tc01n", "double your bіtcoin", "double your bit\u200bcoin")
    for decision in (leet, homoglyph, zero_width):
        assert hits(decision) == ["crypto_doubling"], decision.extra
    assert leet.extra["evasion"] == ["leet"]
    assert homoglyph.extra["evasion"] == ["homoglyph"]
    assert zero_width.extra["evasion"] == ["zero_width"]


def test_regex_hits_carry_their_evidence() -> None:
    (decision,) = decide("WINNER!! You have been selected to receive a £900 prize. Call 09061701461 now")
    (hit,) = decision.extra["rules"]["hits"]
    assert hit["matcher"] == "premium_rate_prize" and hit["kind"] == "regex"
    assert hit["evidence"].lower().startswith("winner") and hit["evidence"].endswith("09061701461")
    assert decision.action == "remove"  # the category's auto_action: the matcher names none


def test_exact_digests_match_the_normalized_case_folded_text() -> None:
    known = "Hi mum, I dropped my phone in the toilet, this is my new number. Can you send 480 to this account today? I will pay you back tomorrow."
    variant = "HI MUM,  i dropped my phone in the toilet, this is my new number.\nCan you send 480 to this account today? I will pay you back tomorrow."
    assert exact_digest(known) == exact_digest(variant)
    exact, edited = decide(variant, known.replace("480", "490"))
    assert hits(exact) == ["known_scam_messages"] and exact.rule_ids == ["SPAM.2a", "SPAM.2b"]
    assert hits(edited) == []


def test_signals_are_recorded_but_decide_nothing() -> None:
    (decision,) = decide("new thinspo board is up")
    assert hits(decision) == ["pro_ed_tags"]
    (hit,) = decision.extra["rules"]["hits"]
    assert hit["acts_alone"] is False and hit["verdict"] == "violating"
    assert decision.labels == {} and decision.action == "allow" and decision.rule_ids == []


def test_crisis_phrases_escalate_and_never_restrict() -> None:
    (decision,) = decide("I have the pills. This is my goodbye")
    assert decision.labels == {"self_harm": "needs_review"}
    assert (decision.action, decision.escalation_queue) == ("escalate", "urgent_safety")
    assert set(hits(decision)) == {"crisis_statements"}


def test_an_action_outranks_review_and_labels_keep_both() -> None:
    (decision,) = decide("double your bitcoin or I will kill you")
    assert decision.labels == {"violent_threats": "needs_review", "spam_scams": "violating"}
    assert (decision.action, decision.escalation_queue) == ("suspend_account", None)


def test_market_matchers_apply_only_in_their_market() -> None:
    (germany,) = decide("the holohoax again", market="DE")
    (elsewhere,) = decide("the holohoax again", market="FR")
    assert hits(germany) == ["de_holocaust_denial"] and germany.escalation_queue == "specialist_hate"
    (hit,) = germany.extra["rules"]["hits"]
    assert hit["market"] == "DE" and hit["rule_ids"] == ["HATE.DE1"]
    assert hits(elsewhere) == [] and elsewhere.action == "allow"


def _with_matcher(category_id: str, matcher: dict) -> Policy:
    data = copy.deepcopy(example_bundle().policy.model_dump(mode="json"))
    category = next(c for c in data["categories"] if c["id"] == category_id)
    category["matchers"].append(matcher)
    return Policy.model_validate(data)


def test_a_violating_hit_under_a_human_only_rule_goes_to_review() -> None:
    policy = _with_matcher("violent_threats", {
        "id": "named_weapon_threat", "kind": "terms", "values": ["bringing my rifle tomorrow"],
        "rule_ids": ["THREAT.1a"], "verdict": "violating", "acts_alone": True,
    })  # fmt: skip
    (decision,) = RulesEngine(policy).decide([ContentItem(id="a", text="I'm bringing my rifle tomorrow, see you all")])
    assert decision.labels == {"violent_threats": "needs_review"}
    assert (decision.action, decision.escalation_queue) == ("escalate", "urgent_safety")
    assert "only a human may enforce" in decision.rationale and decision.rule_ids == []


def test_a_term_inside_a_longer_term_of_another_matcher_is_found_too() -> None:
    policy = _with_matcher("spam_scams", {
        "id": "doubling_plus", "kind": "terms", "values": ["double your bitcoin today"],
        "rule_ids": ["SPAM.2b"], "verdict": "violating",
    })  # fmt: skip
    (decision,) = RulesEngine(policy).decide([ContentItem(id="a", text="double your bitcoin today!")])
    assert set(hits(decision)) == {"doubling_plus", "crypto_doubling"}


def test_the_engine_is_stamped_with_the_bundle_and_describes_its_matchers() -> None:
    info = engine().describe()
    assert info["pathway"] == "rules" and info["policy"]["hash"] == example_bundle().identity.hash
    assert info["matchers"]["exact"] == 4 and info["markets"] == ["DE"]
    assert engine().decide([]) == []


TERMS = ["kill myself", "kill", "end my life", "end it all", "double your btc", "btc", "i'm done", "café crème"]
TEXTS = [
    "I want to kill myself", "skill myself up", "end my life tonight", "to end it all", "double your btc now btc",
    "KILL", "I'm done here", "un café crème, s'il vous plaît", "café", "kill myselfish", "nothing here",
]


@cache
def one_matcher_per_term() -> RulesEngine:
    data = copy.deepcopy(example_bundle().policy.model_dump(mode="json"))
    spam = next(c for c in data["categories"] if c["id"] == "spam_scams")
    spam["matchers"] = [
        {"id": f"t{n}", "kind": "terms", "values": [term], "rule_ids": ["SPAM.1b"], "verdict": "violating"}
        for n, term in enumerate(TERMS)
    ]
    return RulesEngine(Policy.model_validate(data))


@pytest.mark.parametrize("text", TEXTS)
def test_the_trie_shaped_scan_finds_what_a_plain_search_finds(text: str) -> None:
    plain = {t for t in TERMS if re.search(r"(?<!\w)" + re.escape(t).replace(r"\ ", r"\s+") + r"(?!\w)", text, re.IGNORECASE)}
    (decision,) = one_matcher_per_term().decide([ContentItem(id="a", text=text)])
    assert {TERMS[int(m[1:])] for m in hits(decision) if m.startswith("t")} == plain


def test_the_term_pattern_is_one_trie() -> None:
    pattern = _trie_pattern(sorted(["kill", "kill myself", "killer"]))
    assert pattern == r"kill(?:\s+myself|er)?"
