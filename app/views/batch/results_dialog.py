"""Dialog that lists each job a batch could not act on, with the reason."""

from __future__ import annotations

import logging

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.batch import BatchResult

logger = logging.getLogger(__name__)

COLUMNS = ("Job ID", "Reason", "Status", "Message")


class BatchResultsDialog(QDialog):
    """The summary of a batch and a table of its failures; Copy puts them on the clipboard."""

    def __init__(self, result: BatchResult, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("batch_results_dialog")
        self.setWindowTitle(f"{result.action.title} Jobs: Result")
        self.resize(720, 420)
        self._result = result

        summary = QLabel(result.summary(), self)
        summary.setWordWrap(True)
        self.table = QTableWidget(len(result.failed), len(COLUMNS), self)
        self.table.setObjectName("batch_failures")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(
            3, QHeaderView.ResizeMode.Stretch
        )
        for row, failure in enumerate(result.failed):
            cells = (
                failure.job_id,
                failure.reason_text,
                failure.status or "",
                failure.message,
            )
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnToContents(0)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        copy = buttons.addButton("&Copy", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(self.copy_to_clipboard)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)

    def as_text(self) -> str:
        """Return the failures as tab-separated lines with a header."""
        lines = ["\t".join(COLUMNS)]
        for failure in self._result.failed:
            lines.append(
                "\t".join(
                    (
                        failure.job_id,
                        failure.reason_text,
                        failure.status or "",
                        failure.message,
                    )
                )
            )
        return "\n".join(lines)

    def copy_to_clipboard(self) -> None:
        """Put the failures on the clipboard."""
        QGuiApplication.clipboard().setText(self.as_text())
