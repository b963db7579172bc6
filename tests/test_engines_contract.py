"""The Engine contract, run against every engine on the same items (like scikit-learn's
`check_estimator`), and the checks themselves shown to catch each kind of broken engine.

To hold a new engine to the contract, add a factory to ENGINES: it returns the engine, built
for the example policy. Every check in `charter.engines.contract.CHECKS` then runs on it.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from cascade_helpers import by_marker, example_bundle, scripted_llm
from charter.datasets import apply_mapping, gold_arrays, load_mapping, load_split
from charter.engines.base import Engine
from charter.engines.cascade import build_cascade
from charter.engines.classifier import ClassifierEngine, train_classifier
from charter.engines.rules import RulesEngine
from charter.engines.contract import CHECKS, ContractViolation, check_engine
from charter.engines.routing import Routing
from charter.policy.hashing import identity
from charter.policy.load import load_policy
from charter.policy.spec import Policy
from charter.records import ContentItem, Decision

EXAMPLE_POLICY = Path(__file__).resolve().parents[1] / "src" / "charter" / "examples" / "policy.yaml"


@functools.cache
def example_policy() -> Policy:
    return load_policy(EXAMPLE_POLICY)


ITEMS = [
    ContentItem(id="spam-1", text="WINNER!! You have been selected to receive a £900 prize. Call 09061701461 now"),
    ContentItem(id="spam-evasive", text="Fr\u200bee ent\u0440y! W1N a pr1ze, t-e-x-t WIN to 87121", market="DE"),
    ContentItem(id="ham-1", text="Are we still meeting for lunch tomorrow at noon?"),
    ContentItem(id="ham-fr", text="On se voit demain pour le déjeuner ?", language="fr", market="FR"),
    ContentItem(id="hate-1", text="those people are vermin and should be wiped out"),
    ContentItem(id="tweet-1", text="RT @someone: this game last night was sooooo good"),
    ContentItem(id="ru-1", text="Привет, как дела?", language="ru"),
    ContentItem(id="empty", text=""),
    ContentItem(id="long", text="call now to claim your free prize " * 2_000),
]


@functools.cache
def classifier_engine() -> Engine:
    """The fast classifier, trained on the vendored sample (spam_scams and hate)."""
    policy = example_policy()
    texts: list[str] = []
    gold: dict[str, list[float]] = {"spam_scams": [], "hate": []}
    for dataset in ("sms-spam", "davidson"):
        mapped = apply_mapping(load_split(dataset, "train", source="sample"), load_mapping(dataset, policy), policy)
        arrays = gold_arrays(mapped.labels, list(gold))
        texts += [item.text for item in mapped.items]
        for category in gold:
            gold[category] += arrays[category].tolist()
    model = train_classifier(texts, gold, policy)
    return ClassifierEngine(model, Routing.from_policy(policy))


@functools.cache
def rules_engine() -> Engine:
    return RulesEngine(example_bundle())


@functools.cache
def cascade_engine() -> Engine:
    """Rules, the sample-trained classifier, a scripted LLM (one verdict of each kind) and review."""
    script = by_marker({"vermin": {"hate": "violating"}, "WIN": {"spam_scams": "needs_review"}, "lunch": {"spam_scams": "fail"}})
    model = classifier_engine().model  # type: ignore[attr-defined]
    return build_cascade(example_bundle(), model, scripted_llm(script), categories=["hate", "spam_scams"])


ENGINES: dict[str, Callable[[], Engine]] = {
    "classifier": classifier_engine,
    "rules": rules_engine,
    "cascade": cascade_engine,
}


@pytest.fixture(params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest) -> Engine:
    return ENGINES[request.param]()


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_engine_obeys_the_contract(engine: Engine, check: str) -> None:
    assert CHECKS[check](engine, ITEMS, example_policy()) == []


def test_check_engine_passes_every_engine(engine: Engine) -> None:
    check_engine(engine, ITEMS, example_policy())


# --------------------------------------------------------------------------- the checks catch defects


class FakeEngine(Engine):
    """A configurable engine that breaks the contract in one named way."""

    pathway = "rules"

    def __init__(self, policy: Policy, defect: str | None = None):
        self.identity = identity(policy)
        self.name = f"fake-{defect}"
        self.defect = defect
        self.calls = 0

    def decide(self, items: Sequence[ContentItem]) -> list[Decision]:
        self.calls += 1
        if self.defect == "empty_batch" and not items:
            return [self.stamped("ghost", latency_ms=0.0)]
        out = [self._one(item, position) for position, item in enumerate(items)]
        if self.defect == "drops_item":
            out = out[:-1]
        if self.defect == "reorders" and len(out) > 1:
            out = out[1:] + out[:1]
        return out

    def _one(self, item: ContentItem, position: int) -> Decision:
        d = self.defect
        scores = {"spam_scams": 0.25}
        if d == "score_range":
            scores["spam_scams"] = 1.5
        if d == "unknown_category_score":
            scores["weather"] = 0.1
        if d == "nondeterministic":
            scores["spam_scams"] = random.random()
        if d == "position_dependent":
            scores["spam_scams"] = min(1.0, position / 10)
        decision = self.stamped(
            item.id,
            scores=scores,
            labels={"weather": "allowed"} if d == "unknown_label" else {"spam_scams": "allowed"},
            action="obliterate" if d == "unknown_action" else "allow",
            escalation_queue="nowhere" if d == "unknown_queue" else None,
            latency_ms=None if d == "latency" else 0.5,
        )
        if d == "wrong_hash":
            decision = decision.model_copy(update={"policy_hash": "0" * 64})
        if d == "wrong_pathway":
            decision = decision.model_copy(update={"pathway": "llm"})
        return decision

    def describe(self) -> dict:
        return {"name": self.name} if self.defect == "describe" else super().describe()


DEFECTS = {
    "drops_item": "one_per_item",
    "reorders": "one_per_item",
    "position_dependent": "order_follows_input",
    "wrong_hash": "stamp",
    "wrong_pathway": "stamp",
    "score_range": "scores",
    "unknown_category_score": "scores",
    "unknown_label": "labels",
    "unknown_action": "actions",
    "unknown_queue": "actions",
    "latency": "latency",
    "empty_batch": "empty_batch",
    "nondeterministic": "deterministic",
    "describe": "describe",
}


def test_a_correct_fake_engine_passes() -> None:
    check_engine(FakeEngine(example_policy()), ITEMS, example_policy())


@pytest.mark.parametrize(("defect", "check"), sorted(DEFECTS.items()))
def test_each_defect_is_caught_by_its_check(defect: str, check: str) -> None:
    policy = example_policy()
    assert CHECKS[check](FakeEngine(policy, defect), ITEMS, policy) != []
    with pytest.raises(ContractViolation, match=f"fake-{defect}") as caught:
        check_engine(FakeEngine(policy, defect), ITEMS, policy)
    assert any(f.startswith(f"{check}:") for f in caught.value.failures)


def test_an_engine_stamped_for_another_policy_fails_against_this_one() -> None:
    other = load_policy(Path(__file__).parent / "fixtures" / "minimal_policy.yaml")
    with pytest.raises(ContractViolation, match="stamp"):
        check_engine(FakeEngine(other), ITEMS, example_policy())


def test_check_engine_needs_two_distinct_items() -> None:
    with pytest.raises(ValueError, match="two items"):
        check_engine(FakeEngine(example_policy()), ITEMS[:1], example_policy())
    with pytest.raises(ValueError, match="unique ids"):
        check_engine(FakeEngine(example_policy()), [ITEMS[0], ITEMS[0]], example_policy())
