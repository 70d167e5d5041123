"""The flow graph the graph view draws: routines, connections, positions and marks.

One ``FlowGraph`` contains one flow at a time: its routines as nodes with slots
and events, its connections as edges, the positions from the layered
layout, and what is drawn on top: the selected job's per-routine state, the
flow's breakpoints and the last dry run's path and findings. It knows nothing
of widgets; the view listens to its signals and repaints what changed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from app.models.debug_records import ROUTINE, BreakpointInfo
from app.models.dry_run import DryRunResult, Finding
from app.models.graph_layout import GraphLayout, NodeBox
from app.models.records import FlowInfo
from app.models.run_state import NodeRunState

logger = logging.getLogger(__name__)

Point = tuple[float, float]

# Node geometry in scene units, shared by the layout and the view.
NODE_WIDTH = 220.0
HEADER_HEIGHT = 42.0
PORT_HEIGHT = 20.0
FOOTER_HEIGHT = 22.0
PORT_PADDING = 6.0

_IDLE = NodeRunState()


@dataclass(frozen=True)
class GraphNode:
    """A routine of the flow, drawn as one node."""

    routine_id: str
    class_name: str
    slots: tuple[str, ...]
    events: tuple[str, ...]
    is_entry: bool

    @property
    def size(self) -> tuple[float, float]:
        """Width and height of the node."""
        rows = max(len(self.slots), len(self.events), 1)
        height = HEADER_HEIGHT + rows * PORT_HEIGHT + 2 * PORT_PADDING + FOOTER_HEIGHT
        return NODE_WIDTH, height

    def port_y(self, index: int) -> float:
        """Return the centre of port row ``index``, from the node's top."""
        return HEADER_HEIGHT + PORT_PADDING + (index + 0.5) * PORT_HEIGHT


@dataclass(frozen=True)
class GraphEdge:
    """A connection from one routine's event to another routine's slot."""

    index: int
    source: str
    event: str
    target: str
    slot: str

    @property
    def label(self) -> str:
        """The connection as the server writes it: ``a.event -> b.slot``."""
        return f"{self.source}.{self.event} -> {self.target}.{self.slot}"


