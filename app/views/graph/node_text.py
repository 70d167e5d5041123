"""Text shown on and over a flow graph node: its state line and its tool tips."""

from __future__ import annotations

import html
import logging

from app.models.debug_records import ROUTINE, BreakpointInfo
from app.models.flow_graph import FlowGraph, GraphNode
from app.models.run_state import NodeRunState, NodeStatus
from app.views.graph import glyphs

logger = logging.getLogger(__name__)


def state_text(state: NodeRunState, *, long: bool = False) -> str:
    """Return a node's state line, such as ``completed · 3 runs · last 1.2 ms``.

    Without ``long`` a failed routine's line ends with its last error; the
    tool tip gives the error a line of its own instead.
    """
    status = state.status
    text = glyphs.STATUS_TEXT[status]
    if status is NodeStatus.PAUSED and state.paused_at is not None:
        kind, port = state.paused_at
        text = f"paused at {kind} {port}" if port else f"paused at {kind}"
    elif status is NodeStatus.RUNNING and state.running > 1:
        text = f"running ×{state.running}"

    runs = f"{state.runs} run{'s' if state.runs != 1 else ''}"
    parts = [text, runs] if state.runs or status is not NodeStatus.IDLE else [text]
    if state.failed and status is not NodeStatus.FAILED:
        parts.append(f"{state.failed} failed")
    if status is NodeStatus.FAILED and state.last_error and not long:
        parts.append(state.last_error)
    elif state.last_duration_ms is not None and status is NodeStatus.COMPLETED:
        parts.append(f"last {state.last_duration_ms:.3g} ms")
    return " · ".join(parts)


def summary_tip(graph: FlowGraph, node: GraphNode) -> str:
    """Return the tool tip of a node's body: class, state, last error and findings."""
    state = graph.state(node.routine_id)
    class_name = html.escape(node.class_name or "routine")
    lines = [f"<b>{html.escape(node.routine_id)}</b> ({class_name})"]
    if node.is_entry:
        lines.append("Entry routine: jobs can start here")
    if state.runs or state.status is not NodeStatus.IDLE:
        lines.append(html.escape(state_text(state, long=True)))
    if state.last_error:
        lines.append(f"Last error: {html.escape(state.last_error)}")
    for finding in graph.findings(node.routine_id):
        label = "Error" if finding.is_error else "Warning"
        lines.append(f"{label} {finding.code}: {html.escape(finding.message)}")
    return "<br>".join(lines)


def port_tip(graph: FlowGraph, routine_id: str, kind: str, port: str | None) -> str:
    """Return the tool tip of a port or of a routine's run mark, with its breakpoints."""
    rid = html.escape(routine_id)
    if kind == ROUTINE:
        where = f"the run of <b>{rid}</b> (its logic is about to be called)"
    else:
        where = f"{kind} <b>{rid}.{html.escape(port or '')}</b>"
    items = graph.port_breakpoints(routine_id, kind, port)
    has_flow_breakpoint = any(item.job_id is None for item in items)
    verb = "remove the" if has_flow_breakpoint else "add a"
    lines = [f"Click to {verb} breakpoint at {where}"]
    lines += [describe_breakpoint(item) for item in items]
    return "<br>".join(lines)


def describe_breakpoint(item: BreakpointInfo) -> str:
    """Return one line about a breakpoint: scope, condition, hits and last error."""
    scope = "flow" if item.job_id is None else f"job {item.job_id}"
    kind = "Logpoint" if item.is_logpoint else "Breakpoint"
    parts = [f"{kind} ({scope}{'' if item.enabled else ', disabled'})"]
    if item.condition:
        parts.append(f"condition <code>{html.escape(item.condition)}</code>")
    if item.hit_condition:
        parts.append(f"hit condition <code>{html.escape(item.hit_condition)}</code>")
    parts.append(f"{item.hit_count} hit{'s' if item.hit_count != 1 else ''}")
    if item.last_error:
        parts.append(f"error: {html.escape(item.last_error)}")
    return " · ".join(parts)
