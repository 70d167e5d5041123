"""Bounded log of recent server events, with a filter proxy by type and job."""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor

from app.models import formatting
from app.models.records import parse_timestamp

logger = logging.getLogger(__name__)

_Index = QModelIndex | QPersistentModelIndex

GAP_TYPE = "gap"
DEFAULT_CAPACITY = 10_000
EVENT_TYPES = (
    "job_started",
    "job_completed",
    "job_failed",
    "job_cancelled",
    "job_paused",
    "job_resumed",
    "routine_started",
    "routine_completed",
    "routine_failed",
    "event_emitted",
    "breakpoint_hit",
    "condition_error",
    "log_message",
)


class EventColumn(enum.IntEnum):
    """Columns of the event log, in display order."""

    SEQ = 0
    TIME = 1
    TYPE = 2
    JOB = 3
    ROUTINE = 4
    MESSAGE = 5


COLUMN_TITLES = ("Seq", "Time", "Type", "Job", "Routine", "Message")


class EventRole(enum.IntEnum):
    """Custom data roles of EventLogModel."""

    TYPE = Qt.ItemDataRole.UserRole
    JOB_ID = Qt.ItemDataRole.UserRole + 1
    EVENT = Qt.ItemDataRole.UserRole + 2


@dataclass(frozen=True)
class EventRow:
    """One logged event, or a gap marker, with its cells formatted once."""

    event_type: str
    job_id: str
    cells: tuple[str, ...]
    event: Mapping[str, Any]

    @property
    def is_gap(self) -> bool:
        """Whether this row marks events that may be missing."""
        return self.event_type == GAP_TYPE


def summarize(event_type: str, data: Mapping[str, Any]) -> str:
    """Describe an event's payload in one line."""
    job = data.get("job") if isinstance(data.get("job"), Mapping) else {}
    if event_type == "job_started":
        return f"Started at {job.get('routine_id', '?')}.{job.get('slot_name', '?')}"
    if event_type == "job_completed":
        return f"Completed in {formatting.format_duration(job.get('duration_ms'))}"
    if event_type == "job_failed":
        return f"Failed: {formatting.first_line(str(job.get('error') or ''))}"
    if event_type == "job_cancelled":
        return "Cancelled"
    if event_type == "routine_completed":
        return f"Completed in {formatting.format_duration(data.get('duration_ms'))}"
    if event_type == "routine_failed":
        return f"Failed: {formatting.first_line(str(data.get('error') or ''))}"
    if event_type == "event_emitted":
        targets = data.get("targets") or []
        return f"Emitted {data.get('event', '?')} to {formatting.compact_json(targets)}"
    if event_type == "log_message":
        return formatting.first_line(str(data.get("message", "")), 500)
    extra = {key: value for key, value in data.items() if key != "routine_id"}
    return formatting.compact_json(extra) if extra else ""


def make_row(event: Mapping[str, Any]) -> EventRow:
    """Format one server event for the log."""
    data = event.get("data") if isinstance(event.get("data"), Mapping) else {}
    event_type = str(event.get("type", ""))
    job_id = str(event.get("job_id") or "")
    seq = event.get("seq")
    cells = (
        "" if seq is None else str(seq),
        formatting.format_clock(parse_timestamp(event.get("timestamp"))),
        event_type,
        job_id,
        str(data.get("routine_id") or ""),
        summarize(event_type, data),
    )
    return EventRow(event_type, job_id, cells, event)


def make_gap_row(reason: str) -> EventRow:
    """Make the marker shown where events may be missing after a resync."""
    text = (
        f"Events may be missing here: {reason}"
        if reason
        else "Events may be missing here"
    )
    cells = ("", "", GAP_TYPE, "", "", text)
    return EventRow(GAP_TYPE, "", cells, {"type": GAP_TYPE, "reason": reason})


