"""Table model for a job's trace, shown as a timeline with relative times."""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor

from app.models import formatting
from app.models.records import TraceEntry

logger = logging.getLogger(__name__)

_Index = QModelIndex | QPersistentModelIndex
_FAILURE_COLOR = QColor("#d64545")


class TraceColumn(enum.IntEnum):
    """Columns of the trace timeline."""

    OFFSET = 0
    ROUTINE = 1
    ACTION = 2
    DETAILS = 3


COLUMN_TITLES = ("Time", "Routine", "Action", "Details")


class TraceModel(QAbstractTableModel):
    """A job's trace entries, each with its time relative to an origin.

    The origin is the job's start (or creation) time when known, else the
    first entry's time. Refreshes usually only add entries at the end, and
    then only the new rows are inserted, so the view's selection survives.
    """

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._entries: list[TraceEntry] = []
        self._cells: list[tuple[str, ...]] = []
        self._origin: datetime | None = None

    def set_entries(
        self, entries: Sequence[TraceEntry], origin: datetime | None = None
    ) -> None:
        """Show ``entries``; times are relative to ``origin``."""
        entries = list(entries)
        if origin is None and entries:
            origin = entries[0].timestamp
        count = len(self._entries)
        extends = (
            origin == self._origin
            and len(entries) >= count
            and entries[:count] == self._entries
        )
        if not extends:
            self.beginResetModel()
            self._origin = origin
            self._entries = entries
            self._cells = [self._format(entry) for entry in entries]
            self.endResetModel()
            return

        if len(entries) > count:
            self.beginInsertRows(QModelIndex(), count, len(entries) - 1)
            self._entries = entries
            self._cells.extend(self._format(entry) for entry in entries[count:])
            self.endInsertRows()

    def clear(self) -> None:
        """Remove every entry."""
        self.set_entries([], None)

    def entry(self, row: int) -> TraceEntry:
        """Return the entry at ``row``."""
        return self._entries[row]

    def _format(self, entry: TraceEntry) -> tuple[str, ...]:
        offset = None
        if entry.timestamp is not None and self._origin is not None:
            offset = (entry.timestamp - self._origin).total_seconds()
        return (
            formatting.format_offset(offset),
            entry.routine_id or "",
            entry.action,
            formatting.compact_json(entry.details) if entry.details else "",
        )

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Override rowCount: only the root has rows."""
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Override columnCount: only the root has columns."""
        return 0 if parent.isValid() else len(TraceColumn)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override data with the formatted cells."""
        if not index.isValid() or index.row() >= len(self._entries):
            return None
        cells = self._cells[index.row()]

        if role == Qt.ItemDataRole.DisplayRole:
            return cells[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tool_tip(self._entries[index.row()], index.column())
        if role == Qt.ItemDataRole.ForegroundRole:
            action = self._entries[index.row()].action
            return _FAILURE_COLOR if action.endswith("failed") else None
        return None

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Override headerData with the column titles."""
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(
            TraceColumn
        ):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMN_TITLES[section]
        return None

    @staticmethod
    def _tool_tip(entry: TraceEntry, column: int) -> str | None:
        if column == TraceColumn.OFFSET and entry.timestamp is not None:
            return entry.timestamp.isoformat()
        if column == TraceColumn.DETAILS and entry.details:
            return formatting.pretty_json(entry.details)
        return None
