"""LLMEngine logic with scripted replies: valid verdicts, repair then escalation, malformed and
empty replies, backend failures, self-consistency votes, tree walks, caching and the contract."""

from __future__ import annotations

import math

import pytest

from charter.engines.contract import check_engine
from charter.engines.llm import BackendError, CachedBackend, Completion, CompletionCache, LLMEngine, ReplayBackend, TokenLogprob
from charter.engines.llm.injection import injection_items, injection_resistance
from charter.errors import CharterError
from llm_helpers import answer, category_of, items, minimal_bundle, node_of, verdict

SCAM = verdict("violating", ["s1"], "scam", ["SPAM.1"], 0.8)
NOT_SCAM = verdict("allowed", ["s1"], "ok", [], 0.9)


def spam_engine(script, **options) -> tuple[LLMEngine, ReplayBackend]:
    backend = ReplayBackend(script)
    return LLMEngine(backend, minimal_bundle(), categories=["spam_scams"], **options), backend


def category_detail(decision, category="spam_scams") -> dict:
    return decision.extra["llm"]["categories"][category]


def test_valid_verdict_becomes_a_decision() -> None:
    engine, backend = spam_engine([SCAM])
    [d] = engine.decide(items("Send 100 EUR, get 10000 back."))
    assert d.labels == {"spam_scams": "violating"}
    assert d.action == "remove" and d.rule_ids == ["SPAM.1"]
    assert d.tree_path == ["spam_scams/s1"]
    assert d.scores["spam_scams"] == pytest.approx(0.8)
    assert (d.tokens_in, d.tokens_out, d.cost_usd) == (10, 5, 0.0)
    assert d.model_version == "replay-model" and d.pathway == "llm"
    assert d.policy_hash == minimal_bundle().identity.hash
    assert d.escalation_queue is None
    # the item is delimited as data in the user message
    user = backend.calls[0][0][1]["content"]
    assert "<<<CONTENT id=item0" in user and "Send 100 EUR" in user


def test_allowed_score_is_one_minus_confidence_and_cost_uses_prices() -> None:
    engine, _ = spam_engine([NOT_SCAM], price_in_per_1k=2.0, price_out_per_1k=4.0)
    [d] = engine.decide(items("Happy birthday!"))
    assert d.labels == {"spam_scams": "allowed"} and d.action == "allow"
    assert d.scores["spam_scams"] == pytest.approx(0.1)
    assert d.cost_usd == pytest.approx(10 / 1000 * 2.0 + 5 / 1000 * 4.0)


def test_invalid_tree_path_is_repaired_once_then_escalated() -> None:
    bad = verdict("violating", ["q1", "q3"], "slur", ["HATE.2"])  # q1 never leads to q3
    backend = ReplayBackend([bad, bad, SCAM])
    engine = LLMEngine(backend, minimal_bundle(), categories=["hate"])
    [d] = engine.decide(items("x"))
    assert len(backend.calls) == 2  # one try, one repair, no third call
    repair = backend.calls[1][0]
    assert repair[-2] == {"role": "assistant", "content": bad}
    assert "tree_path goes from 'q1' to 'q3'" in repair[-1]["content"]
    assert d.labels == {"hate": "needs_review"}
    assert d.action == "review" and d.escalation_queue == "ts_review"
    detail = category_detail(d, "hate")
    assert detail["escalated"] and "invalid reply after one repair attempt" in detail["reason"]
    assert detail["raw"] == [bad, bad]
    assert "hate" not in d.scores and d.tokens_in == 20


def test_path_must_start_at_the_root_and_end_where_the_outcome_follows() -> None:
    for bad, reason in [
        (verdict("violating", ["q2"], "dehumanising", ["HATE.1"]), "must start at the root node 'q1'"),
        (verdict("violating", ["q1", "q2"], "slur", ["HATE.2"]), "does not follow from the last node 'q2'"),
        (verdict("needs_review", ["q1"], None, ["HATE.1"]), "outcome null"),
    ]:
        engine = LLMEngine(ReplayBackend([bad, bad]), minimal_bundle(), categories=["hate"])
        [d] = engine.decide(items("x"))
        assert reason in category_detail(d, "hate")["reason"]


