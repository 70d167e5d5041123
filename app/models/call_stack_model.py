"""Table model of a paused job's call stack: the causal chain of the data, newest first."""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QFont

from app.models import columns
from app.models.debug_records import Frame

logger = logging.getLogger(__name__)

_Index = QModelIndex | QPersistentModelIndex


class FrameColumn(enum.IntEnum):
    """Columns of the call stack."""

    INDEX = 0
    KIND = 1
    ROUTINE = 2
    PORT = 3
    DATA = 4


COLUMN_TITLES = ("#", "Kind", "Routine", "Slot / event", "Data")
FRAME_ROLE = Qt.ItemDataRole.UserRole


class CallStackModel(QAbstractTableModel):
    """The frames of the pause, with the selected frame shown in bold.

    Frame 0 is the pause point, frame 1 the emit that produced its data,
    frame 2 the routine run that emitted it, and so on back to the job's
    input.
    """

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._frames: list[Frame] = []
        self._current = 0

    def set_frames(self, frames: Sequence[Frame]) -> None:
        """Show ``frames``; the current frame goes back to 0."""
        self.beginResetModel()
        self._frames = list(frames)
        self._current = 0
        self.endResetModel()

    def clear(self) -> None:
        """Remove every frame."""
        self.set_frames([])

    def frame(self, row: int) -> Frame | None:
        """Return the frame at ``row``, or None."""
        return self._frames[row] if 0 <= row < len(self._frames) else None

    @property
    def current_frame(self) -> int:
        """Index of the frame the variables and watches are shown for."""
        return self._current

    def set_current_frame(self, row: int) -> None:
        """Mark ``row`` as the frame being inspected."""
        if row == self._current or not 0 <= row < len(self._frames):
            return
        previous, self._current = self._current, row
        for changed in (previous, row):
            if changed < len(self._frames):
                self.dataChanged.emit(
                    self.index(changed, 0), self.index(changed, len(FrameColumn) - 1)
                )

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Override rowCount: only the root has rows."""
        return 0 if parent.isValid() else len(self._frames)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Override columnCount: only the root has columns."""
        return 0 if parent.isValid() else len(FrameColumn)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override data with the frame's place and a preview of its data."""
        if not index.isValid() or not 0 <= index.row() < len(self._frames):
            return None
        frame = self._frames[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(frame, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == FrameColumn.DATA:
            return frame.data["repr"][:2000]
        if role == Qt.ItemDataRole.FontRole and index.row() == self._current:
            font = QFont()
            font.setBold(True)
            return font
        if role == FRAME_ROLE:
            return frame
        return None

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Override headerData with the column titles."""
        return columns.column_title(COLUMN_TITLES, section, orientation, role)

    @staticmethod
    def _display(frame: Frame, column: int) -> str:
        if column == FrameColumn.INDEX:
            return str(frame.index)
        if column == FrameColumn.KIND:
            return frame.kind
        if column == FrameColumn.ROUTINE:
            return frame.routine_id
        if column == FrameColumn.PORT:
            return frame.port or ""
        return frame.data["repr"].replace("\n", " ")[:300]
