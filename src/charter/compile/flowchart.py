"""A layered (Sugiyama-style) layout of a decision tree for the reviewer guideline's SVG
flowchart: layers by longest path, dummy points for edges that skip layers, barycentre
ordering to reduce crossings, and neighbour-averaged x positions. Pure geometry; the
HTML template draws it."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from charter.compile.glossary import plain
from charter.policy.spec import Outcome, Tree

NODE_WIDTH = 232.0
OUTCOME_WIDTH = 196.0
DUMMY_WIDTH = 14.0
H_GAP = 34.0
V_GAP = 66.0
MARGIN = 24.0
LINE_HEIGHT = 15.0
TITLE_HEIGHT = 26.0
PADDING = 12.0
CHARS_PER_LINE = 31  # at 12px sans-serif in a NODE_WIDTH box
MAX_LINES = 5
SWEEPS = 8
LABEL_HEIGHT = 18.0
LABEL_MARGIN = 3.0
LABEL_POSITIONS = (0.5, 0.72, 0.3, 0.85, 0.18)  # where along its first leg an edge label may sit


@dataclass(frozen=True)
class Box:
    id: str
    kind: str  # "node" or "outcome"
    x: float
    y: float
    w: float
    h: float
    lines: list[str]
    label: str | None  # the outcome's label (colours the box); None for nodes
    tooltip: str


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    answer: str
    path: str  # SVG path data
    label_x: float
    label_y: float

    @property
    def label_w(self) -> float:
        return label_width(self.answer)


@dataclass(frozen=True)
class Flowchart:
    width: float
    height: float
    boxes: list[Box]
    edges: list[Edge]


def _wrap(text: str, width: int = CHARS_PER_LINE, limit: int = MAX_LINES) -> list[str]:
    lines = textwrap.wrap(text, width) or [""]
    if len(lines) > limit:
        lines = lines[:limit]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return lines


def _outcome_lines(outcome: Outcome) -> list[str]:
    lines = [outcome.label.replace("_", " ")]
    if outcome.rule_ids:
        lines += _wrap(", ".join(outcome.rule_ids), 27, 2)
    if outcome.action:
        lines.append(f"action: {outcome.action}")
    if outcome.escalate:
        lines.append(f"queue: {outcome.escalate.queue}")
    return lines


def _graph(tree: Tree) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Vertices in depth-first discovery order (root first, then any unreachable nodes)
    and the forward edges (source, target, answer); edges closing a cycle are dropped."""
    order: list[str] = []
    edges: list[tuple[str, str, str]] = []
    state: dict[str, int] = {}

    def visit(vertex: str) -> None:
        state[vertex] = 1
        order.append(vertex)
        node = tree.nodes.get(vertex)
        for answer, target in node.branches().items() if node else []:
            if target not in tree.nodes and target not in tree.outcomes:
                continue
            if state.get(target) == 1:
                continue
            edges.append((vertex, target, answer))
            if target not in state:
                visit(target)
        state[vertex] = 2

    for start in [tree.root, *tree.nodes]:
        if start not in state and (start in tree.nodes or start in tree.outcomes):
            visit(start)
    return order, edges


def _topological(order: list[str], edges: list[tuple[str, str, str]]) -> list[str]:
    indegree = {v: 0 for v in order}
    for _, target, _ in edges:
        indegree[target] += 1
    ready = [v for v in order if indegree[v] == 0]
    result: list[str] = []
    while ready:
        vertex = ready.pop(0)
        result.append(vertex)
        for source, target, _ in edges:
            if source == vertex:
                indegree[target] -= 1
                if indegree[target] == 0:
                    ready.append(target)
    return result


def _crossings(layers: list[list[str]], succ: dict[str, list[str]]) -> int:
    total = 0
    for upper, lower in zip(layers, layers[1:]):
        pos = {v: i for i, v in enumerate(lower)}
        pairs = [(i, pos[t]) for i, v in enumerate(upper) for t in succ[v] if t in pos]
        total += sum(1 for a in pairs for b in pairs if a[0] < b[0] and a[1] > b[1])
    return total


def _order_layers(layers: list[list[str]], succ: dict[str, list[str]], pred: dict[str, list[str]]) -> list[list[str]]:
    """Barycentre sweeps down and up; keeps the ordering with the fewest crossings."""
    best = [list(layer) for layer in layers]
    best_crossings = _crossings(best, succ)
    current = [list(layer) for layer in layers]
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        indices = range(1, len(current)) if downward else range(len(current) - 2, -1, -1)
        for i in indices:
            ref = current[i - 1] if downward else current[i + 1]
            pos = {v: k for k, v in enumerate(ref)}
            neighbours = pred if downward else succ
            keyed = []
            for k, v in enumerate(current[i]):
                near = [pos[n] for n in neighbours[v] if n in pos]
                keyed.append((sum(near) / len(near) if near else float(k), k, v))
            current[i] = [v for _, _, v in sorted(keyed)]
        crossings = _crossings(current, succ)
        if crossings < best_crossings:
            best, best_crossings = [list(layer) for layer in current], crossings
    return best