def test_a_repaired_reply_is_accepted() -> None:
    engine, backend = spam_engine(["not json at all", SCAM])
    [d] = engine.decide(items("x"))
    assert len(backend.calls) == 2 and d.labels == {"spam_scams": "violating"}
    assert "no JSON object" in backend.calls[1][0][-1]["content"]


@pytest.mark.parametrize(
    "reply, reason",
    [
        ("I think this is fine.", "no JSON object"),
        ("", "empty"),
        ('{"label": "maybe", "rule_ids": [], "tree_path": ["s1"], "outcome": "ok", "confidence": 0.5, "rationale": ""}', "output schema"),
        (verdict("allowed", ["s1"], "scam", []), "outcome 'scam' has label 'violating'"),
        (verdict("violating", ["s1"], "scam", []), "applies rule_ids [SPAM.1]"),
        ('{"label": "violating"', "not valid JSON"),
    ],
)
def test_malformed_replies_escalate_never_allow(reply: str, reason: str) -> None:
    engine, _ = spam_engine([reply, reply])
    [d] = engine.decide(items("x"))
    assert d.labels == {"spam_scams": "needs_review"} and d.action == "review"
    assert reason in category_detail(d)["reason"]


def test_backend_timeout_escalates_without_a_repair_call() -> None:
    engine, backend = spam_engine([BackendError("ReadTimeout: timed out after 60 s")])
    [d] = engine.decide(items("x"))
    assert len(backend.calls) == 1
    assert d.action == "review" and d.escalation_queue == "ts_review"
    assert "backend error: ReadTimeout" in category_detail(d)["reason"]


def test_low_confidence_goes_to_review() -> None:
    engine, _ = spam_engine([verdict("violating", ["s1"], "scam", ["SPAM.1"], 0.3)])
    [d] = engine.decide(items("x"))
    assert d.labels == {"spam_scams": "needs_review"} and d.action == "review"
    assert category_detail(d)["model_label"] == "violating"
    assert d.scores["spam_scams"] == pytest.approx(0.3)


def test_review_stop_uses_the_outcome_queue_and_null_outcome_is_valid() -> None:
    backend = ReplayBackend(lambda m, o: verdict("needs_review", ["q1", "q2", "q3"], "unsure", [], 0.9)
                            if category_of(m) == "hate" else NOT_SCAM)
    [d] = LLMEngine(backend, minimal_bundle()).decide(items("an ambiguous joke"))
    assert d.labels == {"hate": "needs_review", "spam_scams": "allowed"}
    assert d.action == "review" and d.escalation_queue == "ts_review"
    assert d.tree_path == ["hate/q1", "hate/q2", "hate/q3", "spam_scams/s1"]
    stopped = ReplayBackend([verdict("needs_review", ["s1"], None, [], 0.9)])
    [d] = LLMEngine(stopped, minimal_bundle(), categories=["spam_scams"]).decide(items("x"))
    assert d.labels == {"spam_scams": "needs_review"} and category_detail(d)["outcome"] is None


def test_item_action_is_the_strongest_across_categories() -> None:
    def script(messages, options):
        if category_of(messages) == "hate":
            return verdict("violating", ["q1", "q2", "q3"], "slur", ["HATE.2"])  # demote
        return SCAM  # remove

    [d] = LLMEngine(ReplayBackend(script), minimal_bundle()).decide(items("x"))
    assert d.labels == {"hate": "violating", "spam_scams": "violating"}
    assert d.action == "remove" and d.rule_ids == ["HATE.2", "SPAM.1"]


def test_violation_outranks_a_review_in_another_category() -> None:
    def script(messages, options):
        return verdict("needs_review", ["q1", "q2", "q3"], "unsure", []) if category_of(messages) == "hate" else SCAM

    [d] = LLMEngine(ReplayBackend(script), minimal_bundle()).decide(items("x"))
    assert d.action == "remove" and d.escalation_queue is None
    assert d.labels["hate"] == "needs_review"


def test_market_rules_count_only_in_their_market() -> None:
    denial = verdict("violating", ["q1"], "allowed", ["HATE.DE1"])
    engine = LLMEngine(ReplayBackend(lambda m, o: denial), minimal_bundle(), categories=["hate"])
    [de] = engine.decide(items("denial text", market="de"))
    assert de.labels == {"hate": "violating"} and de.action == "remove" and de.rule_ids == ["HATE.DE1"]
    [elsewhere] = engine.decide(items("denial text", market="fr"))
    assert elsewhere.labels == {"hate": "needs_review"}
    assert "outcome 'allowed' has label 'allowed'" in category_detail(elsewhere, "hate")["reason"]


