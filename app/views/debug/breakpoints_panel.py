"""Breakpoints pane: every breakpoint with enable switches, hit counts and errors."""

from __future__ import annotations

import logging

from PySide6.QtCore import QModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.controllers.breakpoints import BreakpointsController
from app.models.breakpoints_model import BreakpointColumn
from app.models.debug_records import BreakpointInfo, BreakpointPlace
from app.views.debug.breakpoint_dialog import BreakpointDialog

logger = logging.getLogger(__name__)

_COLUMN_WIDTHS = {
    BreakpointColumn.ENABLED: 36,
    BreakpointColumn.SCOPE: 110,
    BreakpointColumn.ROUTINE: 110,
    BreakpointColumn.PORT: 90,
    BreakpointColumn.KIND: 70,
    BreakpointColumn.CONDITION: 180,
    BreakpointColumn.HIT_CONDITION: 90,
    BreakpointColumn.HITS: 50,
}


class BreakpointsPanel(QWidget):
    """The breakpoints table with Add, Edit and Remove buttons.

    Double-clicking a row edits it and Delete removes the selected rows.
    The Add dialog offers the flows, routines, slots and events the app
    loaded from the server.

    Signals:
        dialog_opened(BreakpointDialog): An add or edit dialog was opened.
    """

    dialog_opened = Signal(object)

    def __init__(
        self, controller: BreakpointsController, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self._controller = controller
        self._job_id: str | None = None
        self._dialog: BreakpointDialog | None = None

        self.table = QTableView(self)
        self.table.setObjectName("breakpoints_table")
        self.table.setModel(controller.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setHighlightSections(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(
            self.table.fontMetrics().height() + 8
        )
        for column, width in _COLUMN_WIDTHS.items():
            self.table.setColumnWidth(column, width)

        self.add_button = QPushButton("Add…", self)
        self.add_button.setObjectName("add_breakpoint_button")
        self.edit_button = QPushButton("Edit…", self)
        self.remove_button = QPushButton("Remove", self)
        self.empty_label = QLabel(
            "No breakpoints. Add one, or press F9 on a call stack frame.", self
        )
        self.empty_label.setObjectName("breakpoints_empty")
        self._build_layout()

        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.edit_button.clicked.connect(self._on_edit_button_clicked)
        self.remove_button.clicked.connect(self.remove_selected)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        model = controller.model
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset):
            signal.connect(self._update_buttons)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.table)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self.remove_selected)
        self._update_buttons()

    def _build_layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self.empty_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)

    # -- public API -----------------------------------------------------------------

    def set_job(self, job_id: str | None) -> None:
        """Offer "only this job" in the Add dialog for ``job_id``."""
        self._job_id = job_id

    def selected_breakpoints(self) -> list[BreakpointInfo]:
        """Return the breakpoints of the selected rows."""
        model = self._controller.model
        rows = sorted(
            index.row() for index in self.table.selectionModel().selectedRows()
        )
        return [item for row in rows if (item := model.breakpoint_at(row)) is not None]

    def selected_place(self) -> BreakpointPlace | None:
        """Return the place of the first selected breakpoint, or None."""
        items = self.selected_breakpoints()
        return items[0].place() if items else None

    @property
    def dialog(self) -> BreakpointDialog | None:
        """The open add or edit dialog, if any."""
        return self._dialog

    def open_add_dialog(self, place: BreakpointPlace | None = None) -> BreakpointDialog:
        """Open the Add dialog, with ``place`` chosen when given."""
        return self._open(
            BreakpointDialog(
                self._controller.flows,
                self._controller,
                self,
                place=place,
                job_id=self._job_id,
            )
        )

    def open_edit_dialog(self, item: BreakpointInfo) -> BreakpointDialog:
        """Open the Edit dialog for ``item``."""
        return self._open(
            BreakpointDialog(self._controller.flows, self._controller, self, item=item)
        )

    @Slot()
    def remove_selected(self) -> None:
        """Remove the selected breakpoints."""
        self._controller.delete_later(self.selected_breakpoints())

    # -- internals ---------------------------------------------------------------------

    def _open(self, dialog: BreakpointDialog) -> BreakpointDialog:
        if self._dialog is not None:
            self._dialog.close()
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self._on_dialog_finished)
        self._dialog = dialog
        dialog.open()
        self.dialog_opened.emit(dialog)
        return dialog

    @Slot(int)
    def _on_dialog_finished(self, _result: int) -> None:
        self._dialog = None

    @Slot()
    def _on_add_button_clicked(self) -> None:
        self.open_add_dialog(self.selected_place())

    @Slot()
    def _on_edit_button_clicked(self) -> None:
        items = self.selected_breakpoints()
        if items:
            self.open_edit_dialog(items[0])

    @Slot(QModelIndex)
    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        if index.column() == BreakpointColumn.ENABLED:
            return
        item = self._controller.model.breakpoint_at(index.row())
        if item is not None:
            self.open_edit_dialog(item)

    @Slot()
    def _update_buttons(self, *_args: object) -> None:
        selected = bool(self.table.selectionModel().selectedRows())
        self.edit_button.setEnabled(selected)
        self.remove_button.setEnabled(selected)
        self.empty_label.setVisible(len(self._controller.model) == 0)