def _place_x(
    layers: list[list[str]], width: dict[str, float], succ: dict[str, list[str]], pred: dict[str, list[str]]
) -> dict[str, float]:
    """Centre x of every vertex: packed rows, then pulled toward the mean of neighbours
    while keeping each row's order and spacing."""
    x: dict[str, float] = {}
    for layer in layers:
        cursor = 0.0
        for v in layer:
            x[v] = cursor + width[v] / 2
            cursor += width[v] + H_GAP
    for sweep in range(SWEEPS * 2):
        neighbours = pred if sweep % 2 == 0 else succ
        for layer in layers:
            desired = []
            for v in layer:
                near = [x[n] for n in neighbours[v]]
                desired.append(sum(near) / len(near) if near else x[v])
            forward = list(desired)
            for k in range(1, len(layer)):
                gap = (width[layer[k - 1]] + width[layer[k]]) / 2 + H_GAP
                forward[k] = max(forward[k], forward[k - 1] + gap)
            backward = list(desired)
            for k in range(len(layer) - 2, -1, -1):
                gap = (width[layer[k]] + width[layer[k + 1]]) / 2 + H_GAP
                backward[k] = min(backward[k], backward[k + 1] - gap)
            for k, v in enumerate(layer):
                x[v] = (forward[k] + backward[k]) / 2
    left = min(x[v] - width[v] / 2 for v in x)
    return {v: x[v] - left + MARGIN for v in x}