def test_logprobs_give_the_score_when_available() -> None:
    tokens = [TokenLogprob('{"label": "', -0.01), TokenLogprob("viol", math.log(0.7)), TokenLogprob(SCAM[len('{"label": "viol'):], -0.01)]
    text = "".join(t.token for t in tokens)
    assert text.startswith('{"label": "violating"')
    engine, backend = spam_engine([Completion(text=text, tokens_in=3, tokens_out=2, logprobs=tokens)], logprobs=True)
    [d] = engine.decide(items("x"))
    assert d.scores["spam_scams"] == pytest.approx(0.7)
    assert backend.calls[0][1]["logprobs"] is True


def test_self_consistency_majority_vote() -> None:
    def script(messages, options):
        return SCAM if options["seed"] in (0, 1) else NOT_SCAM

    engine, backend = spam_engine(script, samples=3)
    [d] = engine.decide(items("x"))
    assert d.labels == {"spam_scams": "violating"}
    assert d.scores["spam_scams"] == pytest.approx(2 / 3)
    detail = category_detail(d)
    assert detail["votes"] == {"allowed": 1, "violating": 2}
    assert sorted(o["seed"] for _, o in backend.calls) == [0, 1, 2]
    assert all(o["temperature"] > 0 for _, o in backend.calls)
    assert d.tokens_in == 30 and engine.name == "llm-single-sc3"


def test_self_consistency_tie_never_resolves_to_allowed() -> None:
    engine, _ = spam_engine(lambda m, o: SCAM if o["seed"] == 0 else NOT_SCAM, samples=2, review_below=0.5)
    [d] = engine.decide(items("x"))
    assert d.labels == {"spam_scams": "violating"} and d.scores["spam_scams"] == pytest.approx(0.5)


def test_self_consistency_with_only_invalid_samples_escalates() -> None:
    engine, _ = spam_engine(lambda m, o: "nope", samples=3)
    [d] = engine.decide(items("x"))
    assert d.labels == {"spam_scams": "needs_review"}
    assert "no valid sample out of 3" in category_detail(d)["reason"]


def test_tree_walk_follows_answers_and_sums_tokens() -> None:
    answers = {"q1": answer("yes", 0.9), "q2": answer("no", 0.8), "q3": answer("slur", 0.7)}
    backend = ReplayBackend(lambda m, o: answers[node_of(m)])
    engine = LLMEngine(backend, minimal_bundle(), mode="tree", categories=["hate"])
    [d] = engine.decide(items("x"))
    assert d.tree_path == ["hate/q1", "hate/q2", "hate/q3"]
    assert d.labels == {"hate": "violating"} and d.action == "demote" and d.rule_ids == ["HATE.2"]
    assert (d.tokens_in, d.tokens_out) == (30, 15)
    steps = category_detail(d, "hate")["steps"]
    assert [(s["node"], s["answer"], s["confidence"]) for s in steps] == [("q1", "yes", 0.9), ("q2", "no", 0.8), ("q3", "slur", 0.7)]
    assert d.scores["hate"] == pytest.approx(0.7)  # the weakest step
    assert [o["json_schema"]["name"] for _, o in backend.calls] == ["step_hate_q1", "step_hate_q2", "step_hate_q3"]


def test_tree_walk_bad_answer_is_repaired_then_escalated_with_the_partial_path() -> None:
    replies = {"q1": answer("yes"), "q2": answer("perhaps")}
    backend = ReplayBackend(lambda m, o: replies[node_of(m)])
    [d] = LLMEngine(backend, minimal_bundle(), mode="tree", categories=["hate"]).decide(items("x"))
    assert d.labels == {"hate": "needs_review"} and d.action == "review"
    detail = category_detail(d, "hate")
    assert detail["reason"].startswith("at node 'q2'") and detail["tree_path"] == ["q1"]
    assert d.tree_path == ["hate/q1"] and len(backend.calls) == 3