class EventLogModel(QAbstractTableModel):
    """Recent events, oldest first, capped at ``capacity`` rows.

    Events are batched: ``append_event`` queues them and a short single-shot
    timer inserts the batch, so thousands of events per second cost one row
    insertion per batch instead of one per event. When the cap is reached the
    oldest rows are removed first.

    Signals:
        batch_inserted(int): Rows inserted by the last flush.
    """

    batch_inserted = Signal(int)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        capacity: int = DEFAULT_CAPACITY,
        flush_interval_ms: int = 50,
    ):
        super().__init__(parent)
        self._capacity = max(1, capacity)
        self._rows: deque[EventRow] = deque()
        self._pending: list[EventRow] = []
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(flush_interval_ms)
        self._flush_timer.timeout.connect(self.flush)

    @property
    def capacity(self) -> int:
        """Maximum number of rows kept."""
        return self._capacity

    def append_event(self, event: Mapping[str, Any]) -> None:
        """Queue one server event for the next batch."""
        self._queue(make_row(event))

    def append_events(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Queue several server events for the next batch."""
        for event in events:
            self._pending.append(make_row(event))
        self._schedule_flush()

    def add_gap(self, reason: str) -> None:
        """Queue a marker for events that may be missing, after a resync."""
        self._queue(make_gap_row(reason))

    def clear(self) -> None:
        """Remove every row and drop queued events."""
        self._pending.clear()
        self.beginResetModel()
        self._rows.clear()
        self.endResetModel()

    def row_at(self, row: int) -> EventRow:
        """Return the logged event at ``row``."""
        return self._rows[row]

    @Slot()
    def flush(self) -> None:
        """Insert the queued events now."""
        self._flush_timer.stop()
        batch, self._pending = self._pending[-self._capacity :], []
        if not batch:
            return

        overflow = len(self._rows) + len(batch) - self._capacity
        if overflow > 0:
            self.beginRemoveRows(QModelIndex(), 0, overflow - 1)
            for _ in range(overflow):
                self._rows.popleft()
            self.endRemoveRows()

        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(batch) - 1)
        self._rows.extend(batch)
        self.endInsertRows()
        self.batch_inserted.emit(len(batch))

    def _queue(self, row: EventRow) -> None:
        self._pending.append(row)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Override rowCount: only the root has rows."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Override columnCount: only the root has columns."""
        return 0 if parent.isValid() else len(EventColumn)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override data with the preformatted cells and filter roles."""
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]

        if role == Qt.ItemDataRole.DisplayRole:
            return row.cells[index.column()]
        if (
            role == Qt.ItemDataRole.ToolTipRole
            and index.column() == EventColumn.MESSAGE
        ):
            return row.cells[EventColumn.MESSAGE]
        if role == Qt.ItemDataRole.ForegroundRole:
            return _row_color(row)
        if role == EventRole.TYPE:
            return row.event_type
        if role == EventRole.JOB_ID:
            return row.job_id
        if role == EventRole.EVENT:
            return dict(row.event)
        return None

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Override headerData with the column titles."""
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(
            EventColumn
        ):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMN_TITLES[section]
        return None


_FAILURE_COLOR = QColor("#d64545")
_GAP_COLOR = QColor("#b7791f")


def _row_color(row: EventRow) -> QColor | None:
    if row.is_gap:
        return _GAP_COLOR
    if row.event_type.endswith("_failed") or row.event_type == "condition_error":
        return _FAILURE_COLOR
    return None


class EventFilterProxy(QSortFilterProxyModel):
    """Filters the event log by event type and by job id.

    Gap markers pass every filter, because hiding them would hide that the
    log may be incomplete.
    """

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._types: frozenset[str] | None = None
        self._job_text = ""

    @property
    def event_types(self) -> frozenset[str] | None:
        """Event types shown, or None for all."""
        return self._types

    @property
    def job_text(self) -> str:
        """Text a job id must contain, or empty for any job."""
        return self._job_text

    def set_event_types(self, types: Iterable[str] | None) -> None:
        """Show only the given event types, or every type for None."""
        self.beginFilterChange()
        self._types = None if types is None else frozenset(types)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_job_text(self, text: str) -> None:
        """Show only events whose job id contains ``text`` (case-insensitive)."""
        self.beginFilterChange()
        self._job_text = text.strip().casefold()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        """Override filterAcceptsRow with the type and job filters."""
        model = self.sourceModel()
        index = model.index(source_row, 0, source_parent)
        event_type = model.data(index, EventRole.TYPE)
        if event_type == GAP_TYPE:
            return True
        if self._types is not None and event_type not in self._types:
            return False
        if self._job_text:
            return self._job_text in str(model.data(index, EventRole.JOB_ID)).casefold()
        return True
