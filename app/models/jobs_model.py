"""Table model that adapts a JobStore for the jobs view."""

from __future__ import annotations

import enum
import logging
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Slot,
)
from PySide6.QtGui import QColor

from app.models.job_store import JobStore

logger = logging.getLogger(__name__)

_Index = QModelIndex | QPersistentModelIndex


class JobColumn(enum.IntEnum):
    """Columns of the jobs table, in display order."""

    STATUS = 0
    JOB_ID = 1
    FLOW = 2
    ENTRY = 3
    CREATED = 4
    DURATION = 5
    ERROR = 6


COLUMN_TITLES = {
    JobColumn.STATUS: "Status",
    JobColumn.JOB_ID: "Job ID",
    JobColumn.FLOW: "Flow",
    JobColumn.ENTRY: "Entry routine",
    JobColumn.CREATED: "Created",
    JobColumn.DURATION: "Duration",
    JobColumn.ERROR: "Error",
}


class JobRole(enum.IntEnum):
    """Custom data roles of JobsModel."""

    JOB = Qt.ItemDataRole.UserRole
    JOB_ID = Qt.ItemDataRole.UserRole + 1


STATUS_COLORS = {
    "pending": QColor("#8a8f98"),
    "running": QColor("#2f7de1"),
    "paused": QColor("#d49a00"),
    "completed": QColor("#2e9d57"),
    "failed": QColor("#d64545"),
    "cancelled": QColor("#7a7f87"),
}


class JobsModel(QAbstractTableModel):
    """One row per loaded job; pages load through canFetchMore/fetchMore.

    The model owns no I/O. ``fetchMore`` requests the next page from the
    store, the network layer adds that page to the store, and the store's
    signals become row insertions here.
    """

    def __init__(self, store: JobStore, parent: QObject | None = None):
        super().__init__(parent)
        self._store = store
        store.about_to_reset.connect(self.beginResetModel)
        store.reset_done.connect(self.endResetModel)
        store.rows_about_to_be_inserted.connect(
            self._on_store_rows_about_to_be_inserted
        )
        store.rows_inserted.connect(self._on_store_rows_inserted)
        store.row_changed.connect(self._on_store_row_changed)

    @property
    def store(self) -> JobStore:
        """Store the model adapts."""
        return self._store

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Override rowCount: only the root has rows."""
        return 0 if parent.isValid() else len(self._store)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Override columnCount: only the root has columns."""
        return 0 if parent.isValid() else len(JobColumn)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override data with the store's preformatted cells."""
        if not index.isValid() or index.row() >= len(self._store):
            return None
        row = self._store.row(index.row())
        column = index.column()

        if role == Qt.ItemDataRole.DisplayRole:
            return row.cells[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tool_tip(row.job, column)
        if role == Qt.ItemDataRole.DecorationRole and column == JobColumn.STATUS:
            return STATUS_COLORS.get(row.job.status)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == JobColumn.DURATION:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == JobRole.JOB:
            return row.job
        if role == JobRole.JOB_ID:
            return row.job.job_id
        return None

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Override headerData with the column titles."""
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(
            JobColumn
        ):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMN_TITLES[JobColumn(section)]
        return None

    def canFetchMore(self, parent: _Index) -> bool:
        """Override canFetchMore: true while the server has unloaded pages."""
        if parent.isValid():
            return False
        return self._store.has_more and not self._store.loading

    def fetchMore(self, parent: _Index) -> None:
        """Override fetchMore: ask for the next page, which arrives later."""
        if not parent.isValid():
            self._store.request_more()

    def row_of(self, job_id: str) -> int | None:
        """Return the row of ``job_id``, or None when it is not loaded."""
        return self._store.index_of(job_id)

    @staticmethod
    def _tool_tip(job: Any, column: int) -> str | None:
        if column == JobColumn.ERROR and job.error:
            return str(job.error)
        if column == JobColumn.CREATED and job.created_at is not None:
            return job.created_at.isoformat()
        if column == JobColumn.JOB_ID:
            return str(job.job_id)
        return None

    @Slot(int, int)
    def _on_store_rows_about_to_be_inserted(self, first: int, last: int) -> None:
        self.beginInsertRows(QModelIndex(), first, last)

    @Slot(int, int)
    def _on_store_rows_inserted(self, first: int, last: int) -> None:
        self.endInsertRows()

    @Slot(int)
    def _on_store_row_changed(self, row: int) -> None:
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(JobColumn) - 1))