def _bezier(p0: tuple[float, float], p1: tuple[float, float], t: float) -> tuple[float, float]:
    """A point on the vertical S-curve from p0 to p1 that edges are drawn with."""
    (x0, y0), (x1, y1) = p0, p1
    ym = (y0 + y1) / 2
    xs = (x0, x0, x1, x1)
    ys = (y0, ym, ym, y1)
    coeff = ((1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3)
    return sum(c * v for c, v in zip(coeff, xs)), sum(c * v for c, v in zip(coeff, ys))


def layout(tree: Tree) -> Flowchart:
    """Lay out `tree` top-down: questions as boxes, outcomes as boxes coloured by label."""
    order, edges = _graph(tree)
    layer_of: dict[str, int] = {v: 0 for v in order}
    for vertex in _topological(order, edges):
        for source, target, _ in edges:
            if source == vertex:
                layer_of[target] = max(layer_of[target], layer_of[vertex] + 1)

    # Split edges that skip layers into chains through dummy vertices.
    succ: dict[str, list[str]] = {v: [] for v in order}
    pred: dict[str, list[str]] = {v: [] for v in order}
    chains: list[tuple[str, str, str, list[str]]] = []
    label_room: dict[str, float] = {}
    for n, (source, target, answer) in enumerate(edges):
        chain = [source]
        for depth in range(layer_of[source] + 1, layer_of[target]):
            dummy = f"~{n}.{depth}"
            layer_of[dummy] = depth
            succ[dummy], pred[dummy] = [], []
            chain.append(dummy)
        if len(chain) > 1:
            label_room[chain[1]] = label_width(answer)
        chain.append(target)
        for a, b in zip(chain, chain[1:]):
            succ[a].append(b)
            pred[b].append(a)
        chains.append((source, target, answer, chain))

    depth_count = max(layer_of.values()) + 1
    layers: list[list[str]] = [[] for _ in range(depth_count)]
    for vertex in order + [d for d in layer_of if d.startswith("~")]:
        layers[layer_of[vertex]].append(vertex)
    layers = _order_layers(layers, succ, pred)

    lines: dict[str, list[str]] = {}
    width: dict[str, float] = {}
    height: dict[str, float] = {}
    for vertex in layer_of:
        if vertex.startswith("~"):
            lines[vertex], width[vertex], height[vertex] = [], label_room.get(vertex, DUMMY_WIDTH), 0.0
            continue
        if vertex in tree.nodes:
            lines[vertex], width[vertex] = _wrap(plain(tree.nodes[vertex].question)), NODE_WIDTH
        else:
            lines[vertex], width[vertex] = _outcome_lines(tree.outcomes[vertex]), OUTCOME_WIDTH
        height[vertex] = TITLE_HEIGHT + LINE_HEIGHT * len(lines[vertex]) + PADDING

    x = _place_x(layers, width, succ, pred)
    layer_top: list[float] = []
    layer_height: list[float] = []
    cursor = MARGIN
    for layer in layers:
        layer_top.append(cursor)
        layer_height.append(max(height[v] for v in layer))
        cursor += layer_height[-1] + V_GAP
    total_height = cursor - V_GAP + MARGIN
    total_width = max(x[v] + width[v] / 2 for v in x) + MARGIN

    boxes = []
    for vertex in order:
        top = layer_top[layer_of[vertex]]
        is_node = vertex in tree.nodes
        if is_node:
            node = tree.nodes[vertex]
            tooltip = plain(node.question) + (f"\n\nGuidance: {plain(node.guidance)}" if node.guidance else "")
        else:
            tooltip = plain(tree.outcomes[vertex].note) or vertex
        boxes.append(
            Box(
                id=vertex,
                kind="node" if is_node else "outcome",
                x=round(x[vertex] - width[vertex] / 2, 1),
                y=round(top, 1),
                w=width[vertex],
                h=round(height[vertex], 1),
                lines=lines[vertex],
                label=None if is_node else tree.outcomes[vertex].label,
                tooltip=tooltip,
            )
        )

    # Ports: spread each vertex's outgoing edges along its bottom and incoming along its top,
    # in the left-to-right order of the vertices at their other ends.
    out_port: dict[tuple[str, str], float] = {}
    in_port: dict[tuple[str, str], float] = {}
    for vertex in layer_of:
        outs = sorted(succ[vertex], key=lambda t: x[t])
        for k, target in enumerate(outs):
            out_port[(vertex, target)] = _spread(x[vertex], width[vertex], k, len(outs))
        ins = sorted(pred[vertex], key=lambda s: x[s])
        for k, source in enumerate(ins):
            in_port[(source, vertex)] = _spread(x[vertex], width[vertex] * 0.6, k, len(ins))

    routed = []
    for source, target, answer, chain in chains:
        start = (out_port[(chain[0], chain[1])], layer_top[layer_of[source]] + height[source])
        d = f"M{start[0]:.1f},{start[1]:.1f}"
        point = start
        legs: list[tuple[tuple[float, float], tuple[float, float]]] = []
        for a, b in zip(chain, chain[1:]):
            top_b = layer_top[layer_of[b]]
            end = (x[b] if b.startswith("~") else in_port[(a, b)], top_b)
            mid = (point[1] + end[1]) / 2
            d += f" C{point[0]:.1f},{mid:.1f} {end[0]:.1f},{mid:.1f} {end[0]:.1f},{end[1]:.1f}"
            legs.append((point, end))
            if b.startswith("~"):
                point = (end[0], top_b + layer_height[layer_of[b]])
                d += f" L{point[0]:.1f},{point[1]:.1f}"
            else:
                point = end
        candidates = [_bezier(*legs[0], t) for t in LABEL_POSITIONS]
        if len(chain) > 2:
            # Best spot: on the first dummy, whose width reserved room for the label.
            dummy = chain[1]
            top, span = layer_top[layer_of[dummy]], layer_height[layer_of[dummy]]
            candidates = [(x[dummy], top + min(span / 2, 40.0)), (x[dummy], top + 12.0), *candidates]
        routed.append((source, target, answer, d, candidates))

    obstacles = [(b.x, b.y, b.w, b.h) for b in boxes]
    placed: list[tuple[float, float, float, float]] = []
    drawn = []
    for source, target, answer, d, candidates in routed:
        w = label_width(answer)
        rects = [(cx - w / 2, cy - LABEL_HEIGHT / 2, w, LABEL_HEIGHT) for cx, cy in candidates]
        best = min(range(len(rects)), key=lambda k: (_overlap(rects[k], placed + obstacles), k))
        placed.append(rects[best])
        label_x, label_y = candidates[best]
        drawn.append(Edge(source, target, answer, d, round(label_x, 1), round(label_y, 1)))
    return Flowchart(round(total_width, 1), round(total_height, 1), boxes, drawn)


def label_width(answer: str) -> float:
    """Width of an edge label's pill (11px semibold text), shared with the SVG template."""
    return round(len(answer) * 6.8 + 12, 1)


def _overlap(rect: tuple[float, float, float, float], others: list[tuple[float, float, float, float]]) -> float:
    """Total area (with a small margin) that `rect` shares with `others`."""
    x, y, w, h = rect
    total = 0.0
    for ox, oy, ow, oh in others:
        dx = min(x + w, ox + ow) - max(x, ox) + LABEL_MARGIN
        dy = min(y + h, oy + oh) - max(y, oy) + LABEL_MARGIN
        if dx > 0 and dy > 0:
            total += dx * dy
    return total


def _spread(centre: float, span: float, k: int, n: int) -> float:
    return centre - span / 2 + span * (k + 1) / (n + 1)
