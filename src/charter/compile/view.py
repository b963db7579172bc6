"""The read-model of one category that every renderer shares (prompts, tree prompts,
guidelines, schemas): nodes and outcomes in reading order, each example's path, the terms
and market rules that apply, so that every artifact presents the policy the same way."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from charter.compile.glossary import category_texts, terms_used
from charter.errors import CharterError, Location, Problem
from charter.policy.spec import Category, Definition, Example, Node, Outcome, Policy, Queue, Rule
from charter.policy.tree import TreeWalkError, walk


@dataclass(frozen=True)
class Branch:
    """One answer of a node and where it leads."""

    answer: str
    target: str
    is_outcome: bool


@dataclass(frozen=True)
class NodeView:
    id: str
    node: Node
    branches: list[Branch]

    @property
    def answers(self) -> list[str]:
        return [b.answer for b in self.branches]

    def branch_summary(self) -> str:
        """`yes → node_b | no → outcome allowed`: the branches on one line."""
        return " | ".join(f"{b.answer} → {'outcome ' if b.is_outcome else ''}{b.target}" for b in self.branches)


@dataclass(frozen=True)
class ExampleView:
    """An example with the path a reviewer or model should take to its outcome."""

    example: Example
    steps: list[tuple[str, str]]  # (node id, answer)
    outcome_id: str

    @property
    def path(self) -> list[str]:
        return [node_id for node_id, _ in self.steps]


@dataclass(frozen=True)
class MarketRules:
    market_id: str
    market_title: str
    rules: list[Rule]


@dataclass(frozen=True)
class CategoryView:
    category: Category
    nodes: list[NodeView]
    outcomes: list[tuple[str, Outcome]]
    examples: list[ExampleView]
    terms: list[Definition]
    market_rules: list[MarketRules]
    queue: Queue | None  # where items needing review go by default (see fallback_queue)

    @property
    def id(self) -> str:
        return self.category.id

    @property
    def root(self) -> str:
        return self.category.tree.root

    @property
    def node_ids(self) -> list[str]:
        return [n.id for n in self.nodes]

    @property
    def outcome_ids(self) -> list[str]:
        return [oid for oid, _ in self.outcomes]

    @property
    def base_rule_ids(self) -> list[str]:
        return [r.id for r in self.category.rules]

    @property
    def rule_ids(self) -> list[str]:
        """Every rule a verdict in this category may cite: base rules, then market rules."""
        ids = self.base_rule_ids
        for market in self.market_rules:
            ids += [r.id for r in market.rules if r.id not in ids]
        return ids


def _reading_order(category: Category) -> tuple[list[str], list[str]]:
    """Nodes breadth-first from the root (then any unreachable ones), and outcomes in the
    order the walk first reaches them (then any unreachable ones)."""
    tree = category.tree
    seen = {tree.root}
    queue = deque([tree.root])
    nodes: list[str] = []
    outcomes: list[str] = []
    while queue:
        current = queue.popleft()
        if current in tree.outcomes:
            outcomes.append(current)
            continue
        if current not in tree.nodes:
            continue
        nodes.append(current)
        for target in tree.nodes[current].branches().values():
            if target not in seen:
                seen.add(target)
                queue.append(target)
    nodes += [n for n in tree.nodes if n not in seen]
    outcomes += [o for o in tree.outcomes if o not in outcomes]
    return nodes, outcomes


def _example_view(category: Category, example: Example) -> ExampleView:
    try:
        result = walk(category.tree, example.answers)
    except TreeWalkError as exc:
        raise CharterError(
            f"example {example.id!r} of category {category.id!r} does not walk the tree",
            [Problem(str(exc), Location(path=f"categories[{category.id}].examples[{example.id}].answers"))],
        ) from None
    return ExampleView(example=example, steps=list(zip(result.path, result.answers)), outcome_id=result.outcome_id)


def fallback_queue(policy: Policy) -> Queue | None:
    """The most urgent queue (first in policy order on ties): where a category that names no
    escalation queue sends items for review, so review never silently has nowhere to go."""
    return min(policy.queues, key=lambda q: q.priority, default=None)


def category_view(policy: Policy, category: Category) -> CategoryView:
    """Build the shared read-model of `category` within `policy`."""
    tree = category.tree
    node_order, outcome_order = _reading_order(category)
    nodes = [
        NodeView(
            id=node_id,
            node=tree.nodes[node_id],
            branches=[
                Branch(answer=a, target=t, is_outcome=t in tree.outcomes)
                for a, t in tree.nodes[node_id].branches().items()
            ],
        )
        for node_id in node_order
    ]
    market_rules = [
        MarketRules(m.id, m.title, list(m.categories[category.id].extra_rules))
        for m in policy.markets
        if category.id in m.categories and m.categories[category.id].extra_rules
    ]
    extra_text = [t for mr in market_rules for r in mr.rules for t in (r.statement, *r.includes, *r.excludes)]
    return CategoryView(
        category=category,
        nodes=nodes,
        outcomes=[(oid, tree.outcomes[oid]) for oid in outcome_order],
        examples=[_example_view(category, e) for e in category.examples],
        terms=terms_used(policy, category_texts(category, extra_text)),
        market_rules=market_rules,
        queue=policy.queue(category.escalation_queue) if category.escalation_queue else fallback_queue(policy),
    )


def policy_views(policy: Policy) -> list[CategoryView]:
    return [category_view(policy, c) for c in policy.categories]
