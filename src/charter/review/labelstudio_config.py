"""A Label Studio labeling config (XML) generated from a policy, so a team can label in Label
Studio exactly the decision trees Charter's reviewers walk, and the results come back in the
control names `charter.review.labelstudio_format` reads.

Per category: one single-choice question per tree node (shown only once the answer that
leads to it is picked, when exactly one answer does: Label Studio's `visibleWhen` /
`whenTagName` / `whenChoiceValue`, https://labelstud.io/tags/view), then the verdict, the
category's rules and a note. Visibility is a convenience: Charter walks the answers from the
root on import and ignores answers off the path, so a stale answer left in a hidden question
does no harm.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from charter.compile.glossary import plain
from charter.errors import CharterError
from charter.policy.spec import Category, Policy
from charter.review.labelstudio_format import (
    TEXT_OBJECT,
    node_control,
    note_control,
    rules_control,
    verdict_control,
)
from charter.review.models import VERDICTS


def _nodes_in_walk_order(category: Category) -> list[str]:
    """Tree nodes breadth-first from the root, so questions appear in the order they are asked."""
    tree, order, queue = category.tree, [], [category.tree.root]
    while queue:
        node_id = queue.pop(0)
        if node_id in order or node_id not in tree.nodes:
            continue
        order.append(node_id)
        queue.extend(tree.nodes[node_id].branches().values())
    return order


def _single_entry(category: Category) -> dict[str, tuple[str, str]]:
    """Nodes reached by exactly one (parent node, answer) edge: node -> (parent, answer)."""
    edges: dict[str, list[tuple[str, str]]] = {}
    for parent, node in category.tree.nodes.items():
        for answer, target in node.branches().items():
            edges.setdefault(target, []).append((parent, answer))
    return {target: entry[0] for target, entry in edges.items() if len(entry) == 1}


def _choices(parent: ET.Element, name: str, values: Sequence[str], *, many: bool = False,
             hints: dict[str, str] | None = None) -> None:
    choices = ET.SubElement(parent, "Choices", name=name, toName=TEXT_OBJECT,
                            choice="multiple" if many else "single-radio", showInline="true")
    for value in values:
        choice = ET.SubElement(choices, "Choice", value=value)
        if hints and value in hints:
            choice.set("hint", hints[value])


def _category_view(parent: ET.Element, category: Category) -> None:
    view = ET.SubElement(parent, "View", style="margin-top: 1em; border-top: 1px solid #ccc")
    ET.SubElement(view, "Header", value=f"{category.title} ({category.id})", size="4")
    entry = _single_entry(category)
    for node_id in _nodes_in_walk_order(category):
        node = category.tree.nodes[node_id]
        question = ET.SubElement(view, "View")
        if node_id in entry:
            parent_id, answer = entry[node_id]
            question.set("visibleWhen", "choice-selected")
            question.set("whenTagName", node_control(category.id, parent_id))
            question.set("whenChoiceValue", answer)
        ET.SubElement(question, "Header", value=plain(node.question), size="6")
        if node.guidance:
            ET.SubElement(ET.SubElement(question, "View", style="color: #555"), "Header", value=plain(node.guidance), size="6")
        _choices(question, node_control(category.id, node_id), list(node.branches()))
    ET.SubElement(view, "Header", value="Verdict (the outcome your answers reach)", size="6")
    _choices(view, verdict_control(category.id), VERDICTS)
    ET.SubElement(view, "Header", value="Rules applied", size="6")
    _choices(view, rules_control(category.id), [r.id for r in category.rules], many=True,
             hints={r.id: r.title for r in category.rules})
    ET.SubElement(view, "TextArea", name=note_control(category.id), toName=TEXT_OBJECT, maxSubmissions="1",
                  rows="2", placeholder="Note (optional)")


def labeling_config(policy: Policy, categories: Sequence[str] | None = None) -> str:
    """The `<View>` XML for `categories` (default: all), in the policy's order."""
    wanted = list(categories) if categories else policy.category_ids()
    unknown = [c for c in wanted if policy.category(c) is None]
    if unknown:
        raise CharterError(f"policy {policy.id}@{policy.version} has no category {', '.join(unknown)} "
                           f"(categories: {', '.join(policy.category_ids())})")
    root = ET.Element("View")
    ET.SubElement(root, "Header", value=f"{policy.metadata.title}: policy {policy.id}@{policy.version}", size="3")
    ET.SubElement(root, "Text", name=TEXT_OBJECT, value=f"${TEXT_OBJECT}")
    for category in policy.categories:
        if category.id in wanted:
            _category_view(root, category)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"
