"""Which category (and which rules and tree outcome) caused a decision's action, so that a
statement of reasons reports the reason that actually drove the restriction.

The primary category is the violating category whose own action is the decision's action,
the strongest if several are (then the highest-severity rule, then policy order, which is how
routing breaks ties). Every other violating category is additional.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from charter.errors import CharterError
from charter.policy.spec import Category, Outcome, Policy, Rule
from charter.records import Decision


@dataclass(frozen=True)
class Attribution:
    """The reason behind one restriction: category, its rules, and the tree walk if recorded."""

    category: Category
    additional: list[Category]
    rules: list[Rule]
    outcome_id: str | None = None
    outcome: Outcome | None = None
    steps: list[tuple[str, str]] = field(default_factory=list)  # (question, answer) along the tree


def category_rules(policy: Policy, category: Category) -> list[Rule]:
    """The category's rules plus the rules markets add to it."""
    extra = [r for m in policy.markets if (o := m.categories.get(category.id)) for r in o.extra_rules]
    return [*category.rules, *extra]


def _implied_actions(policy: Policy, category: Category, rules: list[Rule], rule_ids: set[str]) -> set[str]:
    """The actions the category calls for given the decision's rules (its auto action if none)."""
    actions = {
        o.action
        for o in category.tree.outcomes.values()
        if o.label == "violating" and o.action and set(o.rule_ids) & rule_ids
    }
    for rule in rules:
        severity = category.severity(rule.severity)
        if severity is not None:
            actions.add(severity.default_action)
    return actions or {category.auto_action}


def _strength(policy: Policy, action_id: str) -> int:
    action = policy.action(action_id)
    return action.kind.strength if action else -1


def _nodes(decision: Decision, category: Category, single: bool) -> list[str]:
    """The decision's tree path within this category (`category/node` entries, or bare ones
    when the decision concerns one category)."""
    nodes = []
    for entry in decision.tree_path:
        owner, _, node = entry.rpartition("/")
        if (owner == category.id or (not owner and single)) and node in category.tree.nodes:
            nodes.append(node)
    return nodes


def _walk(
    category: Category, nodes: list[str], rule_ids: set[str], action: str
) -> tuple[str | None, list[tuple[str, str]]]:
    """The outcome reached and (question, answer) steps, reconstructed from the visited nodes."""
    tree = category.tree
    matching = [
        oid for oid, o in tree.outcomes.items() if o.label == "violating" and o.rule_ids and set(o.rule_ids) <= rule_ids
    ]
    matching.sort(key=lambda oid: tree.outcomes[oid].action != action)
    steps: list[tuple[str, str]] = []
    outcome_id = None
    for here, there in zip(nodes, [*nodes[1:], None]):
        branches = tree.nodes[here].branches()
        if there is None:
            reached = [(a, t) for a, t in branches.items() if t in matching]
            if reached:
                answer, outcome_id = reached[0]
                steps.append((tree.nodes[here].question, answer))
            break
        answer = next((a for a, t in branches.items() if t == there), None)
        if answer is None:
            break
        steps.append((tree.nodes[here].question, answer))
    if outcome_id is None and matching:
        outcome_id = matching[0]
    return outcome_id, steps


def attribute(decision: Decision, policy: Policy) -> Attribution:
    """The category that caused `decision.action`, the other violating ones, rules and walk."""
    rule_ids = set(decision.rule_ids)
    owned = {c.id: [r for r in category_rules(policy, c) if r.id in rule_ids] for c in policy.categories}
    candidates = [c for c in policy.categories if decision.labels.get(c.id) == "violating" or owned[c.id]]
    if not candidates:
        raise CharterError(
            f"decision on item {decision.item_id!r} takes action {decision.action!r} but names no violating "
            "category and no rule ID, so there is no reason to state"
        )
    order = {c.id: i for i, c in enumerate(policy.categories)}

    def rank(category: Category) -> tuple[bool, int, int, int]:
        implied = _implied_actions(policy, category, owned[category.id], rule_ids)
        ranks = [s.rank for r in owned[category.id] if (s := category.severity(r.severity))]
        return (
            decision.action in implied,
            max(_strength(policy, a) for a in implied),
            max(ranks, default=-1),
            -order[category.id],
        )

    primary = max(candidates, key=rank)
    nodes = _nodes(decision, primary, single=len(candidates) == 1)
    outcome_id, steps = _walk(primary, nodes, {r.id for r in owned[primary.id]}, decision.action)
    return Attribution(
        category=primary,
        additional=[c for c in candidates if c.id != primary.id],
        rules=owned[primary.id],
        outcome_id=outcome_id,
        outcome=primary.tree.outcomes.get(outcome_id) if outcome_id else None,
        steps=steps,
    )
