"""Keyboard-first list of job templates: type to filter, Enter to start."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.records import FlowInfo
from app.models.templates import JobTemplate, TemplateLibrary, template_problem

logger = logging.getLogger(__name__)

_TEMPLATE_ID = Qt.ItemDataRole.UserRole


class TemplatePickerDialog(QDialog):
    """Shows every template, marked when its start point is missing on the server.

    Typing filters by name, flow and description; Up and Down move through
    the list without leaving the filter; Enter starts the chosen template and
    Ctrl+E opens it in the new-job dialog instead.

    Signals:
        start_requested(JobTemplate): Start this template.
        edit_requested(JobTemplate): Open this template in the new-job dialog.
    """

    start_requested = Signal(object)
    edit_requested = Signal(object)

    def __init__(
        self,
        library: TemplateLibrary,
        flows: Sequence[FlowInfo],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("template_picker")
        self.setWindowTitle("Start from Template")
        self.resize(520, 420)
        self._library = library
        self._flows = {flow.flow_id: flow for flow in flows}

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("template_filter")
        self.filter_edit.setPlaceholderText("Type to filter templates")
        self.filter_edit.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setObjectName("template_list")
        self.detail_label = QLabel(self)
        self.detail_label.setObjectName("template_detail")
        self.detail_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.start_button = self.buttons.addButton(
            "&Start", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.start_button.setDefault(True)
        self.edit_button = self.buttons.addButton(
            "&Edit…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.edit_button.setShortcut("Ctrl+E")

        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.detail_label)
        layout.addWidget(self.buttons)

        self.filter_edit.installEventFilter(self)
        self.filter_edit.textChanged.connect(self._fill)
        self.list.currentItemChanged.connect(self._on_list_current_item_changed)
        self.list.itemActivated.connect(self._on_list_item_activated)
        self.start_button.clicked.connect(self._on_start_button_clicked)
        self.edit_button.clicked.connect(self._on_edit_button_clicked)
        self.buttons.rejected.connect(self.reject)
        library.changed.connect(self._fill)
        self._fill()

    def current_template(self) -> JobTemplate | None:
        """Return the highlighted template."""
        item = self.list.currentItem()
        return self._library.get(item.data(_TEMPLATE_ID)) if item else None

    def shown_names(self) -> list[str]:
        """Return the names of the listed templates, in order."""
        return [self.list.item(row).text() for row in range(self.list.count())]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """Override eventFilter: Up and Down in the filter move in the list."""
        if watched is self.filter_edit and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1}.get(Qt.Key(event.key()))
            if step is not None and self.list.count():
                row = min(max(self.list.currentRow() + step, 0), self.list.count() - 1)
                self.list.setCurrentRow(row)
                return True
        return super().eventFilter(watched, event)

    @Slot()
    def _fill(self) -> None:
        words = self.filter_edit.text().casefold().split()
        keep = self.current_template()
        self.list.clear()
        for template in self._library.templates():
            haystack = f"{template.name} {template.flow_id} {template.description}"
            if not all(word in haystack.casefold() for word in words):
                continue
            problem = template_problem(template, self._flows)
            item = QListWidgetItem(template.name, self.list)
            item.setData(_TEMPLATE_ID, template.template_id)
            item.setToolTip(problem or template.description or template.flow_id)
            if problem:
                item.setForeground(Qt.GlobalColor.darkYellow)
                item.setText(f"{template.name}  ⚠")
            if keep is not None and template.template_id == keep.template_id:
                self.list.setCurrentItem(item)
        if self.list.currentRow() < 0 and self.list.count():
            self.list.setCurrentRow(0)
        self._show_detail()

    def _show_detail(self) -> None:
        template = self.current_template()
        enabled = template is not None
        self.start_button.setEnabled(enabled)
        self.edit_button.setEnabled(enabled)
        if template is None:
            self.detail_label.setText(
                "No template matches."
                if self._library.templates()
                else "No templates yet. Save one from the New Job dialog."
            )
            return
        where = f"{template.flow_id} → {template.routine_id}.{template.slot_name}"
        problem = template_problem(template, self._flows)
        text = f"{where}\n⚠ {problem}" if problem else where
        if template.description:
            text = f"{template.description}\n{text}"
        self.detail_label.setText(text)

    @Slot()
    def _on_list_current_item_changed(self, *_args: object) -> None:
        self._show_detail()

    @Slot(QListWidgetItem)
    def _on_list_item_activated(self, _item: QListWidgetItem) -> None:
        self._on_start_button_clicked()

    @Slot()
    def _on_start_button_clicked(self) -> None:
        template = self.current_template()
        if template is not None:
            self.accept()
            self.start_requested.emit(template)

    @Slot()
    def _on_edit_button_clicked(self) -> None:
        template = self.current_template()
        if template is not None:
            self.accept()
            self.edit_requested.emit(template)
