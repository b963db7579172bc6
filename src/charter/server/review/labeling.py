"""What the labeling and adjudication pages show of a category: the decision tree as the
page's walker reads it (the policy's own tree, so node IDs are the ones the LLM prompts
use), the guideline panel, the answers a submitted form carries, and reviewers' paths laid
side by side node by node."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from charter.compile.flowchart import Flowchart, layout
from charter.compile.glossary import linked
from charter.compile.guidelines import guidelines_html
from charter.compile.view import CategoryView, category_view, policy_views
from charter.errors import CharterError
from charter.policy.hashing import identity
from charter.policy.spec import Category, Policy
from charter.policy.tree import TreeWalkError, walk

MAX_KEYED_OPTIONS = 9
MAX_STEPS = 64  # far deeper than any policy tree; bounds what a form may carry


def answer_keys(kind: str, answers: Sequence[str]) -> list[str]:
    """Keyboard keys for a node's answers: y/n for yes/no questions, 1..9 for choices."""
    if kind == "yes_no":
        return [{"yes": "y", "no": "n"}[a] for a in answers]
    return [str(k + 1) if k < MAX_KEYED_OPTIONS else "" for k in range(len(answers))]


def tree_payload(policy: Policy, category: Category) -> dict[str, Any]:
    """The tree as JSON for the page's step-by-step walker; question text is pre-escaped HTML."""
    nodes = {}
    for node_id, node in category.tree.nodes.items():
        branches = node.branches()
        keys = answer_keys(node.type, list(branches))
        nodes[node_id] = {
            "question": str(linked(node.question)),
            "guidance": str(linked(node.guidance)) if node.guidance else None,
            "type": node.type,
            "options": [{"answer": a, "target": t, "key": k} for (a, t), k in zip(branches.items(), keys)],
        }
    outcomes = {}
    for outcome_id, outcome in category.tree.outcomes.items():
        action = policy.action(outcome.action) if outcome.action else None
        outcomes[outcome_id] = {
            "label": outcome.label,
            "rules": [{"id": r, "title": rule.title if (rule := category.rule(r)) else r} for r in outcome.rule_ids],
            "action": outcome.action,
            "action_kind": action.kind.value if action else None,
            "escalate": outcome.escalate.queue if outcome.escalate else None,
            "reason": str(linked(outcome.escalate.reason)) if outcome.escalate and outcome.escalate.reason else None,
            "note": str(linked(outcome.note)) if outcome.note else None,
        }
    return {"category": category.id, "root": category.tree.root, "nodes": nodes, "outcomes": outcomes}


@dataclass(frozen=True)
class GuidelinePanel:
    view: CategoryView
    chart: Flowchart
    market_rule_ids: set[str]  # rules that apply to this item's market in addition to the tree


def guideline_panel(policy: Policy, category: Category, market: str | None) -> GuidelinePanel:
    view = category_view(policy, category)
    market_rules = {r.id for m in view.market_rules if m.market_id == market for r in m.rules}
    key = (identity(policy).hash, category.id)
    if key not in _charts:
        _charts[key] = layout(category.tree)
    return GuidelinePanel(view, _charts[key], market_rules)


_charts: dict[tuple[str, str], Flowchart] = {}
_guidelines: dict[str, bytes] = {}


def full_guidelines(policy: Policy) -> bytes:
    """The compiled reviewer guidelines page of the policy (what the bundle's
    guidelines.html holds), rendered once per policy hash."""
    policy_identity = identity(policy)
    if policy_identity.hash not in _guidelines:
        _guidelines[policy_identity.hash] = guidelines_html(policy_identity, policy, policy_views(policy))
    return _guidelines[policy_identity.hash]


def parse_steps(steps: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """The answers (node → answer) and path a labeling form carries as `node=answer` steps."""
    answers: dict[str, str] = {}
    path: list[str] = []
    if not steps:
        raise CharterError("the form carries no answers: walk the decision tree to an outcome before submitting")
    if len(steps) > MAX_STEPS:
        raise CharterError(f"the form carries {len(steps)} answers; a walk has at most {MAX_STEPS}")
    for step in steps:
        node, sep, answer = step.partition("=")
        if not sep or not node or not answer:
            raise CharterError(f"malformed answer {step[:80]!r}: expected node=answer")
        if node in answers:
            raise CharterError(f"node {node[:64]!r} is answered twice")
        answers[node] = answer
        path.append(node)
    return answers, path


@dataclass(frozen=True)
class NodeRow:
    """One tree node on the adjudication page: each reviewer's answer there (None = that
    reviewer's path did not pass through it) and whether those who answered agree."""

    node_id: str
    question: str
    answers: list[str | None]

    @property
    def agree(self) -> bool:
        given = [a for a in self.answers if a is not None]
        return len(given) == len(self.answers) and len(set(given)) == 1


@dataclass(frozen=True)
class PathComparison:
    rows: list[NodeRow]
    outcomes: list[str | None]  # outcome id each reviewer reached


def compare_paths(view: CategoryView, answer_sets: Sequence[dict[str, str]]) -> PathComparison:
    """Reviewers' tree walks side by side, nodes in the guideline's reading order."""
    tree = view.category.tree
    visited = {node for answers in answer_sets for node in answers}
    rows = [
        NodeRow(node.id, node.node.question, [answers.get(node.id) for answers in answer_sets])
        for node in view.nodes
        if node.id in visited
    ]
    outcomes: list[str | None] = []
    for answers in answer_sets:
        try:
            outcomes.append(walk(tree, dict(answers)).outcome_id)
        except TreeWalkError:
            outcomes.append(None)
    return PathComparison(rows, outcomes)
