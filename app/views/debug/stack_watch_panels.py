"""Call stack and watch panes of the debugger."""

from __future__ import annotations

import logging

from PySide6.QtCore import QItemSelection, Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.models.call_stack_model import FRAME_ROLE, CallStackModel, FrameColumn
from app.models.debug_records import BreakpointPlace, Frame
from app.models.watch_model import WatchColumn, WatchModel

logger = logging.getLogger(__name__)


def _table(parent: QWidget, name: str) -> QTableView:
    table = QTableView(parent)
    table.setObjectName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    table.horizontalHeader().setStretchLastSection(True)
    table.horizontalHeader().setHighlightSections(False)
    return table


def _tool_button(text: str, parent: QWidget) -> QToolButton:
    button = QToolButton(parent)
    button.setText(text)
    button.setAutoRaise(True)
    return button


class CallStackPanel(QWidget):
    """The frames of the pause; choosing one shows its variables and watch values.

    Signals:
        frame_selected(int): The user chose a frame.
    """

    frame_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = _table(self, "call_stack_table")
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._flow_id: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.addWidget(self.table)

    def set_model(self, model: CallStackModel) -> None:
        """Show ``model``; call once."""
        self.table.setModel(model)
        for column, width in (
            (FrameColumn.INDEX, 30),
            (FrameColumn.KIND, 60),
            (FrameColumn.ROUTINE, 100),
            (FrameColumn.PORT, 80),
        ):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)

    def set_flow(self, flow_id: str | None) -> None:
        """Name the flow of the paused job, for ``selected_place``."""
        self._flow_id = flow_id

    def selected_frame(self) -> Frame | None:
        """Return the selected frame, or None."""
        rows = self.table.selectionModel().selectedRows() if self.table.model() else []
        return rows[0].data(FRAME_ROLE) if rows else None

    def selected_place(self) -> BreakpointPlace | None:
        """Return the place of the selected frame, for toggling a breakpoint there."""
        frame = self.selected_frame()
        if frame is None or not self._flow_id:
            return None
        return BreakpointPlace(self._flow_id, frame.routine_id, frame.kind, frame.port)

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(
        self, selected: QItemSelection, _deselected: QItemSelection
    ) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.frame_selected.emit(rows[0].row())


class WatchPanel(QWidget):
    """Watch expressions with their type and value; the last row adds a watch.

    Signals:
        refresh_requested(): The user asked to evaluate the watches again.
    """

    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = _table(self, "watch_table")
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.add_button = _tool_button("Add", self)
        self.remove_button = _tool_button("Remove", self)
        self.refresh_button = _tool_button("Evaluate again", self)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.refresh_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)

        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.remove_button.clicked.connect(self.remove_selected)
        self.refresh_button.clicked.connect(self.refresh_requested)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.table)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self.remove_selected)

    def set_model(self, model: WatchModel) -> None:
        """Show ``model``; call once."""
        self.table.setModel(model)
        self.table.setColumnWidth(WatchColumn.EXPRESSION, 160)
        self.table.setColumnWidth(WatchColumn.TYPE, 60)

    @Slot()
    def remove_selected(self) -> None:
        """Remove the selected watches."""
        model = self.table.model()
        rows = [index.row() for index in self.table.selectionModel().selectedRows()]
        if isinstance(model, WatchModel):
            model.remove_rows(row for row in rows if not model.is_add_row(row))

    @Slot()
    def _on_add_button_clicked(self) -> None:
        model = self.table.model()
        if model is None:
            return
        index = model.index(model.rowCount() - 1, WatchColumn.EXPRESSION)
        self.table.setCurrentIndex(index)
        self.table.edit(index)
