"""The two ways of asking a model about one category: single-shot (the whole policy prompt,
one JSON verdict naming its tree path) and tree-walk (one question per node, the engine
follows the answers, then one question about the item's market rules if it has any), plus
self-consistency voting over several samples of either. Dynamic few-shot examples, when
given, are appended to each system prompt."""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from charter.compile import LoadedBundle, render_user_message
from charter.engines.llm.backend import Backend, Completion
from charter.engines.llm.exchange import ExchangeFailed, Sampling, Usage, ask
from charter.engines.llm.fewshot import Shot, render_shots
from charter.engines.llm.market import MarketCheck, market_checks
from charter.engines.llm.verdict import Step, Verdict, VerdictError, check_schema, check_tree, parse_json_object
from charter.policy.spec import Category
from charter.policy.tree import TreeWalkError, step

# Ties in a vote never resolve toward "allowed".
LABEL_PRECEDENCE = {"violating": 2, "needs_review": 1, "allowed": 0}
RATIONALE_CHARS = 240


def bounded(entry: dict[str, Any], path_nodes: int | None = None) -> dict[str, Any]:
    """The schema sent with a request, with the bounds the tree implies (constrained decoders
    such as llama.cpp's grammar then cannot loop on repeated IDs or ramble); replies are still
    validated against the bundle's own schema."""
    schema = copy.deepcopy(entry)
    properties = schema["schema"]["properties"]
    if path_nodes is not None:
        properties["tree_path"].update(maxItems=path_nodes, uniqueItems=True)
        rules = properties["rule_ids"]
        rules.update(maxItems=len(rules["items"]["enum"]), uniqueItems=True)
    properties["rationale"]["maxLength"] = RATIONALE_CHARS
    return schema


@dataclass(frozen=True)
class CategoryPrompts:
    """What the bundle says to ask about one category."""

    category: Category
    system_prompt: str
    user_template: str
    verdict_schema: dict[str, Any]
    tree_nodes: dict[str, Any]
    step_schemas: dict[str, dict[str, Any]]
    request_schemas: dict[str, dict[str, Any]]
    market_rules: dict[str, set[str]]
    market_checks: dict[str, MarketCheck] = field(default_factory=dict)

    @classmethod
    def from_bundle(cls, bundle: LoadedBundle, category_id: str) -> CategoryPrompts:
        category = bundle.policy.category(category_id)
        assert category is not None  # the engine checked the id against the bundle
        tree = bundle.tree_prompts(category_id)
        markets = {
            m.id.lower(): {r.id for r in m.categories[category_id].extra_rules}
            for m in bundle.policy.markets
            if category_id in m.categories
        }
        root_step = bundle.step_schema(category_id, category.tree.root)
        return cls(
            category=category,
            system_prompt=bundle.system_prompt(category_id),
            user_template=bundle.user_template(),
            verdict_schema=bundle.verdict_schema(category_id),
            tree_nodes=tree["nodes"],
            step_schemas={node: bundle.step_schema(category_id, node) for node in tree["nodes"]},
            request_schemas={
                "": bounded(bundle.verdict_schema(category_id), len(category.tree.nodes)),
                **{node: bounded(bundle.step_schema(category_id, node)) for node in tree["nodes"]},
            },
            market_rules=markets,
            market_checks=market_checks(bundle.policy, category, root_step, bounded),
        )

    def user_message(self, item_id: str, text: str, market: str | None) -> str:
        return render_user_message(self.user_template, item_id, text, market)


@dataclass
class CategoryResult:
    """One category's result for one item: a verdict, or the failure that escalates it."""

    verdict: Verdict | None = None
    failure: ExchangeFailed | None = None
    probability: float | None = None
    votes: dict[str, int] | None = None
    usage: Usage = field(default_factory=Usage)
    partial: list[Step] = field(default_factory=list)


def label_probability(completion: Completion, key: str, value: str) -> float | None:
    """exp(logprob) of the first token of `value` where the reply states `"key": "value"`.

    Only when the logprob tokens spell exactly the reply: llama.cpp's server, under a JSON
    grammar, reports the unconstrained distribution's tokens (e.g. a leading "```json" the
    grammar never let through, and the label token at e^-7 while the grammar picked it), and a
    probability read from those would be noise; the stated confidence is used instead.
    """
    if not completion.logprobs:
        return None
    text = "".join(t.token for t in completion.logprobs)
    if text != completion.text:
        return None
    anchor = text.find(f'"{key}"')
    position = text.find(value, anchor) if anchor >= 0 else -1
    if position < 0:
        return None
    offset = 0
    for token in completion.logprobs:
        offset += len(token.token)
        if offset > position:
            return min(1.0, math.exp(token.logprob))
    return None


