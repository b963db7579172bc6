"""Walking a category's decision tree: the one piece of logic that the linter, the LLM
tree-walk mode and the reviewer UI share, so that a model's path and a human's path are
computed the same way and can be compared node by node."""

from __future__ import annotations

from dataclasses import dataclass

from charter.policy.spec import Outcome, Tree


class TreeWalkError(ValueError):
    """The stated answers do not lead to an outcome (missing answer, unknown option, loop)."""

    def __init__(self, message: str, node_id: str | None = None):
        super().__init__(message)
        self.node_id = node_id


@dataclass(frozen=True)
class Walk:
    """The node IDs visited (in order), the answer given at each, and the outcome reached."""

    path: list[str]
    answers: list[str]
    outcome_id: str
    outcome: Outcome


def step(tree: Tree, node_id: str, answer: str) -> str:
    """The target (node or outcome id) that `answer` at `node_id` leads to."""
    node = tree.nodes.get(node_id)
    if node is None:
        raise TreeWalkError(f"unknown node {node_id!r}", node_id)
    branches = node.branches()
    if answer not in branches:
        allowed = ", ".join(sorted(branches)) or "none"
        raise TreeWalkError(f"answer {answer!r} is not an option at node {node_id!r} (options: {allowed})", node_id)
    return branches[answer]


def walk(tree: Tree, answers: dict[str, str]) -> Walk:
    """Follow `answers` (node id → answer) from the root to an outcome."""
    path: list[str] = []
    given: list[str] = []
    current = tree.root
    while current not in tree.outcomes:
        if current in path:
            raise TreeWalkError(f"the walk loops back to node {current!r}", current)
        if current not in tree.nodes:
            raise TreeWalkError(f"branch leads to {current!r}, which is neither a node nor an outcome", current)
        if current not in answers:
            raise TreeWalkError(f"no answer given for node {current!r}", current)
        path.append(current)
        given.append(answers[current])
        current = step(tree, current, answers[current])
    return Walk(path=path, answers=given, outcome_id=current, outcome=tree.outcomes[current])


def reachable(tree: Tree) -> set[str]:
    """Every node and outcome id reachable from the root (ignores dangling targets)."""
    seen: set[str] = set()
    stack = [tree.root]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        node = tree.nodes.get(current)
        if node is not None:
            stack.extend(node.branches().values())
    return seen


def find_cycle(tree: Tree) -> list[str] | None:
    """One cycle of node ids (first repeated at the end), or None if the tree is acyclic."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node_id: str) -> list[str] | None:
        state[node_id] = 1
        stack.append(node_id)
        node = tree.nodes[node_id]
        for target in node.branches().values():
            if target not in tree.nodes:
                continue
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node_id] = 2
        return None

    for node_id in tree.nodes:
        if node_id not in state:
            found = visit(node_id)
            if found:
                return found
    return None


def outcome_paths(tree: Tree) -> dict[str, list[list[tuple[str, str]]]]:
    """For each reachable outcome, the (node, answer) paths from the root that reach it.

    Used to tell an LLM or a reviewer how an outcome is reached, and by tests. Assumes an
    acyclic tree (the linter rejects cycles before anything compiles).
    """
    result: dict[str, list[list[tuple[str, str]]]] = {}

    def descend(current: str, trail: list[tuple[str, str]]) -> None:
        if current in tree.outcomes:
            result.setdefault(current, []).append(list(trail))
            return
        node = tree.nodes.get(current)
        if node is None or any(current == n for n, _ in trail):
            return
        for answer, target in node.branches().items():
            descend(target, trail + [(current, answer)])

    descend(tree.root, [])
    return result
