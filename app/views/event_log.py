"""Event log pane: recent server events with type and job filters."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.models.event_log_model import (
    EVENT_TYPES,
    EventColumn,
    EventFilterProxy,
    EventLogModel,
)

logger = logging.getLogger(__name__)


class EventLogPanel(QWidget):
    """The event log table, newest at the bottom, following new rows at the end.

    When the view is scrolled to the bottom it stays there as events arrive;
    when the user has scrolled up it stays put.

    Signals:
        event_types_changed(object): The shown types, a frozenset, or None for all.
    """

    event_types_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._model: EventLogModel | None = None
        self._follow_tail = True
        self._selected_job: str | None = None
        self.proxy = EventFilterProxy(self)

        self.types_button = QToolButton(self)
        self.types_button.setObjectName("event_types_button")
        self.types_button.setText("Types: all")
        self.types_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._types_menu = QMenu(self.types_button)
        self._type_actions = self._build_type_actions()
        self.types_button.setMenu(self._types_menu)

        self.job_edit = QLineEdit(self)
        self.job_edit.setObjectName("event_job_filter")
        self.job_edit.setPlaceholderText("Filter by job id")
        self.job_edit.setClearButtonEnabled(True)
        self.follow_selection = QCheckBox("Selected job only", self)
        self.follow_selection.setObjectName("follow_selection")
        self.follow_selection.setToolTip(
            "Show only the events of the job selected in the jobs table"
        )
        self._count_label = QLabel(self)
        self.clear_button = QPushButton("Clear", self)
        self.table = self._build_table()
        self._build_layout()

        self.job_edit.textChanged.connect(self.proxy.set_job_text)
        self.follow_selection.toggled.connect(self._on_follow_selection_toggled)
        self.proxy.rowsInserted.connect(self._on_proxy_rows_inserted)
        self.proxy.rowsRemoved.connect(self._update_count)
        self.proxy.modelReset.connect(self._update_count)
        self.proxy.layoutChanged.connect(self._update_count)
        self.table.verticalScrollBar().valueChanged.connect(
            self._on_scroll_value_changed
        )

    def _build_type_actions(self) -> dict[str, QAction]:
        show_all = self._types_menu.addAction("Show all types")
        show_all.triggered.connect(self._on_show_all_triggered)
        self._types_menu.addSeparator()
        actions = {}
        for event_type in EVENT_TYPES:
            action = self._types_menu.addAction(event_type)
            action.setCheckable(True)
            action.setChecked(True)
            action.toggled.connect(self._on_type_action_toggled)
            actions[event_type] = action
        return actions

    def _build_table(self) -> QTableView:
        table = QTableView(self)
        table.setObjectName("event_table")
        table.setModel(self.proxy)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.setWordWrap(False)
        table.setShowGrid(False)
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    def _build_layout(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(self.types_button)
        bar.addWidget(self.job_edit, 1)
        bar.addWidget(self.follow_selection)
        bar.addStretch(1)
        bar.addWidget(self._count_label)
        bar.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)

    # Public API

    def set_model(self, model: EventLogModel) -> None:
        """Show ``model``; call once per window."""
        self._model = model
        self.proxy.setSourceModel(model)
        self.clear_button.clicked.connect(model.clear)
        widths = {
            EventColumn.SEQ: 60,
            EventColumn.TIME: 100,
            EventColumn.TYPE: 140,
            EventColumn.JOB: 260,
            EventColumn.ROUTINE: 110,
        }
        for column, width in widths.items():
            self.table.setColumnWidth(column, width)
        self._update_count()

    def set_event_types(self, types: Iterable[str] | None) -> None:
        """Show only ``types``, or all for None, and tick the menu to match."""
        chosen = None if types is None else frozenset(types)
        for event_type, action in self._type_actions.items():
            action.blockSignals(True)
            action.setChecked(chosen is None or event_type in chosen)
            action.blockSignals(False)
        self._apply_types()

    def set_selected_job(self, job_id: str | None) -> None:
        """Follow the jobs table's selection when "Selected job only" is on."""
        self._selected_job = job_id
        if self.follow_selection.isChecked():
            self.job_edit.setText(job_id or "")

    # Slots

    @Slot(bool)
    def _on_follow_selection_toggled(self, checked: bool) -> None:
        self.job_edit.setReadOnly(checked)
        self.job_edit.setText((self._selected_job or "") if checked else "")

    @Slot()
    def _on_show_all_triggered(self) -> None:
        self.set_event_types(None)

    @Slot(bool)
    def _on_type_action_toggled(self, _checked: bool) -> None:
        self._apply_types()

    def _apply_types(self) -> None:
        checked = frozenset(
            name for name, action in self._type_actions.items() if action.isChecked()
        )
        types = None if len(checked) == len(self._type_actions) else checked
        self.proxy.set_event_types(types)
        self.types_button.setText(
            "Types: all"
            if types is None
            else f"Types: {len(checked)} of {len(self._type_actions)}"
        )
        self.event_types_changed.emit(types)
        self._update_count()

    @Slot(int)
    def _on_scroll_value_changed(self, value: int) -> None:
        bar = self.table.verticalScrollBar()
        self._follow_tail = value >= bar.maximum() - 2

    @Slot()
    def _on_proxy_rows_inserted(self) -> None:
        if self._follow_tail:
            self.table.scrollToBottom()
        self._update_count()

    @Slot()
    def _update_count(self) -> None:
        total = self._model.rowCount() if self._model is not None else 0
        visible = self.proxy.rowCount()
        text = (
            f"{total:,} events"
            if visible == total
            else f"{visible:,} of {total:,} events"
        )
        self._count_label.setText(text)