def single_shot(
    backend: Backend, prompts: CategoryPrompts, item: Any, sampling: Sampling, shots: Sequence[Shot] = ()
) -> CategoryResult:
    """Ask for the whole verdict at once; validate it against schema and tree."""
    result = CategoryResult()
    market_rules = prompts.market_rules.get((item.market or "").lower(), set())

    def read(text: str) -> Verdict:
        value = parse_json_object(text)
        check_schema(value, prompts.verdict_schema)
        return check_tree(value, prompts.category, market_rules)

    messages = [
        {"role": "system", "content": prompts.system_prompt + render_shots(shots)},
        {"role": "user", "content": prompts.user_message(item.id, item.text, item.market)},
    ]
    try:
        result.verdict, completion = ask(backend, messages, prompts.request_schemas[""], read, sampling, result.usage)
        result.probability = label_probability(completion, "label", result.verdict.label)
    except ExchangeFailed as failure:
        result.failure = failure
    return result


def tree_walk(
    backend: Backend, prompts: CategoryPrompts, item: Any, sampling: Sampling, shots: Sequence[Shot] = ()
) -> CategoryResult:
    """One question per node, following the answers to an outcome; then, for an item from a
    market with extra rules and an outcome that is not already violating, one question about
    those rules. Confidence is the weakest step's."""
    result = CategoryResult()
    tree = prompts.category.tree
    user = prompts.user_message(item.id, item.text, item.market)
    examples = render_shots(shots)
    steps: list[Step] = []
    probabilities: list[float] = []
    node = tree.root
    while node not in tree.outcomes:
        if len(steps) > len(tree.nodes) or node not in prompts.tree_nodes:
            result.failure = ExchangeFailed(f"the tree walk left the tree at {node!r}")
            return result
        schema = prompts.step_schemas[node]

        def read(text: str, node: str = node, schema: dict[str, Any] = schema) -> Step:
            value = parse_json_object(text)
            check_schema(value, schema)
            try:
                step(tree, node, value["answer"])
            except TreeWalkError as exc:
                raise VerdictError(str(exc)) from None
            return Step(node, value["answer"], float(value["confidence"]), str(value["rationale"]))

        messages = [
            {"role": "system", "content": prompts.tree_nodes[node]["system_prompt"] + examples},
            {"role": "user", "content": user},
        ]
        try:
            answered, completion = ask(backend, messages, prompts.request_schemas[node], read, sampling, result.usage)
        except ExchangeFailed as failure:
            failure.reason = f"at node {node!r}: {failure.reason}"
            result.failure = failure
            result.partial = steps
            return result
        steps.append(answered)
        probability = label_probability(completion, "answer", answered.answer)
        if probability is not None:
            probabilities.append(probability)
        node = step(tree, node, answered.answer)
    outcome = tree.outcomes[node]
    label, rule_ids = outcome.label, list(outcome.rule_ids)
    market_step: Step | None = None
    check = prompts.market_checks.get((item.market or "").lower())
    if check is not None and label != "violating":
        try:
            market_step, completion = ask(
                backend,
                [{"role": "system", "content": check.system_prompt + examples}, {"role": "user", "content": user}],
                check.request_schema, check.read, sampling, result.usage,
            )
        except ExchangeFailed as failure:
            failure.reason = f"at the {check.market} market rules: {failure.reason}"
            result.failure = failure
            result.partial = steps
            return result
        probability = label_probability(completion, "answer", market_step.answer)
        if probability is not None:
            probabilities.append(probability)
    market_applies = market_step is not None and check is not None and market_step.answer != check.none
    if market_applies:
        label, rule_ids = "violating", [*rule_ids, market_step.answer]  # type: ignore[union-attr]
    answered_steps = [*steps, market_step] if market_step else steps
    result.verdict = Verdict(
        label=label,
        rule_ids=rule_ids,
        tree_path=[s.node for s in steps],
        outcome=node,
        confidence=min(s.confidence for s in answered_steps),
        rationale=market_step.rationale if market_applies else steps[-1].rationale,  # type: ignore[union-attr]
        steps=steps,
        market_step=market_step,
    )
    if probabilities and len(probabilities) == len(answered_steps):
        result.probability = min(probabilities)
    return result


def vote(samples: list[CategoryResult]) -> CategoryResult:
    """Majority label (ties toward violating, then review), its commonest outcome; agreement = confidence."""
    usage = Usage()
    for sample in samples:
        usage.merge(sample.usage)
    valid = [s.verdict for s in samples if s.verdict is not None]
    if not valid:
        reasons = "; ".join(s.failure.reason for s in samples if s.failure)
        raw = [text for s in samples if s.failure for text in s.failure.raw]
        return CategoryResult(failure=ExchangeFailed(f"no valid sample out of {len(samples)}: {reasons}", raw), usage=usage)
    labels = Counter(v.label for v in valid)
    winner = max(labels, key=lambda label: (labels[label], LABEL_PRECEDENCE[label]))
    outcomes = Counter(v.outcome for v in valid if v.label == winner)
    best = outcomes.most_common(1)[0][0]
    chosen = next(v for v in valid if v.label == winner and v.outcome == best)
    agreement = labels[winner] / len(samples)
    votes = {label: labels[label] for label in sorted(labels)}
    if len(valid) < len(samples):
        votes["invalid"] = len(samples) - len(valid)
    return CategoryResult(verdict=replace(chosen, confidence=agreement), votes=votes, usage=usage)
