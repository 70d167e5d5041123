"""The bar under the jobs table for acting on many jobs: choose, run, watch, stop."""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QWidget,
)

from app.models.batch import BatchAction, BatchResult

logger = logging.getLogger(__name__)


class BatchBar(QWidget):
    """Selection summary with batch actions; while a batch runs, its progress and Stop.

    The bar shows itself when two or more jobs are selected, all jobs
    matching the filter are selected, a batch runs or a result is shown.

    Signals:
        action_requested(BatchAction): The user chose an action.
        stop_requested: The user asked to stop the running batch.
        select_all_matching_requested: The user chose every job matching the filter.
        clear_requested: The user cleared the selection.
        details_requested: The user asked for the failures of the last result.
    """

    action_requested = Signal(object)
    stop_requested = Signal()
    select_all_matching_requested = Signal()
    clear_requested = Signal()
    details_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("batch_bar")
        self._selected = 0
        self._all_matching = False
        self._running = False
        self._result: BatchResult | None = None

        self.selection_label = QLabel(self)
        self.selection_label.setObjectName("batch_selection")
        self.select_all_button = QPushButton(self)
        self.select_all_button.setObjectName("batch_select_all")
        self.select_all_button.setFlat(True)
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.setFlat(True)
        self.action_buttons = {
            action: QPushButton(f"{action.title}…", self) for action in BatchAction
        }
        for action, button in self.action_buttons.items():
            button.setObjectName(f"batch_{action.value}")
            button.clicked.connect(
                lambda _checked=False, a=action: self.action_requested.emit(a)
            )
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setObjectName("batch_progress")
        self.progress_bar.setTextVisible(True)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("batch_stop")
        self.result_label = QLabel(self)
        self.result_label.setObjectName("batch_result")
        self.details_button = QPushButton("Details…", self)
        self.details_button.setObjectName("batch_details")
        self.dismiss_button = QToolButton(self)
        self.dismiss_button.setText("×")
        self.dismiss_button.setToolTip("Hide the result")

        self._pages = QStackedWidget(self)
        self._pages.addWidget(
            self._row(
                self.selection_label,
                self.select_all_button,
                self.clear_button,
                None,
                *self.action_buttons.values(),
            )
        )
        self._pages.addWidget(self._row(self.progress_bar, self.stop_button))
        self._pages.addWidget(
            self._row(self.result_label, None, self.details_button, self.dismiss_button)
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.addWidget(self._pages)

        self.select_all_button.clicked.connect(self.select_all_matching_requested)
        self.clear_button.clicked.connect(self.clear_requested)
        self.stop_button.clicked.connect(self._on_stop_button_clicked)
        self.details_button.clicked.connect(self.details_requested)
        self.dismiss_button.clicked.connect(self._on_dismiss_button_clicked)
        self._update()

    def _row(self, *widgets: QWidget | None) -> QWidget:
        page = QWidget(self)
        row = QHBoxLayout(page)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            if widget is None:
                row.addStretch(1)
            else:
                row.addWidget(widget, 1 if isinstance(widget, QProgressBar) else 0)
        return page

    # Public API

    @property
    def running(self) -> bool:
        """Whether a batch runs."""
        return self._running

    def set_selection(self, selected: int, total: int, *, all_matching: bool) -> None:
        """Show how many jobs are chosen out of ``total`` matching the filter."""
        self._selected, self._all_matching = selected, all_matching
        if all_matching:
            noun = "job" if total == 1 else "jobs"
            self.selection_label.setText(f"All {total:,} {noun} matching the filter")
        else:
            self.selection_label.setText(f"{selected:,} jobs selected")
        self.select_all_button.setText(f"Select all {total:,} matching the filter")
        self.select_all_button.setVisible(not all_matching and total > selected)
        self._update()

    def set_action_enabled(
        self, action: BatchAction, enabled: bool, tip: str = ""
    ) -> None:
        """Enable or disable one action, with a tool tip saying why."""
        button = self.action_buttons[action]
        button.setEnabled(enabled)
        button.setToolTip(tip)

    def set_running(self, running: bool) -> None:
        """Switch between the actions and the progress of a running batch."""
        self._running = running
        if running:
            self._result = None
            self.progress_bar.setRange(0, 0)
            self.stop_button.setEnabled(True)
            self.stop_button.setText("Stop")
        self._update()

    @Slot(int, int)
    def set_progress(self, done: int, total: int) -> None:
        """Show ``done`` of ``total``; a total of 0 shows a busy bar."""
        if total <= 0:
            self.progress_bar.setRange(0, 0)
            self.progress_bar.setFormat("Working…")
            return
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        self.progress_bar.setFormat(f"{done:,} of {total:,}")

    def show_result(self, result: BatchResult) -> None:
        """Show a finished batch's summary until the user dismisses it."""
        self._result = result
        self.result_label.setText(result.summary())
        self.details_button.setVisible(bool(result.failed))
        self._update()

    # Slots and helpers

    @Slot()
    def _on_stop_button_clicked(self) -> None:
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stopping…")
        self.stop_requested.emit()

    @Slot()
    def _on_dismiss_button_clicked(self) -> None:
        self._result = None
        self._update()

    def _update(self) -> None:
        if self._running:
            self._pages.setCurrentIndex(1)
        elif self._result is not None:
            self._pages.setCurrentIndex(2)
        else:
            self._pages.setCurrentIndex(0)
        choosing = self._selected >= 2 or self._all_matching
        self.setVisible(self._running or self._result is not None or choosing)
