"""What settled a run of cascade decisions, in numbers and words (scripted classifier scores,
no LLM): stage shares, one-line accounts naming the rule, score and threshold or queue,
example picking, where gold-labelled items went; and dataset items blinded for enforcement."""

from __future__ import annotations

from cascade_helpers import example_bundle, scripted_classifier

from charter.datasets import load_split
from charter.datasets.blind import blind
from charter.datasets.registry import REGISTRY
from charter.engines.cascade import build_cascade
from charter.records import ContentItem, Label
from charter.service.stages import count_stages, explain, gold_routing, pick_examples

SCORES = {
    "cheap watches here": {"spam_scams": 0.99},
    "maybe hateful": {"hate": 0.7},
    "see you at lunch": {"hate": 0.5},
}
TEXTS = ["double your bitcoin today", "cheap watches here", "maybe hateful", "see you at lunch", "see you at lunch"]


def run():
    engine = build_cascade(example_bundle(), scripted_classifier(SCORES), None)
    items = [ContentItem(id=f"i{n}", text=t) for n, t in enumerate(TEXTS)]
    return engine, items, engine.decide(items)


def test_counts_name_each_stage_queue_and_action() -> None:
    _, _, decisions = run()
    counts = count_stages(decisions)
    assert counts.total == 5
    assert dict(counts.stages) == {"rules": 1, "classifier": 3, "human": 1}
    assert sum(counts.queues.values()) == 1 and counts.share(counts.stages["classifier"]) == 0.6
    assert counts.actions["allow"] == 2


def test_each_account_names_what_decided_and_why() -> None:
    engine, _, decisions = run()
    rules, classifier, human, allowed, _ = (explain(d, engine.routing) for d in decisions)
    assert rules.stage == "rules" and "SPAM.2b" in rules.why and "crypto_doubling" in rules.why
    assert "bitcoin" in rules.why  # the evidence the matcher saw
    auto = engine.routing.categories["spam_scams"].auto_action
    assert classifier.category == "spam_scams" and f"0.990 ≥ auto_action {auto:.3f}" in classifier.why
    review = engine.routing.categories["hate"].review
    assert human.category == "hate" and "review band" in human.why and f"[{review:.3f}," in human.why
    assert human.why.startswith(f"human review in {decisions[2].escalation_queue}")
    assert allowed.category is None and "closest: hate 0.500 <" in allowed.why


def test_a_score_that_rounds_to_its_threshold_is_shown_with_more_digits() -> None:
    close = build_cascade(example_bundle(), scripted_classifier({}), None)
    review = close.routing.categories["hate"].review
    close = build_cascade(example_bundle(), scripted_classifier({"so close": {"hate": review - 1e-5}}), None)
    (decision,) = close.decide([ContentItem(id="c", text="so close")])
    why = explain(decision, close.routing).why
    score, threshold = why.rsplit("closest: hate ", 1)[1].split(" < ")
    assert score != threshold and float(score) < float(threshold)


def test_examples_show_each_stage_once_and_are_seeded() -> None:
    _, _, decisions = run()
    picked = pick_examples(decisions)
    engine, _, _ = run()
    stages = [explain(d, engine.routing).stage for d in picked]
    assert set(stages) == {"rules", "classifier", "human"}
    assert len(picked) == len({d.item_id for d in picked}) == 4  # rules, classifier action, human, one allowed
    assert [d.item_id for d in pick_examples(decisions)] == [d.item_id for d in picked]


def test_gold_routing_counts_where_violating_and_allowed_items_went() -> None:
    _, _, decisions = run()
    gold = [
        Label(item_id="i2", policy_id="p", policy_version="1", policy_hash="h", labels={"hate": "violating"}),
        Label(item_id="i3", policy_id="p", policy_version="1", policy_hash="h", labels={"hate": "allowed"}),
        Label(item_id="i4", policy_id="p", policy_version="1", policy_hash="h", labels={"hate": "violating"}),
    ]
    (hate,) = gold_routing(decisions, gold, ["hate"])
    assert dict(hate.violating) == {"review": 1, "allowed": 1}  # one in the band, one let through
    assert dict(hate.allowed) == {"allowed": 1}


def test_blinded_items_keep_text_and_dataset_but_lose_the_label_columns() -> None:
    split = load_split("davidson", "test", source="sample")
    label_columns = set(REGISTRY["davidson"].info.label_columns)
    assert label_columns & set(split.items[0].metadata)  # the loader keeps them, for grading
    blinded = blind(split.items[:20])
    assert [b.text for b in blinded] == [i.text for i in split.items[:20]]
    assert all(not label_columns & set(b.metadata) and b.metadata["dataset"] == "davidson" for b in blinded)
    other = ContentItem(id="x", text="t", metadata={"label": "kept"})
    assert blind([other]) == [other]  # not a dataset item: nothing to hide
