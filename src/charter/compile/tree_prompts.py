"""The tree-walking prompt variant: one compact system prompt per decision-tree node, so a
model answers one question at a time and its path is the tree's own node IDs."""

from __future__ import annotations

from typing import Any

from charter.compile.glossary import plain, terms_in
from charter.compile.paths import USER_TEMPLATE_FILE
from charter.compile.prompts import CLOSE_MARKER, OPEN_MARKER_DOC
from charter.compile.render import render_text
from charter.compile.stamp import json_bytes, stamp_dict
from charter.compile.view import CategoryView, NodeView
from charter.policy.hashing import PolicyIdentity
from charter.policy.spec import Outcome, Policy, Rule


def step_contract(answers: list[str]) -> str:
    """The one-step JSON reply a node asks for, with its allowed answers spelled out."""
    return f'{{"answer": "{"|".join(answers)}", "confidence": <0..1>, "rationale": "<at most 2 sentences>"}}'


def node_prompt(policy: Policy, view: CategoryView, node: NodeView) -> str:
    """The compact system prompt for one node, with only the definitions its text uses."""
    return render_text(
        "node_prompt.md.j2",
        v=view,
        n=node,
        terms=terms_in(policy.definitions, [node.node.question, node.node.guidance or ""]),
        open_marker=OPEN_MARKER_DOC,
        close_marker=CLOSE_MARKER,
        contract=step_contract(node.answers),
    )


def outcome_data(outcome: Outcome) -> dict[str, Any]:
    """An outcome as every JSON artifact writes it."""
    return {
        "label": outcome.label,
        "rule_ids": list(outcome.rule_ids),
        "action": outcome.action,
        "escalate": (
            {"queue": outcome.escalate.queue, "reason": plain(outcome.escalate.reason) or None}
            if outcome.escalate
            else None
        ),
        "note": plain(outcome.note) or None,
    }


def tree_prompts(policy: Policy, view: CategoryView) -> dict[str, Any]:
    """The tree-walk prompt set of one category (without stamp)."""
    return {
        "category": view.id,
        "root": view.root,
        "user_template": USER_TEMPLATE_FILE,
        "nodes": {
            n.id: {
                "question": plain(n.node.question),
                "guidance": plain(n.node.guidance) or None,
                "type": n.node.type,
                "answers": n.answers,
                "next": {b.answer: b.target for b in n.branches},
                "contract": step_contract(n.answers),
                "system_prompt": node_prompt(policy, view, n),
            }
            for n in view.nodes
        },
        "outcomes": {oid: outcome_data(o) for oid, o in view.outcomes},
        "rules": {
            **{r.id: _rule_data(r, None) for r in view.category.rules},
            **{r.id: _rule_data(r, m.market_id) for m in view.market_rules for r in m.rules},
        },
    }


def _rule_data(rule: Rule, market: str | None) -> dict[str, Any]:
    """What a verdict's rule ID stands for, for rationales and reviewers (market rules apply
    only to content from that market)."""
    return {"title": rule.title, "severity": rule.severity, "statement": plain(rule.statement), "market": market}


def tree_artifact(identity: PolicyIdentity, policy: Policy, view: CategoryView) -> bytes:
    return json_bytes({"policy": stamp_dict(identity), **tree_prompts(policy, view)})
