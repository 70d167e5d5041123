"""A flow's graph rebuilt for a dry run from its DSL and today's routine factory.

A loaded flow matched the factory when it was loaded. The factory is shared
by the whole process and can change afterwards, for example when a routine
module registers a name again or the built-ins are replaced. So the graph is
rebuilt here from the DSL and fresh routine instances, not taken from the
loaded ``FlowSpec``.
"""

from __future__ import annotations

import copy
import logging
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from routilux.core.routine import Routine
from routilux.tools.factory.factory import ObjectFactory

from embedded_server.engine.catalog import FlowSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Issue:
    """One validation finding; ``blocking`` findings make a real run impossible."""

    code: str
    message: str
    routine_id: str | None = None
    slot: str | None = None
    event: str | None = None
    routines: tuple[str, ...] | None = None
    blocking: bool = False

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        for key in ("routine_id", "slot", "event"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        if self.routines is not None:
            body["routines"] = list(self.routines)
        return body


@dataclass(frozen=True)
class Edge:
    """A connection whose event and slot both exist on today's routine classes."""

    source: str
    event: str
    target: str
    slot: str

    @property
    def label(self) -> str:
        return f"{self.source}.{self.event} -> {self.target}.{self.slot}"


@dataclass
class FlowGraph:
    """Routines in DSL order with their current ports, and the usable edges."""

    routine_ids: list[str]
    instances: dict[str, Routine]
    slots: dict[str, tuple[str, ...]]
    events: dict[str, tuple[str, ...]]
    edges: list[Edge]
    issues: list[Issue] = field(default_factory=list)

    def outgoing(self, routine_id: str) -> list[Edge]:
        return self._adjacency[0].get(routine_id, [])

    def incoming(self, routine_id: str) -> list[Edge]:
        return self._adjacency[1].get(routine_id, [])

    @cached_property
    def _adjacency(self) -> tuple[dict[str, list[Edge]], dict[str, list[Edge]]]:
        # Built on first use, once build_graph() has added every edge.
        outgoing: dict[str, list[Edge]] = {}
        incoming: dict[str, list[Edge]] = {}
        for edge in self.edges:
            outgoing.setdefault(edge.source, []).append(edge)
            incoming.setdefault(edge.target, []).append(edge)
        return outgoing, incoming

    @property
    def entry_points(self) -> list[str]:
        """Routines that no usable edge feeds."""
        fed = {edge.target for edge in self.edges}
        return [rid for rid in self.routine_ids if rid not in fed]


# -- building the graph --------------------------------------------------------


def build_graph(flow: FlowSpec) -> FlowGraph:
    """Create each routine of the DSL afresh and keep the connections that still fit."""
    graph = FlowGraph([], {}, {}, {}, [])
    raw_routines = flow.dsl.get("routines") or {}
    for rid, raw in raw_routines.items():
        _add_routine(graph, flow, str(rid), raw if isinstance(raw, dict) else {})

    seen: set[Edge] = set()
    for index, raw in enumerate(flow.dsl.get("connections") or []):
        edge = _check_connection(graph, index, raw)
        if edge is None:
            continue
        if edge in seen:
            graph.issues.append(
                Issue(
                    "DUPLICATE_CONNECTION",
                    f"Connection {edge.label} appears more than once, so each "
                    f"emit of {edge.source}.{edge.event} reaches {edge.target} "
                    "several times",
                    routine_id=edge.source,
                    event=edge.event,
                )
            )
            continue
        seen.add(edge)
        graph.edges.append(edge)
    return graph


def _add_routine(graph: FlowGraph, flow: FlowSpec, rid: str, raw: dict) -> None:
    graph.routine_ids.append(rid)
    loaded = flow.routines.get(rid)
    # The ports known at load time stand in when no instance can be made now.
    graph.slots[rid] = loaded.slots if loaded else ()
    graph.events[rid] = loaded.events if loaded else ()

    factory = ObjectFactory.get_instance()
    class_name = raw.get("class")
    if not isinstance(class_name, str) or factory.get_metadata(class_name) is None:
        graph.issues.append(
            Issue(
                "ROUTINE_CLASS_MISSING",
                f"Routine '{rid}' uses class {class_name!r}, which is no longer "
                "registered in the factory; reload its routine module",
                routine_id=rid,
                blocking=True,
            )
        )
        return
    try:
        instance = factory.create(
            class_name, config=copy.deepcopy(raw.get("config") or {})
        )
    except Exception as exc:
        logger.warning(
            "Dry run could not create routine %s (%s): %s", rid, class_name, exc
        )
        graph.issues.append(
            Issue(
                "ROUTINE_CREATE_FAILED",
                f"Creating routine '{rid}' ({class_name}) failed: "
                f"{type(exc).__name__}: {exc}",
                routine_id=rid,
                blocking=True,
            )
        )
        return
    graph.instances[rid] = instance
    graph.slots[rid] = tuple(instance.slots)
    graph.events[rid] = tuple(instance.events)


def _check_connection(graph: FlowGraph, index: int, raw: Any) -> Edge | None:
    if not isinstance(raw, dict):
        return None
    source, _, event = str(raw.get("from", "")).partition(".")
    target, _, slot = str(raw.get("to", "")).partition(".")
    if source not in graph.slots or target not in graph.slots:
        return None
    if event not in graph.events[source]:
        graph.issues.append(
            Issue(
                "CONNECTION_EVENT_MISSING",
                f"Connection {index} starts at event '{event}', which routine "
                f"'{source}' no longer has; its events: "
                f"{', '.join(graph.events[source]) or 'none'}",
                routine_id=source,
                event=event,
                blocking=True,
            )
        )
        return None
    if slot not in graph.slots[target]:
        graph.issues.append(
            Issue(
                "CONNECTION_SLOT_MISSING",
                f"Connection {index} ends at slot '{slot}', which routine "
                f"'{target}' no longer has; its slots: "
                f"{', '.join(graph.slots[target]) or 'none'}",
                routine_id=target,
                slot=slot,
                blocking=True,
            )
        )
        return None
    return Edge(source, event, target, slot)


# -- traversal ------------------------------------------------------------------


def depths_from(graph: FlowGraph, start: str) -> dict[str, int]:
    """Return the fewest connections from ``start`` to each routine it reaches."""
    depths = {start: 0}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for edge in graph.outgoing(current):
            if edge.target not in depths:
                depths[edge.target] = depths[current] + 1
                queue.append(edge.target)
    return depths


def strongly_connected(graph: FlowGraph) -> list[list[str]]:
    """Return the graph's strongly connected components, members in DSL order.

    Kosaraju's algorithm with explicit stacks, so large flows cannot hit
    Python's recursion limit.
    """
    finished: list[str] = []
    visited: set[str] = set()
    for root in graph.routine_ids:
        if root in visited:
            continue
        visited.add(root)
        stack = [(root, iter(graph.outgoing(root)))]
        while stack:
            node, edges = stack[-1]
            following = next((e.target for e in edges if e.target not in visited), None)
            if following is None:
                stack.pop()
                finished.append(node)
                continue
            visited.add(following)
            stack.append((following, iter(graph.outgoing(following))))

    order = {rid: index for index, rid in enumerate(graph.routine_ids)}
    assigned: set[str] = set()
    components = []
    for root in reversed(finished):
        if root in assigned:
            continue
        assigned.add(root)
        component, pending = [], [root]
        while pending:
            node = pending.pop()
            component.append(node)
            for edge in graph.incoming(node):
                if edge.source not in assigned:
                    assigned.add(edge.source)
                    pending.append(edge.source)
        components.append(sorted(component, key=order.__getitem__))
    return components
