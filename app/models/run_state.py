"""Per-routine run counters of one job, from its trace and from live events.

A job's trace is the record of what its routines did. The event stream
carries the same steps sooner. ``RunStateTracker`` counts the trace that has
been fetched and lays the events that arrived since on top. When the next
part of the trace arrives it drops the events that part contains, so no step
is counted twice.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from app.models.records import TERMINAL_STATUSES, TraceEntry

logger = logging.getLogger(__name__)


class StepKind(enum.Enum):
    """A change in a routine's state, as both the trace and the events report it."""

    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    PAUSED = "paused"
    RESUMED = "resumed"
    ENDED = "ended"


_TRACE_STEPS = {
    "routine_started": StepKind.STARTED,
    "routine_completed": StepKind.COMPLETED,
    "routine_failed": StepKind.FAILED,
    "routine_skipped": StepKind.SKIPPED,
    "paused": StepKind.PAUSED,
    "resumed": StepKind.RESUMED,
}
_EVENT_STEPS = {
    "routine_started": StepKind.STARTED,
    "routine_completed": StepKind.COMPLETED,
    "routine_failed": StepKind.FAILED,
    "job_paused": StepKind.PAUSED,
    "job_resumed": StepKind.RESUMED,
    "job_completed": StepKind.ENDED,
    "job_failed": StepKind.ENDED,
    "job_cancelled": StepKind.ENDED,
}


