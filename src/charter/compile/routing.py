"""routing.json: the escalation table (queues, which outcomes escalate where and why, each
category's default review queue) and the severity → action table engines enforce."""

from __future__ import annotations

from typing import Any

from charter.compile.glossary import plain
from charter.compile.stamp import json_bytes, stamp_dict
from charter.compile.view import fallback_queue
from charter.policy.hashing import PolicyIdentity
from charter.policy.spec import Category, Policy, Queue, Rule


def _rule_route(category: Category, rule: Rule, market: str | None) -> dict[str, Any]:
    severity = category.severity(rule.severity)
    return {"severity": rule.severity, "action": severity.default_action if severity else None, "market": market}


def _category_routes(policy: Policy, category: Category, fallback: Queue | None) -> dict[str, Any]:
    default = category.escalation_queue or (fallback.id if fallback else None)
    escalations = []
    for outcome_id, outcome in category.tree.outcomes.items():
        if outcome.escalate:
            queue, reason, source = outcome.escalate.queue, plain(outcome.escalate.reason) or None, "outcome"
        elif outcome.label == "needs_review":
            queue, reason, source = default, "needs review; routed to the category's default queue", "category_default"
        else:
            continue
        escalations.append(
            {"outcome": outcome_id, "label": outcome.label, "queue": queue, "reason": reason, "source": source}
        )
    severities = {}
    for severity in category.severities:
        action = policy.action(severity.default_action)
        severities[severity.id] = {
            "rank": severity.rank,
            "action": severity.default_action,
            "kind": action.kind.value if action else None,
        }
    rules = {r.id: _rule_route(category, r, None) for r in category.rules}
    for market in policy.markets:
        override = market.categories.get(category.id)
        for rule in override.extra_rules if override else []:
            rules[rule.id] = _rule_route(category, rule, market.id)
    return {
        "default_queue": default,
        "default_queue_source": "category" if category.escalation_queue else "policy_fallback",
        "escalations": escalations,
        "severity_actions": severities,
        "rules": rules,
    }


def routing_table(identity: PolicyIdentity, policy: Policy) -> dict[str, Any]:
    fallback = fallback_queue(policy)
    return {
        "policy": stamp_dict(identity),
        "queues": {
            q.id: {
                "title": q.title,
                "priority": q.priority,
                "sla_hours": q.sla_hours,
                "reviewer_role": q.reviewer_role,
                "description": q.description,
            }
            for q in policy.queues
        },
        "fallback_queue": fallback.id if fallback else None,
        "actions": {
            a.id: {"kind": a.kind.value, "restricts": a.kind.restricts, "description": a.description}
            for a in policy.actions
        },
        "categories": {c.id: _category_routes(policy, c, fallback) for c in policy.categories},
    }


def routing_artifact(identity: PolicyIdentity, policy: Policy) -> bytes:
    return json_bytes(routing_table(identity, policy))
