"""Table model of breakpoints: flow breakpoints of every flow and the selected job's own."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from app.models import columns
from app.models.debug_records import ROUTINE, BreakpointInfo, BreakpointPlace

logger = logging.getLogger(__name__)

_Index = QModelIndex | QPersistentModelIndex
_ERROR = QColor("#c53030")
_MUTED = QColor("#7a7f87")


class BreakpointColumn(enum.IntEnum):
    """Columns of the breakpoints table."""

    ENABLED = 0
    SCOPE = 1
    ROUTINE = 2
    PORT = 3
    KIND = 4
    CONDITION = 5
    HIT_CONDITION = 6
    HITS = 7
    LAST_ERROR = 8


COLUMN_TITLES = (
    "On",
    "Flow / job",
    "Routine",
    "Slot / event",
    "Kind",
    "Condition",
    "Hit condition",
    "Hits",
    "Last error",
)
BREAKPOINT_ROLE = Qt.ItemDataRole.UserRole


class BreakpointsModel(QAbstractTableModel):
    """Breakpoints in the order they were created, with an enable check box.

    Ticking the check box updates the row at once and emits
    ``enabled_change_requested``. The controller sends the change and puts
    the server's response back with ``upsert``, or the old row when it fails.

    Signals:
        enabled_change_requested(BreakpointInfo, bool): The row as it was
            before the change, and the requested state.
    """

    enabled_change_requested = Signal(object, bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._items: list[BreakpointInfo] = []

    # -- public API ---------------------------------------------------------

    def __len__(self) -> int:
        return len(self._items)

    def breakpoints(self) -> list[BreakpointInfo]:
        """Return every breakpoint in display order."""
        return list(self._items)

    def breakpoint_at(self, row: int) -> BreakpointInfo | None:
        """Return the breakpoint at ``row``, or None."""
        return self._items[row] if 0 <= row < len(self._items) else None

    def row_of(self, breakpoint_id: str) -> int | None:
        """Return the row of ``breakpoint_id``, or None."""
        for row, item in enumerate(self._items):
            if item.breakpoint_id == breakpoint_id:
                return row
        return None

    def find_place(
        self, place: BreakpointPlace, *, job_id: str | None = None
    ) -> BreakpointInfo | None:
        """Return the first breakpoint of the scope that stops exactly at ``place``."""
        for item in self._items:
            if item.job_id == job_id and item.place() == place:
                return item
        return None

    def upsert(self, item: BreakpointInfo) -> None:
        """Add ``item``, or replace the breakpoint with the same id."""
        row = self.row_of(item.breakpoint_id)
        if row is None:
            self._insert([item])
            return
        self._items[row] = item
        self._row_changed(row)

    def remove(self, breakpoint_id: str) -> None:
        """Remove the breakpoint with ``breakpoint_id``, if shown."""
        row = self.row_of(breakpoint_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._items[row]
        self.endRemoveRows()

    def replace_where(
        self, belongs: Callable[[BreakpointInfo], bool], items: Iterable[BreakpointInfo]
    ) -> None:
        """Make the rows for which ``belongs`` is true equal to ``items``.

        Rows of other scopes stay as they are; rows that remain keep their
        place, so the view's selection survives a refresh.
        """
        fresh = {item.breakpoint_id: item for item in items}
        for row in range(len(self._items) - 1, -1, -1):
            item = self._items[row]
            if belongs(item) and item.breakpoint_id not in fresh:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._items[row]
                self.endRemoveRows()
        for row, item in enumerate(self._items):
            update = fresh.pop(item.breakpoint_id, None)
            if update is not None and update != item:
                self._items[row] = update
                self._row_changed(row)
        self._insert(list(fresh.values()))

    # -- Qt model interface ---------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Override rowCount: only the root has rows."""
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Override columnCount: only the root has columns."""
        return 0 if parent.isValid() else len(BreakpointColumn)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        """Override flags: the first column is a check box."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == BreakpointColumn.ENABLED:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override data with the breakpoint's fields."""
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(item, column)
        if (
            role == Qt.ItemDataRole.CheckStateRole
            and column == BreakpointColumn.ENABLED
        ):
            return Qt.CheckState.Checked if item.enabled else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tool_tip(item, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == BreakpointColumn.LAST_ERROR:
                return _ERROR
            return None if item.enabled else _MUTED
        if role == BREAKPOINT_ROLE:
            return item
        return None

    def setData(
        self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:
        """Override setData: a tick requests enabling or disabling the breakpoint."""
        if (
            not index.isValid()
            or index.column() != BreakpointColumn.ENABLED
            or role != Qt.ItemDataRole.CheckStateRole
        ):
            return False
        row = index.row()
        before = self._items[row]
        enabled = Qt.CheckState(value) == Qt.CheckState.Checked
        if enabled == before.enabled:
            return False
        self._items[row] = replace(before, enabled=enabled)
        self._row_changed(row)
        self.enabled_change_requested.emit(before, enabled)
        return True

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Override headerData with the column titles."""
        return columns.column_title(COLUMN_TITLES, section, orientation, role)

    # -- helpers -----------------------------------------------------------------

    def _insert(self, items: list[BreakpointInfo]) -> None:
        if not items:
            return
        first = len(self._items)
        self.beginInsertRows(QModelIndex(), first, first + len(items) - 1)
        self._items.extend(items)
        self.endInsertRows()

    def _row_changed(self, row: int) -> None:
        self.dataChanged.emit(
            self.index(row, 0), self.index(row, len(BreakpointColumn) - 1)
        )

    @staticmethod
    def _display(item: BreakpointInfo, column: int) -> str | None:
        if column == BreakpointColumn.ENABLED:
            return None
        if column == BreakpointColumn.SCOPE:
            return f"job {item.job_id[:8]}" if item.job_id else item.flow_id
        if column == BreakpointColumn.ROUTINE:
            return item.routine_id
        if column == BreakpointColumn.PORT:
            return "" if item.kind == ROUTINE else item.port or "(any)"
        if column == BreakpointColumn.KIND:
            return f"{item.kind}, log" if item.is_logpoint else item.kind
        if column == BreakpointColumn.CONDITION:
            return item.condition or ""
        if column == BreakpointColumn.HIT_CONDITION:
            return item.hit_condition or ""
        if column == BreakpointColumn.HITS:
            return str(item.hit_count)
        return item.last_error or ""

    @staticmethod
    def _tool_tip(item: BreakpointInfo, column: int) -> str | None:
        if column == BreakpointColumn.SCOPE and item.job_id:
            return f"Only job {item.job_id} (flow {item.flow_id})"
        if column == BreakpointColumn.SCOPE:
            return f"Every job of flow {item.flow_id}, including later ones"
        if column == BreakpointColumn.KIND and item.is_logpoint:
            return f"Logs {item.log_message!r} and does not pause"
        if column == BreakpointColumn.LAST_ERROR and item.last_error:
            return f"{item.last_error}\n(the condition failed {item.error_count} times)"
        if column == BreakpointColumn.CONDITION and item.condition:
            return item.condition
        return None
