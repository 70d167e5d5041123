"""Checks of a dry run's flow graph, and the path data would take through it."""

from __future__ import annotations

import heapq
from typing import Any

from embedded_server.dryrun.graph import (
    FlowGraph,
    Issue,
    depths_from,
    strongly_connected,
)


def default_slot(graph: FlowGraph, routine_id: str) -> tuple[str | None, Issue | None]:
    """Pick the entry slot when none was given: the only slot, else ``input``."""
    slots = graph.slots[routine_id]
    if len(slots) == 1:
        return slots[0], None
    if "input" in slots:
        return "input", None
    if not slots:
        message = f"Routine '{routine_id}' has no slots, so it cannot take entry_params"
    else:
        message = (
            f"Routine '{routine_id}' has slots {', '.join(slots)} and none is "
            "called 'input'; name one in entry_slot"
        )
    issue = Issue("ENTRY_SLOT_MISSING", message, routine_id=routine_id, blocking=True)
    return None, issue


# -- checks ---------------------------------------------------------------------

# Findings that go to validation_errors. Every other code is a warning.
ERROR_CODES = frozenset(
    {
        "ROUTINE_CLASS_MISSING",
        "ROUTINE_CREATE_FAILED",
        "CONNECTION_EVENT_MISSING",
        "CONNECTION_SLOT_MISSING",
        "ENTRY_SLOT_MISSING",
        "ROUTINE_UNREACHABLE",
    }
)


def check(
    graph: FlowGraph, entry: str, entry_slot: str | None
) -> tuple[list[Issue], list[Issue]]:
    """Return the validation errors and warnings of a run that starts at ``entry``."""
    findings = list(graph.issues)
    findings += _reachability(graph, entry)
    findings += _entry_findings(graph, entry)
    findings += _cycles(graph)
    findings += _loose_ports(graph, entry, entry_slot)
    errors = [issue for issue in findings if issue.code in ERROR_CODES]
    warnings = [issue for issue in findings if issue.code not in ERROR_CODES]
    return errors, warnings


def _reachability(graph: FlowGraph, entry: str) -> list[Issue]:
    reached = depths_from(graph, entry)
    from_entries: dict[str, list[str]] = {}
    for start in graph.entry_points:
        for rid in depths_from(graph, start):
            from_entries.setdefault(rid, []).append(start)

    issues = []
    for rid in graph.routine_ids:
        if rid in reached:
            continue
        starts = from_entries.get(rid)
        if starts:
            issues.append(
                Issue(
                    "ROUTINE_NOT_REACHED",
                    f"Routine '{rid}' is not reached from '{entry}'; only jobs "
                    f"that start at {', '.join(starts)} reach it",
                    routine_id=rid,
                )
            )
        else:
            issues.append(
                Issue(
                    "ROUTINE_UNREACHABLE",
                    f"No entry routine reaches routine '{rid}', so it runs only "
                    "when a job starts at it or at a routine that feeds it",
                    routine_id=rid,
                )
            )
    return issues


def _entry_findings(graph: FlowGraph, entry: str) -> list[Issue]:
    incoming = graph.incoming(entry)
    if not incoming:
        return []
    sources = ", ".join(edge.label for edge in incoming)
    return [
        Issue(
            "ENTRY_NOT_ENTRY_POINT",
            f"Routine '{entry}' receives data through {sources}, so it is not an "
            "entry point; a run that starts there skips the routines that feed it",
            routine_id=entry,
        )
    ]


def _cycles(graph: FlowGraph) -> list[Issue]:
    issues = []
    for members in strongly_connected(graph):
        inside = set(members)
        edges = [
            e for rid in members for e in graph.outgoing(rid) if e.target in inside
        ]
        if len(members) == 1 and not edges:
            continue
        issues.append(
            Issue(
                "CYCLE",
                f"Routines {', '.join(members)} form a cycle "
                f"({'; '.join(edge.label for edge in edges)}); data can loop "
                "until a routine stops emitting",
                routine_id=members[0],
                routines=tuple(members),
            )
        )
    return issues


def _loose_ports(graph: FlowGraph, entry: str, entry_slot: str | None) -> list[Issue]:
    connected = {(edge.source, edge.event) for edge in graph.edges}
    fed = {(edge.target, edge.slot) for edge in graph.edges}
    entries = set(graph.entry_points)
    issues = []
    for rid in graph.routine_ids:
        for event in graph.events[rid]:
            if (rid, event) not in connected:
                issues.append(
                    Issue(
                        "EVENT_NOT_CONNECTED",
                        f"Event '{rid}.{event}' is not connected; what it emits "
                        "goes nowhere (an executed dry run lists it in outputs)",
                        routine_id=rid,
                        event=event,
                    )
                )
        # Entry points get their data from the job itself.
        if rid in entries:
            continue
        for slot in graph.slots[rid]:
            if (rid, slot) in fed or (rid == entry and slot == entry_slot):
                continue
            issues.append(
                Issue(
                    "SLOT_NOT_FED",
                    f"Slot '{rid}.{slot}' has no incoming connection, so it never "
                    "receives data",
                    routine_id=rid,
                    slot=slot,
                )
            )
    return issues


# -- the predicted path -----------------------------------------------------------


def predict_path(graph: FlowGraph, entry: str) -> list[dict[str, Any]]:
    """Return the routines reachable from ``entry`` in the order data reaches them.

    The order is topological: a routine comes after every reachable routine
    that feeds it. Where a cycle leaves no such routine, the closest remaining
    one (fewest connections from the entry, then DSL order) goes next.
    """
    depths = depths_from(graph, entry)
    position = {rid: index for index, rid in enumerate(graph.routine_ids)}
    waiting = {rid: 0 for rid in depths}
    for edge in graph.edges:
        if edge.source in depths and edge.target in depths:
            waiting[edge.target] += 1

    remaining = set(depths)
    ready = [(0, position[entry], entry)]
    order: list[str] = []
    while remaining:
        if not ready:
            closest = min(remaining, key=lambda rid: (depths[rid], position[rid]))
            ready.append((depths[closest], position[closest], closest))
        _, _, rid = heapq.heappop(ready)
        if rid not in remaining:
            continue
        remaining.discard(rid)
        order.append(rid)
        for edge in graph.outgoing(rid):
            if edge.target in remaining:
                waiting[edge.target] -= 1
                if waiting[edge.target] <= 0:
                    heapq.heappush(
                        ready, (depths[edge.target], position[edge.target], edge.target)
                    )

    return [
        {
            "routine_id": rid,
            "depth": depths[rid],
            "via": [e.label for e in graph.incoming(rid) if e.source in depths],
        }
        for rid in order
    ]