def test_cache_hits_are_free_and_errors_are_not_cached(tmp_path) -> None:
    replay = ReplayBackend([BackendError("connection refused"), SCAM])
    cache = CompletionCache(tmp_path / "llm.sqlite")
    engine = LLMEngine(CachedBackend(replay, cache), minimal_bundle(), categories=["spam_scams"], price_in_per_1k=1.0)
    [failed] = engine.decide(items("x"))
    assert failed.labels == {"spam_scams": "needs_review"} and len(cache) == 0
    [first] = engine.decide(items("x"))
    assert first.tokens_in == 10 and first.cost_usd > 0 and len(cache) == 1
    reopened = LLMEngine(CachedBackend(replay, CompletionCache(tmp_path / "llm.sqlite")), minimal_bundle(), categories=["spam_scams"], price_in_per_1k=1.0)
    [again] = reopened.decide(items("x"))
    assert len(replay.calls) == 2  # the hit made no call
    assert again.labels == first.labels and again.scores == first.scores
    assert (again.tokens_in, again.tokens_out, again.cost_usd) == (0, 0, 0.0)
    assert again.extra["llm"]["cached_tokens_in"] == 10


def test_cache_key_changes_with_the_prompt(tmp_path) -> None:
    replay = ReplayBackend(lambda m, o: SCAM)
    engine = LLMEngine(CachedBackend(replay, CompletionCache(tmp_path / "c.sqlite")), minimal_bundle(), categories=["spam_scams"])
    engine.decide(items("one", "two"))
    engine.decide(items("one", "two"))
    assert len(replay.calls) == 2


def test_engine_obeys_the_contract() -> None:
    def script(messages, options):
        if category_of(messages) == "hate":
            return verdict("allowed", ["q1"], "allowed", [], 0.8)
        return SCAM if "EUR" in messages[1]["content"] else NOT_SCAM

    engine = LLMEngine(ReplayBackend(script), minimal_bundle(), concurrency=3)
    check_engine(engine, items("Send 100 EUR now", "Happy birthday", "hello"), minimal_bundle().policy)
    tree = LLMEngine(ReplayBackend(lambda m, o: answer("no")), minimal_bundle(), mode="tree")
    check_engine(tree, items("a", "b"), minimal_bundle().policy)


def test_bad_engine_options_are_user_errors() -> None:
    backend = ReplayBackend([])
    with pytest.raises(CharterError, match="unknown categories nope"):
        LLMEngine(backend, minimal_bundle(), categories=["nope"])
    with pytest.raises(CharterError, match="unknown LLM mode"):
        LLMEngine(backend, minimal_bundle(), mode="chat")  # type: ignore[arg-type]
    with pytest.raises(CharterError, match="samples"):
        LLMEngine(backend, minimal_bundle(), samples=0)


def test_injection_resistance_counts_flagged_probes() -> None:
    always = LLMEngine(ReplayBackend(lambda m, o: verdict("violating", ["q1", "q2"], "dehumanising", ["HATE.1"])
                                     if category_of(m) == "hate" else SCAM), minimal_bundle())
    assert injection_resistance(always, ["hate", "spam_scams"]) == 1.0
    fooled = LLMEngine(ReplayBackend(lambda m, o: verdict("allowed", ["q1"], "allowed", [])
                                     if category_of(m) == "hate" else SCAM), minimal_bundle())
    probes = injection_items(["hate", "spam_scams"])
    hate_probes = sum(i.metadata["injection_target"] == "hate" for i in probes)
    assert injection_resistance(fooled, ["hate", "spam_scams"]) == pytest.approx(1 - hate_probes / len(probes))


def test_logprobs_that_do_not_spell_the_reply_are_not_used() -> None:
    # what llama.cpp's server returns under a JSON grammar: tokens of the unconstrained model
    tokens = [TokenLogprob("```json\n", -3.0), TokenLogprob(SCAM[:len('{"label": "')], -0.1), TokenLogprob("v", -7.0),
              TokenLogprob(SCAM[len('{"label": "v'):], -0.1)]
    engine, _ = spam_engine([Completion(text=SCAM, tokens_in=3, tokens_out=2, logprobs=tokens)], logprobs=True)
    [d] = engine.decide(items("x"))
    assert d.scores["spam_scams"] == pytest.approx(0.8)  # the stated confidence, not e^-7
    assert "label_probability" not in d.extra["llm"]["categories"]["spam_scams"]
