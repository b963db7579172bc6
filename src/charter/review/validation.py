"""Checking a reviewer's answers against the policy's decision tree: the walk must reach an
outcome, and any verdict, rule ids or path the reviewer states must be that outcome's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from charter.errors import CharterError, Location, Problem
from charter.policy.spec import Category
from charter.policy.tree import TreeWalkError, walk


@dataclass(frozen=True)
class CheckedAnswers:
    verdict: str
    rule_ids: list[str]
    tree_path: list[str]
    answers: dict[str, str]


def check_answers(
    category: Category,
    answers: Mapping[str, str],
    *,
    verdict: str | None = None,
    rule_ids: Sequence[str] | None = None,
    tree_path: Sequence[str] | None = None,
) -> CheckedAnswers:
    """The verdict, rules and path the answers lead to; CharterError names the bad node."""
    where = f"categories[{category.id}].tree"
    unknown = sorted(set(answers) - set(category.tree.nodes))
    if unknown:
        raise CharterError(
            f"answers name nodes that are not in the {category.id} tree: {', '.join(unknown)}",
            [Problem("unknown node", Location(path=f"{where}.nodes[{n}]")) for n in unknown],
        )
    try:
        result = walk(category.tree, dict(answers))
    except TreeWalkError as exc:
        node = f".nodes[{exc.node_id}]" if exc.node_id else ""
        raise CharterError(f"answers do not lead to an outcome of the {category.id} tree: {exc}",
                           [Problem(str(exc), Location(path=where + node))]) from None
    outcome = result.outcome
    problems = []
    if verdict is not None and verdict != outcome.label:
        problems.append(f"verdict {verdict!r} is not the reached outcome's ({outcome.label!r})")
    if rule_ids is not None and sorted(rule_ids) != sorted(outcome.rule_ids):
        problems.append(f"rule ids {sorted(rule_ids)} are not the reached outcome's {sorted(outcome.rule_ids)}")
    if tree_path is not None and list(tree_path) != result.path:
        problems.append(f"tree path {list(tree_path)} is not the path the answers take {result.path}")
    if problems:
        location = Location(path=f"{where}.outcomes[{result.outcome_id}]")
        raise CharterError(f"label does not match the {category.id} tree walk",
                           [Problem(p, location) for p in problems])
    return CheckedAnswers(
        verdict=outcome.label,
        rule_ids=list(outcome.rule_ids),
        tree_path=result.path,
        answers={node: answer for node, answer in zip(result.path, result.answers)},
    )
