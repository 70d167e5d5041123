"""Dialog to add a breakpoint (pick flow, routine and slot or event) or edit one."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from app.controllers import notify
from app.controllers.breakpoints import BreakpointsController
from app.models.debug_records import (
    EVENT,
    ROUTINE,
    SLOT,
    BreakpointInfo,
    BreakpointPlace,
    BreakpointSpec,
)
from app.models.records import FlowInfo
from app.services.api import ApiError
from app.views.debug.condition_editor import ConditionEditor

logger = logging.getLogger(__name__)

_KIND_LABELS = (
    (SLOT, "Data enters a slot"),
    (ROUTINE, "Routine logic runs"),
    (EVENT, "An event is emitted"),
)
_ANY_PORT = "(any)"
# The server's hit condition grammar: [op] count, or % count [(==|=|!=) remainder].
_HIT_RE = re.compile(
    r"^\s*(?:(?:>=|<=|==|!=|>|<|=)?\s*\d{1,12}|%\s*[1-9]\d{0,11}(?:\s*(?:==|=|!=)\s*\d{1,12})?)\s*$"
)
_ERROR_STYLE = "color: #c53030;"


class BreakpointDialog(QDialog):
    """Picks a place and edits a breakpoint's condition, hit condition and log message.

    In edit mode the place is fixed, because the server cannot move a
    breakpoint; only the condition, hit condition, log message and enabled
    state change. Save stays disabled while the condition does not parse.

    Signals:
        saved(BreakpointInfo): The server accepted the breakpoint.
    """

    saved = Signal(object)

    def __init__(
        self,
        flows: Mapping[str, FlowInfo],
        controller: BreakpointsController,
        parent: QWidget | None = None,
        *,
        item: BreakpointInfo | None = None,
        place: BreakpointPlace | None = None,
        job_id: str | None = None,
        debounce_ms: int = 400,
    ):
        super().__init__(parent)
        self.setObjectName("breakpoint_dialog")
        self.setWindowTitle("Edit Breakpoint" if item else "Add Breakpoint")
        self.setMinimumWidth(480)
        self._flows = dict(flows)
        self._controller = controller
        self._item = item
        self._job_id = job_id
        self._saving = False

        self.flow_box = QComboBox(self)
        self.routine_box = QComboBox(self)
        self.kind_box = QComboBox(self)
        self.port_box = QComboBox(self)
        self.scope_box = QComboBox(self)
        self.condition_editor = ConditionEditor(
            self,
            placeholder="Blank means always, e.g. amount > 100",
            debounce_ms=debounce_ms,
        )
        self.hit_edit = QLineEdit(self)
        self.hit_edit.setPlaceholderText("Blank, or e.g. >= 3 or % 10 == 0")
        self.hit_message = QLabel(self)
        self.hit_message.setStyleSheet(_ERROR_STYLE)
        self.hit_message.hide()
        self.log_check = QCheckBox("Log a message instead of pausing", self)
        self.log_edit = QLineEdit(self)
        self.log_edit.setPlaceholderText("Order {record['id']}: {amount}")
        self.enabled_check = QCheckBox("Enabled", self)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("breakpoint_error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(_ERROR_STYLE)
        self.error_label.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.save_button = QPushButton("Save", self)
        self.save_button.setObjectName("save_button")
        self.save_button.setDefault(True)
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self._build_layout()
        self._fill(item, place)
        self._connect()
        self._update_save()

    # -- layout and contents ---------------------------------------------------

    def _build_layout(self) -> None:
        form = QFormLayout()
        form.addRow("Flow", self.flow_box)
        form.addRow("Routine", self.routine_box)
        form.addRow("Stop when", self.kind_box)
        form.addRow("Slot / event", self.port_box)
        form.addRow("Applies to", self.scope_box)
        form.addRow("Condition", self.condition_editor)
        form.addRow("Hit condition", self.hit_edit)
        form.addRow("", self.hit_message)
        form.addRow("", self.log_check)
        form.addRow("Message", self.log_edit)
        form.addRow("", self.enabled_check)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def _fill(self, item: BreakpointInfo | None, place: BreakpointPlace | None) -> None:
        for flow_id in sorted(self._flows):
            self.flow_box.addItem(flow_id, flow_id)
        for kind, label in _KIND_LABELS:
            self.kind_box.addItem(label, kind)
        self.scope_box.addItem("Every job of the flow", None)
        if self._job_id:
            self.scope_box.addItem(f"Only job {self._job_id[:8]}", self._job_id)

        place = item.place() if item is not None else place
        if place is not None:
            self._select(self.flow_box, place.flow_id)
        self._on_flow_changed()
        if place is not None:
            self._select(self.routine_box, place.routine_id)
            self._select(self.kind_box, place.kind)
            self._on_place_changed()
            self._select(self.port_box, place.port)
        if item is not None:
            self._fill_item(item)
        else:
            self.enabled_check.setChecked(True)
        self.log_edit.setEnabled(self.log_check.isChecked())

    def _fill_item(self, item: BreakpointInfo) -> None:
        self._select(self.scope_box, item.job_id)
        if item.job_id and self.scope_box.currentData() != item.job_id:
            self.scope_box.addItem(f"Only job {item.job_id[:8]}", item.job_id)
            self.scope_box.setCurrentIndex(self.scope_box.count() - 1)
        self.condition_editor.set_text(item.condition or "")
        self.hit_edit.setText(item.hit_condition or "")
        self.log_check.setChecked(item.log_message is not None)
        self.log_edit.setText(item.log_message or "")
        self.enabled_check.setChecked(item.enabled)
        for box in (
            self.flow_box,
            self.routine_box,
            self.kind_box,
            self.port_box,
            self.scope_box,
        ):
            box.setEnabled(False)

    def _connect(self) -> None:
        self.flow_box.currentIndexChanged.connect(self._on_flow_changed)
        self.routine_box.currentIndexChanged.connect(self._on_place_changed)
        self.kind_box.currentIndexChanged.connect(self._on_place_changed)
        self.condition_editor.validity_changed.connect(self._update_save)
        self.hit_edit.textChanged.connect(self._on_hit_text_changed)
        self.log_check.toggled.connect(self.log_edit.setEnabled)
        self.save_button.clicked.connect(self._on_save_clicked)
        self.buttons.rejected.connect(self.reject)

    @staticmethod
    def _select(box: QComboBox, data: object) -> None:
        index = box.findData(data)
        if index >= 0:
            box.setCurrentIndex(index)

    @Slot()
    def _on_flow_changed(self) -> None:
        flow = self._flows.get(self.flow_box.currentData())
        self.routine_box.clear()
        for routine_id in sorted(flow.routines) if flow else ():
            self.routine_box.addItem(routine_id, routine_id)
        self._on_place_changed()

    @Slot()
    def _on_place_changed(self) -> None:
        flow = self._flows.get(self.flow_box.currentData())
        routine = flow.routines.get(self.routine_box.currentData()) if flow else None
        kind = self.kind_box.currentData()
        ports = (
            ()
            if routine is None
            else routine.slots
            if kind == SLOT
            else routine.events
            if kind == EVENT
            else ()
        )
        self.port_box.clear()
        if kind != ROUTINE:
            self.port_box.addItem(_ANY_PORT, None)
        for port in ports:
            self.port_box.addItem(port, port)
        if ports:
            self.port_box.setCurrentIndex(1)
        self.port_box.setEnabled(kind != ROUTINE and self._item is None)
        self._update_save()

    @Slot(str)
    def _on_hit_text_changed(self, text: str) -> None:
        valid = not text.strip() or _HIT_RE.match(text) is not None
        self.hit_message.setText(
            "" if valid else "Use a count such as 5, >= 3 or % 10 == 0"
        )
        self.hit_message.setVisible(not valid)
        self._update_save()

    @Slot()
    def _update_save(self, *_args: object) -> None:
        hit_text = self.hit_edit.text()
        ready = (
            not self._saving
            and self.routine_box.currentData() is not None
            and self.condition_editor.is_valid
            and (not hit_text.strip() or _HIT_RE.match(hit_text) is not None)
        )
        self.save_button.setEnabled(ready)

    def is_save_enabled(self) -> bool:
        """Return whether the Save button is enabled."""
        return self.save_button.isEnabled()

    # -- saving --------------------------------------------------------------------

    def spec(self) -> BreakpointSpec:
        """Return the breakpoint the dialog describes."""
        return BreakpointSpec(
            routine_id=self.routine_box.currentData() or "",
            kind=self.kind_box.currentData() or SLOT,
            port=self.port_box.currentData(),
            condition=self.condition_editor.text().strip() or None,
            hit_condition=self.hit_edit.text().strip() or None,
            log_message=self.log_edit.text() if self.log_check.isChecked() else None,
            enabled=self.enabled_check.isChecked(),
        )

    @asyncSlot()
    async def _on_save_clicked(self) -> None:
        if not self.is_save_enabled():
            return
        self._saving = True
        self._update_save()
        self.error_label.hide()
        try:
            saved = await self._save(self.spec())
        except notify.NETWORK_ERRORS as exc:
            self._show_error(exc)
            return
        finally:
            self._saving = False
            self._update_save()
        self.saved.emit(saved)
        self.accept()

    async def _save(self, spec: BreakpointSpec) -> BreakpointInfo:
        if self._item is None:
            return await self._controller.create(
                spec,
                flow_id=self.flow_box.currentData(),
                job_id=self.scope_box.currentData(),
            )
        return await self._controller.update(
            self._item,
            condition=spec.condition or "",
            hit_condition=spec.hit_condition or "",
            log_message=spec.log_message,
            enabled=spec.enabled,
        )

    def _show_error(self, exc: Exception) -> None:
        details = (
            exc.details
            if isinstance(exc, ApiError) and isinstance(exc.details, dict)
            else {}
        )
        field, column = details.get("field"), details.get("column")
        if field == "condition":
            self.condition_editor.show_error(
                _server_message(exc), column if isinstance(column, int) else None
            )
            self.condition_editor.edit.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        if field == "hit_condition":
            self.hit_message.setText(_server_message(exc))
            self.hit_message.show()
            return
        self.error_label.setText(
            f"Couldn't save the breakpoint: {notify.describe(exc)}"
        )
        self.error_label.show()


def _server_message(exc: Exception) -> str:
    """Return the server's description of an invalid expression, without the field name."""
    if isinstance(exc, ApiError) and isinstance(exc.details, dict):
        errors = exc.details.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            column = errors[0].get("column")
            message = str(errors[0].get("msg", exc.message))
            return f"Column {column}: {message}" if column else message
    return notify.describe(exc)