class NodeStatus(enum.Enum):
    """What a routine's node shows: its current or last state in the job."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Step:
    """One state change of a routine, or of the whole job for ENDED and RESUMED."""

    kind: StepKind
    routine_id: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def matches(self, other: Step) -> bool:
        """Whether ``other`` reports the same step, from the other source."""
        if self.kind is not other.kind:
            return False
        # job_resumed carries no routine; the trace names the paused one.
        return self.kind is StepKind.RESUMED or self.routine_id == other.routine_id


def step_from_trace(entry: TraceEntry) -> Step | None:
    """Return the step a trace entry reports, or None for other entries."""
    kind = _TRACE_STEPS.get(entry.action)
    if kind is None:
        return None
    return Step(kind, entry.routine_id or "", entry.details)


def step_from_event(event: Mapping[str, Any]) -> Step | None:
    """Return the step a WebSocket event reports, or None for other events."""
    kind = _EVENT_STEPS.get(str(event.get("type", "")))
    if kind is None:
        return None
    data = event.get("data")
    data = data if isinstance(data, Mapping) else {}
    return Step(kind, str(data.get("routine_id") or ""), data)


@dataclass(frozen=True)
class NodeRunState:
    """How often a routine ran in one job and how its last run ended.

    Attributes:
        running: Runs started and not yet ended.
        paused_at: ``(kind, port)`` of the pause point while the job is
            paused in this routine, where kind is slot, routine or event.
        last_status: Status of the last run that ended, or None.
        interrupted: The job ended while a run was still going.
    """

    runs: int = 0
    running: int = 0
    completed: int = 0
    failed: int = 0
    skipped: int = 0
    paused_at: tuple[str, str | None] | None = None
    last_status: NodeStatus | None = None
    last_error: str | None = None
    last_duration_ms: float | None = None
    interrupted: bool = False

    @property
    def status(self) -> NodeStatus:
        """The state to show: paused, running, else how the last run ended."""
        if self.paused_at is not None:
            return NodeStatus.PAUSED
        if self.running:
            return NodeStatus.RUNNING
        if self.interrupted:
            return NodeStatus.INTERRUPTED
        return self.last_status or NodeStatus.IDLE


def apply_step(states: dict[str, NodeRunState], step: Step) -> set[str]:
    """Apply ``step`` to ``states`` in place; return the routines it changed."""
    if step.kind is StepKind.ENDED:
        return _end_job(states)
    if step.kind is StepKind.RESUMED:
        paused = [rid for rid, state in states.items() if state.paused_at is not None]
        for routine_id in paused:
            states[routine_id] = replace(states[routine_id], paused_at=None)
        return set(paused)

    routine_id = step.routine_id
    if not routine_id:
        return set()
    changed = {routine_id}
    if step.kind is StepKind.PAUSED:
        # One job pauses in one place at a time.
        changed |= apply_step(states, Step(StepKind.RESUMED, ""))
    state = states.get(routine_id, NodeRunState())
    states[routine_id] = _next_state(state, step)
    return changed


def _next_state(state: NodeRunState, step: Step) -> NodeRunState:
    details = step.details
    if step.kind is StepKind.STARTED:
        return replace(state, runs=state.runs + 1, running=state.running + 1)
    if step.kind is StepKind.COMPLETED:
        return replace(
            state,
            running=max(state.running - 1, 0),
            completed=state.completed + 1,
            last_status=NodeStatus.COMPLETED,
            last_duration_ms=_number(details.get("duration_ms")),
        )
    if step.kind is StepKind.FAILED:
        error = details.get("error")
        return replace(
            state,
            running=max(state.running - 1, 0),
            failed=state.failed + 1,
            last_status=NodeStatus.FAILED,
            last_error=None if error is None else str(error),
            last_duration_ms=_number(details.get("duration_ms")),
        )
    if step.kind is StepKind.SKIPPED:
        return replace(state, skipped=state.skipped + 1, last_status=NodeStatus.SKIPPED)
    kind = str(details.get("kind") or "slot")
    port = details.get("event") if kind == "event" else details.get("slot")
    return replace(state, paused_at=(kind, None if port is None else str(port)))


def _end_job(states: dict[str, NodeRunState]) -> set[str]:
    changed = set()
    for routine_id, state in states.items():
        if state.running or state.paused_at is not None:
            states[routine_id] = replace(
                state, running=0, paused_at=None, interrupted=state.running > 0
            )
            changed.add(routine_id)
    return changed


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class RunStateTracker:
    """Routine states of one job: the fetched trace plus the events since.

    Usage: call ``fetch_started`` right before requesting the next part of
    the trace, ``add_trace`` with what arrives, and ``add_event`` for each
    event of the job. The server appends a step to the trace before it
    publishes the event, so events that arrived before a fetch started are
    in that fetch's answer. Events that arrived during the fetch may or may
    not be, and are matched against the end of the answer.
    """

    def __init__(self) -> None:
        self._base: dict[str, NodeRunState] = {}
        self._overlay: list[Step] = []
        self._covered = 0
        self._ended = False

    def reset(self) -> None:
        """Forget everything, for another job or a full reload."""
        self._base.clear()
        self._overlay.clear()
        self._covered = 0
        self._ended = False

    @property
    def ended(self) -> bool:
        """Whether the job has ended."""
        return self._ended

    def set_job_status(self, status: str) -> None:
        """Record the job's status; an ended job has nothing running or paused."""
        self._ended = status in TERMINAL_STATUSES

    def fetch_started(self) -> None:
        """Mark the events received so far as contained in the next trace part."""
        self._covered = len(self._overlay)

    def add_trace(self, entries: Iterable[TraceEntry]) -> None:
        """Count the next part of the trace, in order."""
        steps = [step for step in map(step_from_trace, entries) if step is not None]
        for step in steps:
            apply_step(self._base, step)
        del self._overlay[: self._covered]
        self._covered = 0
        matched = _matched_prefix(self._overlay, steps)
        del self._overlay[:matched]

    def add_event(self, event: Mapping[str, Any]) -> bool:
        """Lay one event of the job on top; return whether it changes a state."""
        step = step_from_event(event)
        if step is None:
            return False
        if step.kind is StepKind.ENDED:
            self._ended = True
            return True
        self._overlay.append(step)
        return True

    def states(self) -> dict[str, NodeRunState]:
        """Return each routine's state with the pending events applied."""
        states = dict(self._base)
        for step in self._overlay:
            apply_step(states, step)
        if self._ended:
            _end_job(states)
        return states


def _matched_prefix(overlay: list[Step], steps: list[Step]) -> int:
    """Return the longest k for which overlay[:k] equals the last k steps."""
    for k in range(min(len(overlay), len(steps)), 0, -1):
        tail = steps[len(steps) - k :]
        if all(a.matches(b) for a, b in zip(overlay[:k], tail, strict=True)):
            return k
    return 0