class FlowGraph(QObject):
    """One flow's graph with its layout, live job state, breakpoints and dry run.

    Signals:
        flow_changed: Another flow (or none) is shown; nodes and edges are new.
        layout_changed: Node positions and edge routes were replaced.
        states_changed(list): Routine ids whose run state changed.
        breakpoints_changed(list): Routine ids whose breakpoints changed.
        dry_run_changed: The dry-run path and findings were replaced.
    """

    flow_changed = Signal()
    layout_changed = Signal()
    states_changed = Signal(list)
    breakpoints_changed = Signal(list)
    dry_run_changed = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._flow: FlowInfo | None = None
        self._nodes: dict[str, GraphNode] = {}
        self._edges: list[GraphEdge] = []
        self._layout: GraphLayout | None = None
        self._job_id: str | None = None
        self._states: dict[str, NodeRunState] = {}
        self._breakpoints: dict[str, tuple[BreakpointInfo, ...]] = {}
        self._dry_run: DryRunResult | None = None
        self._findings: dict[str, tuple[Finding, ...]] = {}

    # -- structure ------------------------------------------------------------

    @property
    def flow(self) -> FlowInfo | None:
        """The flow shown, or None."""
        return self._flow

    @property
    def flow_id(self) -> str | None:
        """Id of the flow shown, or None."""
        return self._flow.flow_id if self._flow is not None else None

    @property
    def nodes(self) -> dict[str, GraphNode]:
        """The nodes by routine id, in the flow's order."""
        return self._nodes

    @property
    def edges(self) -> list[GraphEdge]:
        """The edges in the flow's connection order."""
        return self._edges

    def set_flow(self, flow: FlowInfo | None) -> None:
        """Show ``flow``; states, breakpoints, dry run and layout start empty."""
        self._flow = flow
        self._nodes, self._edges = _build(flow)
        self._layout = None
        self._job_id = None
        self._states = {}
        self._breakpoints = {}
        self._dry_run = None
        self._findings = {}
        self.flow_changed.emit()

    def layout_input(self) -> tuple[list[NodeBox], list[tuple[str, str]], list[str]]:
        """Return the node boxes, routine links and entry routines to lay out."""
        boxes = [NodeBox(rid, *node.size) for rid, node in self._nodes.items()]
        links = [(edge.source, edge.target) for edge in self._edges]
        roots = [rid for rid, node in self._nodes.items() if node.is_entry]
        return boxes, links, roots

    # -- layout -----------------------------------------------------------------

    @property
    def layout(self) -> GraphLayout | None:
        """The computed layout, or None until it is ready."""
        return self._layout

    def set_layout(self, layout: GraphLayout, flow_id: str | None) -> bool:
        """Use ``layout`` if it was computed for the flow shown; return whether it was."""
        if flow_id != self.flow_id:
            logger.debug("= dropping a layout of flow %s", flow_id)
            return False
        self._layout = layout
        self.layout_changed.emit()
        return True

    def position(self, routine_id: str) -> Point:
        """Return the top-left corner of a node, (0, 0) before the layout."""
        if self._layout is None:
            return 0.0, 0.0
        return self._layout.positions.get(routine_id, (0.0, 0.0))

    def slot_anchor(self, routine_id: str, slot: str) -> Point:
        """Return where edges end on a slot, in scene coordinates."""
        node = self._nodes[routine_id]
        x, y = self.position(routine_id)
        index = node.slots.index(slot) if slot in node.slots else 0
        return x, y + node.port_y(index)

    def event_anchor(self, routine_id: str, event: str) -> Point:
        """Return where edges start on an event, in scene coordinates."""
        node = self._nodes[routine_id]
        x, y = self.position(routine_id)
        index = node.events.index(event) if event in node.events else 0
        return x + node.size[0], y + node.port_y(index)

    def route(self, edge: GraphEdge) -> tuple[Point, ...]:
        """Return the bend points of ``edge`` between its two ends."""
        if self._layout is None:
            return ()
        return self._layout.routes.get((edge.source, edge.target), ())

    # -- live job state ---------------------------------------------------------

    @property
    def job_id(self) -> str | None:
        """The job whose state the nodes show, or None."""
        return self._job_id

    def set_job(self, job_id: str | None) -> None:
        """Show the state of ``job_id``, or of no job; the states start idle."""
        if job_id == self._job_id:
            return
        self._job_id = job_id
        self._states = {}
        self.states_changed.emit(list(self._nodes))

    def state(self, routine_id: str) -> NodeRunState:
        """Return a routine's state in the selected job."""
        return self._states.get(routine_id, _IDLE)

    def set_states(self, states: Mapping[str, NodeRunState]) -> None:
        """Replace the per-routine states and announce the routines that changed."""
        changed = [
            rid
            for rid in self._nodes
            if self._states.get(rid, _IDLE) != states.get(rid, _IDLE)
        ]
        self._states = {
            rid: state for rid, state in states.items() if rid in self._nodes
        }
        if changed:
            self.states_changed.emit(changed)

    # -- breakpoints ----------------------------------------------------------

    def breakpoints(self, routine_id: str) -> tuple[BreakpointInfo, ...]:
        """Return the breakpoints on a routine, flow breakpoints first."""
        return self._breakpoints.get(routine_id, ())

    def port_breakpoints(
        self, routine_id: str, kind: str, port: str | None
    ) -> tuple[BreakpointInfo, ...]:
        """Return the breakpoints that stop at one slot, event or routine run.

        A slot or event breakpoint without a port matches every port of its
        kind, so it is returned for each of them.
        """
        return tuple(
            item
            for item in self.breakpoints(routine_id)
            if item.kind == kind and (kind == ROUTINE or item.port in (None, port))
        )

    def set_breakpoints(self, items: Iterable[BreakpointInfo]) -> None:
        """Show the breakpoints of the flow shown among ``items``."""
        grouped: dict[str, list[BreakpointInfo]] = {}
        for item in items:
            if item.flow_id == self.flow_id and item.routine_id in self._nodes:
                grouped.setdefault(item.routine_id, []).append(item)
        new = {
            rid: tuple(sorted(group, key=lambda item: item.job_id is not None))
            for rid, group in grouped.items()
        }
        changed = [
            rid for rid in self._nodes if self._breakpoints.get(rid) != new.get(rid)
        ]
        self._breakpoints = new
        if changed:
            self.breakpoints_changed.emit(changed)

    # -- dry run ------------------------------------------------------------------

    @property
    def dry_run(self) -> DryRunResult | None:
        """The dry run drawn on the graph, or None."""
        return self._dry_run

    def set_dry_run(self, result: DryRunResult | None) -> None:
        """Draw ``result``'s path and findings, or remove them for None."""
        self._dry_run = result
        findings: dict[str, list[Finding]] = {}
        for finding in result.findings() if result is not None else ():
            for rid in {finding.routine_id, *finding.routines} - {None}:
                findings.setdefault(str(rid), []).append(finding)
        self._findings = {rid: tuple(items) for rid, items in findings.items()}
        self.dry_run_changed.emit()

    def path_index(self, routine_id: str) -> int | None:
        """Return a routine's position on the dry-run path, from 0, or None."""
        if self._dry_run is None:
            return None
        ids = self._dry_run.path_ids
        return ids.index(routine_id) if routine_id in ids else None

    def on_path(self, edge: GraphEdge) -> bool:
        """Return whether the dry-run path uses ``edge``."""
        return self._dry_run is not None and edge.label in self._dry_run.via_connections

    def findings(self, routine_id: str) -> tuple[Finding, ...]:
        """Return the dry run's errors and warnings about a routine."""
        return self._findings.get(routine_id, ())


def _build(flow: FlowInfo | None) -> tuple[dict[str, GraphNode], list[GraphEdge]]:
    if flow is None:
        return {}, []
    entries = set(flow.entry_routines)
    nodes = {
        rid: GraphNode(rid, info.class_name, info.slots, info.events, rid in entries)
        for rid, info in flow.routines.items()
    }
    edges = []
    for connection in flow.connections:
        if (
            connection.source_routine not in nodes
            or connection.target_routine not in nodes
        ):
            logger.warning(
                "Flow %s: skipping a connection to an unknown routine: %s.%s -> %s.%s",
                flow.flow_id,
                connection.source_routine,
                connection.source_event,
                connection.target_routine,
                connection.target_slot,
            )
            continue
        edges.append(
            GraphEdge(
                len(edges),
                connection.source_routine,
                connection.source_event,
                connection.target_routine,
                connection.target_slot,
            )
        )
    return nodes, edges
