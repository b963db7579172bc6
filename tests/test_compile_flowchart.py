"""The flowchart layout of decision trees: every branch drawn, boxes never overlap, edges
always run downward, and a deep tree with long edges stays readable."""

from __future__ import annotations

import pytest
from compile_helpers import loaded

from charter.compile.flowchart import layout
from charter.policy.spec import Node, Outcome, Tree


def _wide_tree() -> Tree:
    """A tree whose 'allowed' outcome is reached from every depth (long edges)."""
    nodes = {
        f"n{i}": Node(
            question=f"Question number {i} about the content?", yes=f"n{i + 1}" if i < 4 else "bad", no="fine"
        )
        for i in range(5)
    }
    nodes["n0"] = Node(
        question="Which kind?", type="choice", options={"a": "n1", "b": "review", "c": "fine", "d": "n3"}
    )
    outcomes = {
        "bad": Outcome(label="violating", rule_ids=["R.1"], action="remove"),
        "fine": Outcome(label="allowed"),
        "review": Outcome(label="needs_review"),
    }
    return Tree(root="n0", nodes=nodes, outcomes=outcomes)


def _trees() -> list[tuple[str, Tree]]:
    trees = [("wide", _wide_tree())]
    for name in ("fixture", "example"):
        trees += [(f"{name}:{c.id}", c.tree) for c in loaded(name).policy.categories]
    return trees


TREES = _trees()


@pytest.mark.parametrize(("name", "tree"), TREES, ids=[n for n, _ in TREES])
def test_every_node_outcome_and_branch_is_drawn(name: str, tree: Tree) -> None:
    chart = layout(tree)
    assert {b.id for b in chart.boxes} == set(tree.nodes) | set(tree.outcomes)
    drawn = sorted((e.source, e.target, e.answer) for e in chart.edges)
    assert drawn == sorted((n, t, a) for n, node in tree.nodes.items() for a, t in node.branches().items())


@pytest.mark.parametrize(("name", "tree"), TREES, ids=[n for n, _ in TREES])
def test_boxes_do_not_overlap_and_fit_the_canvas(name: str, tree: Tree) -> None:
    chart = layout(tree)
    boxes = chart.boxes
    for i, a in enumerate(boxes):
        assert a.x >= 0 and a.y >= 0 and a.x + a.w <= chart.width and a.y + a.h <= chart.height
        for b in boxes[i + 1 :]:
            apart = a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
            assert apart, f"{a.id} overlaps {b.id}"


@pytest.mark.parametrize(("name", "tree"), TREES, ids=[n for n, _ in TREES])
def test_edges_run_downward(name: str, tree: Tree) -> None:
    chart = layout(tree)
    box = {b.id: b for b in chart.boxes}
    for edge in chart.edges:
        assert box[edge.target].y >= box[edge.source].y + box[edge.source].h, (edge.source, edge.target)
        assert edge.path.startswith("M")


def test_long_edges_get_labels_clear_of_each_other() -> None:
    chart = layout(_wide_tree())
    labels = sorted((e.label_y, e.label_x, e.label_w) for e in chart.edges if e.source == "n0")
    for (y1, x1, w1), (y2, x2, w2) in zip(labels, labels[1:]):
        assert abs(y1 - y2) > 18 or abs(x1 - x2) >= (w1 + w2) / 2, labels


def test_layout_is_deterministic() -> None:
    assert layout(_wide_tree()) == layout(_wide_tree())
