"""A layered drawing of the component graph, for the HTML report's SVG.

Components are layered by longest path: the graph's strongly connected components (dependency
cycles) are condensed, the condensation's topological generations give the layers (what nothing
depends on at the top, the lowest dependencies at the bottom), and each cycle's members sit side
by side in one layer. Within a layer nodes are ordered by the barycentre of their neighbours
(a down and an up sweep) to reduce crossings; a layer wider than ``max_width`` wraps into rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

CHAR_WIDTH = 7.0  # 12px monospace
NODE_HEIGHT = 24.0
NODE_GAP = 14.0
ROW_GAP = 46.0
MARGIN = 16.0
MAX_LABEL = 40


@dataclass(frozen=True)
class Box:
    name: str
    x: float
    y: float
    width: float
    height: float = NODE_HEIGHT

    @property
    def center_x(self) -> float:
        return self.x + self.width / 2

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass
class Layout:
    boxes: dict[str, Box] = field(default_factory=dict)
    edges: list[tuple[str, str, str, bool]] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0


def label(name: str) -> str:
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"


def node_width(name: str) -> float:
    return max(48.0, len(label(name)) * CHAR_WIDTH + 16.0)


def layers(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Longest-path layers of the graph ``source -> target`` (dependent -> dependency)."""
    import networkx as nx

    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((s, t) for s, t in edges if s != t and s in graph and t in graph)
    condensed = nx.condensation(graph)
    return [
        sorted(name for scc in generation for name in condensed.nodes[scc]["members"])
        for generation in nx.topological_generations(condensed)
    ]


def _barycentre_sort(
    layer: list[str], neighbours: dict[str, list[str]], position: dict[str, float]
) -> list[str]:
    def key(name: str) -> tuple[float, str]:
        placed = [position[n] for n in neighbours.get(name, []) if n in position]
        return (sum(placed) / len(placed) if placed else position.get(name, 0.0), name)

    return sorted(layer, key=key)


def order_layers(
    layered: list[list[str]], edges: Sequence[tuple[str, str]], sweeps: int = 2
) -> list[list[str]]:
    """Reorder each layer by the barycentre of its neighbours in the adjacent layers."""
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for source, target in edges:
        parents.setdefault(target, []).append(source)
        children.setdefault(source, []).append(target)
    ordered = [list(layer) for layer in layered]
    for _ in range(sweeps):
        for neighbours, indices in (
            (parents, range(1, len(ordered))),
            (children, range(len(ordered) - 2, -1, -1)),
        ):
            for i in indices:
                position = _positions(ordered)
                ordered[i] = _barycentre_sort(ordered[i], neighbours, position)
    return ordered


def _positions(ordered: list[list[str]]) -> dict[str, float]:
    """Each node's relative position (0..1) within its layer."""
    return {
        name: (index + 0.5) / len(layer) for layer in ordered for index, name in enumerate(layer)
    }


def _rows(layer: list[str], max_width: float) -> list[list[str]]:
    rows: list[list[str]] = [[]]
    width = 0.0
    for name in layer:
        needed = node_width(name) + NODE_GAP
        if rows[-1] and width + needed > max_width:
            rows.append([])
            width = 0.0
        rows[-1].append(name)
        width += needed
    return rows


def layout(
    nodes: Iterable[str], edges: Iterable[tuple[str, str, str, bool]], max_width: float = 1300.0
) -> Layout:
    """Boxes for every node and the edges between drawn nodes."""
    node_list = sorted(set(nodes))
    kept = [edge for edge in edges if edge[0] in node_list and edge[1] in node_list]
    pairs = [(source, target) for source, target, _, _ in kept]
    rows = [
        row
        for layer in order_layers(layers(node_list, pairs), pairs)
        for row in _rows(layer, max_width - 2 * MARGIN)
    ]
    widths = [sum(node_width(n) + NODE_GAP for n in row) - NODE_GAP for row in rows]
    total_width = max(widths, default=0.0) + 2 * MARGIN
    result = Layout(edges=kept, width=total_width)
    for number, (row, row_width) in enumerate(zip(rows, widths, strict=True)):
        x = (total_width - row_width) / 2
        y = MARGIN + number * (NODE_HEIGHT + ROW_GAP)
        for name in row:
            result.boxes[name] = Box(name, x, y, node_width(name))
            x += node_width(name) + NODE_GAP
    result.height = MARGIN * 2 + len(rows) * (NODE_HEIGHT + ROW_GAP) - ROW_GAP
    return result
