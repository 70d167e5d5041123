"""Left-to-right layered (Sugiyama) layout of a flow graph, computed with grandalf.

The layout is plain Python with no Qt, so it can run in a worker thread
(``loop.run_in_executor``) and hand its result back as data. grandalf lays
out layers from top to bottom; this module gives it each node with width and
height swapped and swaps the coordinates back, so layers run left to right.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import DummyVertex, SugiyamaLayout

logger = logging.getLogger(__name__)

Point = tuple[float, float]

LAYER_GAP = 110.0
NODE_GAP = 36.0
COMPONENT_GAP = 70.0
# Ordering passes of grandalf's crossing reduction; more passes cost time
# and rarely remove more crossings on flow-sized graphs.
ORDERING_ROUNDS = 2


@dataclass(frozen=True)
class NodeBox:
    """A node to place, with its size in scene units."""

    node_id: str
    width: float
    height: float


@dataclass(frozen=True)
class GraphLayout:
    """Where each node goes and how each long link bends.

    Attributes:
        positions: The top-left corner of each node.
        routes: For each (source, target) link that spans more than one
            layer, the points between the two nodes that the link passes
            through, from source to target. Links between neighbouring
            layers have no entry.
        width: Width of the whole drawing.
        height: Height of the whole drawing.
    """

    positions: dict[str, Point] = field(default_factory=dict)
    routes: dict[tuple[str, str], tuple[Point, ...]] = field(default_factory=dict)
    width: float = 0.0
    height: float = 0.0


class _VertexView:
    """The size and position grandalf reads and writes for one vertex."""

    def __init__(self, w: float, h: float) -> None:
        self.w = w
        self.h = h
        self.xy: Point = (0.0, 0.0)


class _EdgeView:
    """Receives the polyline grandalf routes for one edge."""

    def __init__(self) -> None:
        self.points: list[Point] = []

    def setpath(self, points: list[Point]) -> None:
        self.points = list(points)


def compute_layout(
    boxes: Sequence[NodeBox],
    links: Iterable[tuple[str, str]],
    *,
    roots: Iterable[str] = (),
    layer_gap: float = LAYER_GAP,
    node_gap: float = NODE_GAP,
) -> GraphLayout:
    """Place ``boxes`` in layers from left to right so that ``links`` point right.

    Args:
        boxes: The nodes with their sizes.
        links: (source, target) node pairs. Duplicates, self-links and links
            to unknown nodes are ignored; cycles are allowed.
        roots: Nodes to put in the first layer of their component, such as a
            flow's entry routines.
        layer_gap: Horizontal space between layers.
        node_gap: Vertical space between nodes of one layer.
    """
    started = time.perf_counter()
    vertices = {box.node_id: _vertex(box) for box in boxes}
    edges = _edges(vertices, links)
    graph = Graph(list(vertices.values()), list(edges.values()))

    root_ids = set(roots)
    layout = GraphLayout()
    top = 0.0
    for component in _components_in_order(graph, vertices):
        _place_component(component, root_ids, layer_gap, node_gap)
        top = _collect(component, edges, layout, top) + COMPONENT_GAP

    width = max(
        (x + vertices[node].data.width for node, (x, _y) in layout.positions.items()),
        default=0.0,
    )
    height = max(top - COMPONENT_GAP, 0.0)
    result = GraphLayout(layout.positions, layout.routes, width, height)
    logger.debug(
        "= laid out %d nodes and %d links in %.0f ms",
        len(vertices),
        len(edges),
        (time.perf_counter() - started) * 1000,
    )
    return result


def _vertex(box: NodeBox) -> Vertex:
    vertex = Vertex(box)
    # Swapped: grandalf's x runs along a layer, which is our vertical axis.
    vertex.view = _VertexView(box.height, box.width)
    return vertex


def _edges(
    vertices: dict[str, Vertex], links: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Edge]:
    edges: dict[tuple[str, str], Edge] = {}
    for source, target in links:
        key = (source, target)
        if source == target or key in edges:
            continue
        if source not in vertices or target not in vertices:
            continue
        edge = Edge(vertices[source], vertices[target])
        edge.view = _EdgeView()
        edges[key] = edge
    return edges


def _components_in_order(graph: Graph, vertices: dict[str, Vertex]) -> list[object]:
    """Return the connected components, largest first, ties in node order."""
    order = {node_id: index for index, node_id in enumerate(vertices)}

    def first_index(component: object) -> int:
        return min(order[v.data.node_id] for v in component.sV)  # type: ignore[attr-defined]

    return sorted(graph.C, key=lambda c: (-len(c.sV), first_index(c)))


def _place_component(
    component: object, root_ids: set[str], layer_gap: float, node_gap: float
) -> None:
    sugiyama = SugiyamaLayout(component)
    sugiyama.xspace = node_gap
    sugiyama.yspace = layer_gap
    members = list(component.sV)  # type: ignore[attr-defined]
    roots = [v for v in members if v.data.node_id in root_ids]
    if not roots:
        roots = [v for v in members if not v.e_in()]
    if not roots:
        # A component that is one big cycle has no natural first layer.
        roots = [min(members, key=lambda v: v.data.node_id)]
    sugiyama.init_all(roots=roots, optimize=True)
    sugiyama.draw(ORDERING_ROUNDS)
    _separate_layers(sugiyama.layers, node_gap)
    sugiyama.draw_edges()


def _separate_layers(layers: list[list[object]], node_gap: float) -> None:
    """Push apart nodes of a layer that overlap, keeping their order.

    grandalf averages four Brandes-Koepf placements per node, and the
    average of two neighbours can come out closer than their sizes allow,
    even equal. Each layer is swept in order and every node moved down
    (along the layer) until it clears the one before it.
    """
    for layer in layers:
        previous_end: float | None = None
        previous_dummy = True
        for vertex in layer:
            dummy = isinstance(vertex, DummyVertex)
            # Bends of long links may run closer to each other than nodes.
            gap = node_gap / 3 if dummy or previous_dummy else node_gap
            view = vertex.view  # type: ignore[attr-defined]
            along, across = view.xy
            half = view.w / 2
            if previous_end is not None and along - half < previous_end + gap:
                along = previous_end + gap + half
                view.xy = (along, across)
            previous_end, previous_dummy = along + half, dummy


def _collect(
    component: object,
    edges: dict[tuple[str, str], Edge],
    layout: GraphLayout,
    top: float,
) -> float:
    """Copy a placed component into ``layout`` below ``top``; return its bottom."""
    members = list(component.sV)  # type: ignore[attr-defined]
    # grandalf gives centres in its own axes: (along the layer, across layers).
    lefts = [v.view.xy[1] - v.view.h / 2 for v in members]
    tops = [v.view.xy[0] - v.view.w / 2 for v in members]
    dx, dy = -min(lefts), top - min(tops)

    bottom = top
    for vertex in members:
        cy, cx = vertex.view.xy
        box: NodeBox = vertex.data
        x, y = cx - box.width / 2 + dx, cy - box.height / 2 + dy
        layout.positions[box.node_id] = (x, y)
        bottom = max(bottom, y + box.height)

    member_ids = {v.data.node_id for v in members}
    for key, edge in edges.items():
        if key[0] not in member_ids or len(edge.view.points) <= 2:
            continue
        inner = edge.view.points[1:-1]
        layout.routes[key] = tuple((py + dx, px + dy) for px, py in inner)
    return bottom
