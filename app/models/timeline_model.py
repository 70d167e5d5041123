"""A job's routine executions on a time axis, built from its trace, as a table model.

Each ``routine_started`` entry opens an execution of its routine and the
next ``routine_completed`` or ``routine_failed`` of the same routine closes
it. ``paused`` and ``resumed`` entries bound the times the job stood still.
The trace only grows, so new entries extend the timeline in place: new
executions are appended as rows and closed ones change their row.
"""

from __future__ import annotations

import bisect
import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from app.models.records import TraceEntry

logger = logging.getLogger(__name__)

_Index = QModelIndex | QPersistentModelIndex


class ExecutionStatus(enum.Enum):
    """The outcome of one routine execution, or RUNNING while it lasts."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class TimelineColumn(enum.IntEnum):
    """Columns of the executions table."""

    ROUTINE = 0
    START = 1
    DURATION = 2
    STATUS = 3


COLUMN_TITLES = ("Routine", "Start", "Duration", "Status")
EXECUTION_ROLE = Qt.ItemDataRole.UserRole


@dataclass(frozen=True, slots=True)
class Execution:
    """One run of a routine's logic.

    Attributes:
        position: The execution's row in the table, in start order.
        row: The routine's row on the time axis.
        start: Seconds from the timeline's origin.
        end: Seconds from the origin, or None while it runs.
        start_ts: Epoch seconds of the ``routine_started`` entry.
        first_entry: Index of the ``routine_started`` entry in the trace.
        last_entry: Index of the entry that ended it, or None.
    """

    position: int
    routine_id: str
    row: int
    start: float
    end: float | None
    status: ExecutionStatus
    start_ts: float
    first_entry: int
    last_entry: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    """A time the job stood paused; ``end`` is None while it still is."""

    start: float
    end: float | None
    routine_id: str
    place: str


class TimelineModel(QAbstractTableModel):
    """Executions of a job's routines, one row each, in the order they started.

    Besides the table, the model keeps per-routine lists sorted by start
    time, so a view can find the executions in a time window by bisection
    instead of scanning all of them.

    Signals:
        timeline_changed: Rows, pauses or the time span changed.
    """

    timeline_changed = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._clear_state()

    def _clear_state(self) -> None:
        self._entries: list[TraceEntry] = []
        self._executions: list[Execution] = []
        self._routines: list[str] = []
        self._row_of: dict[str, int] = {}
        self._by_row: list[list[int]] = []
        self._open: dict[str, list[int]] = {}
        self._pauses: list[Pause] = []
        self._origin: float | None = None
        self._origin_time: datetime | None = None
        self._last_time = 0.0
        self._ended = False

    # -- building ---------------------------------------------------------------

    def set_entries(
        self, entries: Sequence[TraceEntry], *, ended: bool = False
    ) -> None:
        """Show the timeline of ``entries``; ``ended`` closes runs left open."""
        self.beginResetModel()
        self._clear_state()
        self._feed(entries)
        if ended:
            self._close_open_runs()
        self.endResetModel()
        self.timeline_changed.emit()

    def append_entries(self, entries: Sequence[TraceEntry]) -> None:
        """Extend the timeline with the trace entries that follow the ones shown."""
        if not entries:
            return
        before = len(self._executions)
        changed = self._feed(entries)
        if len(self._executions) > before:
            self.beginInsertRows(QModelIndex(), before, len(self._executions) - 1)
            self.endInsertRows()
        self._rows_changed(row for row in changed if row < before)
        self.timeline_changed.emit()

    def set_ended(self) -> None:
        """Mark the job as ended: executions still open become interrupted."""
        if self._ended:
            return
        self._rows_changed(self._close_open_runs())
        self.timeline_changed.emit()

    def clear(self) -> None:
        """Show no job."""
        self.set_entries([])

    def _feed(self, entries: Sequence[TraceEntry]) -> set[int]:
        changed: set[int] = set()
        for entry in entries:
            index = len(self._entries)
            self._entries.append(entry)
            if entry.timestamp is None:
                continue
            if self._origin_time is None:
                self._origin_time = entry.timestamp
                self._origin = entry.timestamp.timestamp()
            # Subtracting datetimes keeps microseconds exact; epoch floats
            # near 1.7e9 would not.
            offset = (entry.timestamp - self._origin_time).total_seconds()
            self._last_time = max(self._last_time, offset)
            ts = self._origin + offset
            changed |= self._apply(entry, index, ts, offset)
        return changed

    def _apply(
        self, entry: TraceEntry, index: int, ts: float, offset: float
    ) -> set[int]:
        action, routine_id = entry.action, entry.routine_id or ""
        if action == "routine_started":
            self._start(routine_id, index, ts, offset)
        elif action in ("routine_completed", "routine_failed"):
            return self._finish(entry, index, offset)
        elif action == "paused":
            self._pause(entry, offset)
        elif action == "resumed" and self._pauses and self._pauses[-1].end is None:
            self._pauses[-1] = replace(self._pauses[-1], end=offset)
        return set()

    def _start(self, routine_id: str, index: int, ts: float, offset: float) -> None:
        row = self._row_of.get(routine_id)
        if row is None:
            row = self._row_of[routine_id] = len(self._routines)
            self._routines.append(routine_id)
            self._by_row.append([])
        position = len(self._executions)
        self._executions.append(
            Execution(
                position,
                routine_id,
                row,
                offset,
                None,
                ExecutionStatus.RUNNING,
                ts,
                index,
            )
        )
        self._by_row[row].append(position)
        self._open.setdefault(routine_id, []).append(position)

    def _finish(self, entry: TraceEntry, index: int, offset: float) -> set[int]:
        waiting = self._open.get(entry.routine_id or "")
        if not waiting:
            return set()
        # A routine of one job runs one call at a time, so the oldest open
        # execution is the one that ended.
        position = waiting.pop(0)
        execution = self._executions[position]
        duration = entry.details.get("duration_ms")
        end = offset
        if isinstance(duration, int | float) and not isinstance(duration, bool):
            # Timestamps have millisecond precision, the measured duration more.
            end = execution.start + float(duration) / 1000
        failed = entry.action == "routine_failed"
        error = entry.details.get("error") if failed else None
        self._executions[position] = replace(
            execution,
            end=max(end, execution.start),
            status=ExecutionStatus.FAILED if failed else ExecutionStatus.COMPLETED,
            last_entry=index,
            error=None if error is None else str(error),
        )
        self._last_time = max(self._last_time, end)
        return {position}

    def _pause(self, entry: TraceEntry, offset: float) -> None:
        details = entry.details
        port = details.get("slot") or details.get("event")
        place = f"{details.get('kind') or 'slot'} {entry.routine_id or ''}"
        place = f"{place}.{port}" if port else place
        self._pauses.append(Pause(offset, None, entry.routine_id or "", place))

    def _close_open_runs(self) -> set[int]:
        self._ended = True
        changed = set()
        for positions in self._open.values():
            for position in positions:
                self._executions[position] = replace(
                    self._executions[position],
                    end=self._last_time,
                    status=ExecutionStatus.INTERRUPTED,
                )
                changed.add(position)
        self._open.clear()
        if self._pauses and self._pauses[-1].end is None:
            self._pauses[-1] = replace(self._pauses[-1], end=self._last_time)
        return changed

    def _rows_changed(self, rows: Any) -> None:
        rows = sorted(rows)
        if rows:
            last = self.columnCount() - 1
            self.dataChanged.emit(self.index(rows[0], 0), self.index(rows[-1], last))

    # -- queries ------------------------------------------------------------------

    @property
    def routines(self) -> list[str]:
        """Routine ids in row order: the order they first ran."""
        return list(self._routines)

    @property
    def executions(self) -> list[Execution]:
        """Every execution in start order."""
        return self._executions

    @property
    def pauses(self) -> list[Pause]:
        """The times the job stood paused."""
        return self._pauses

    @property
    def span(self) -> float:
        """Seconds from the origin to the latest time in the trace."""
        return self._last_time

    @property
    def origin(self) -> float | None:
        """Epoch seconds of the first timed trace entry, or None."""
        return self._origin

    @property
    def entry_count(self) -> int:
        """Trace entries read so far."""
        return len(self._entries)

    def row_executions(self, row: int) -> list[int]:
        """Return the positions of a routine row's executions, in start order."""
        return self._by_row[row]

    def executions_between(self, row: int, t0: float, t1: float) -> list[Execution]:
        """Return a row's executions that overlap ``[t0, t1]``, in start order.

        A routine runs one call at a time, so in a row both starts and ends
        rise. A running execution lasts to the end of the span.
        """
        positions = self._by_row[row]
        executions = self._executions
        lo = bisect.bisect_left(
            positions, t0, key=lambda p: self._end_of(executions[p])
        )
        hi = bisect.bisect_right(positions, t1, key=lambda p: executions[p].start)
        return [executions[p] for p in positions[lo:hi]]

    def _end_of(self, execution: Execution) -> float:
        return self._last_time if execution.end is None else execution.end

    def entries_of(self, execution: Execution) -> list[TraceEntry]:
        """Return the trace entries of ``execution``'s routine during it."""
        last = (
            len(self._entries) - 1
            if execution.last_entry is None
            else execution.last_entry
        )
        return [
            entry
            for entry in self._entries[execution.first_entry : last + 1]
            if entry.routine_id == execution.routine_id
        ]

    def find_execution(self, routine_id: str, start_ts: float) -> Execution | None:
        """Return the execution of ``routine_id`` that started at ``start_ts``."""
        row = self._row_of.get(routine_id)
        if row is None:
            return None
        for position in self._by_row[row]:
            if abs(self._executions[position].start_ts - start_ts) < 1e-6:
                return self._executions[position]
        return None

    # -- Qt model API -------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        """Override rowCount: one row per execution, and none under a row."""
        return 0 if parent.isValid() else len(self._executions)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        """Override columnCount: a flat table."""
        return 0 if parent.isValid() else len(COLUMN_TITLES)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override data: text per column, the Execution for EXECUTION_ROLE."""
        if not index.isValid() or not 0 <= index.row() < len(self._executions):
            return None
        execution = self._executions[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(execution, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return execution.error
        if role == EXECUTION_ROLE:
            return execution
        return None

    def headerData(  # noqa: N802
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Override headerData: column titles."""
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(COLUMN_TITLES)
        ):
            return COLUMN_TITLES[section]
        return None


def format_seconds(seconds: float) -> str:
    """Format a duration for the timeline: µs, ms or s, three digits or so."""
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms"
    return f"{seconds:.3f} s"


def _display(execution: Execution, column: int) -> str | None:
    if column == TimelineColumn.ROUTINE:
        return execution.routine_id
    if column == TimelineColumn.START:
        return f"+{format_seconds(execution.start)}"
    if column == TimelineColumn.DURATION:
        if execution.end is None:
            return "running"
        return format_seconds(execution.end - execution.start)
    if column == TimelineColumn.STATUS:
        return execution.status.value
    return None
