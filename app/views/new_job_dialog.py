"""Dialog that starts a job: flow, entry routine, slot and JSON params.

The params may contain placeholders (``app.models.placeholders``). The
dialog has a field for each ``${ask:NAME}`` value and previews the params
as sent. With a template library it also starts from a saved template and
saves its contents as one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from app.controllers import notify
from app.models import placeholders
from app.models.records import FlowInfo, JobDetail
from app.models.templates import JobTemplate, TemplateLibrary, template_problem
from app.views.templates.params_preview import ParamsPreview
from app.views.templates.save_dialog import SaveTemplateDialog

logger = logging.getLogger(__name__)

SubmitFunction = Callable[[str, str, str, dict[str, Any]], Awaitable[JobDetail]]


class ParamsError(ValueError):
    """Params text that is not a JSON object.

    Attributes:
        position: Character offset of the problem in the text, or None.
    """

    def __init__(self, message: str, position: int | None = None):
        super().__init__(message)
        self.position = position


def parse_params(text: str) -> dict[str, Any]:
    """Parse the params text; blank text means an empty object."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParamsError(
            f"Line {exc.lineno}, column {exc.colno}: {exc.msg}", exc.pos
        ) from exc
    if not isinstance(value, dict):
        raise ParamsError(f"Params must be a JSON object, not {_json_kind(value)}", 0)
    return value


def _json_kind(value: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


class NewJobDialog(QDialog):
    """Collects where a job starts and its params, then submits it.

    The submit button stays disabled while the params are not a JSON object,
    hold an unknown placeholder or lack an ``${ask:NAME}`` value, or no slot
    is chosen. A server error keeps the dialog open and shows the server's
    reason under the params.

    Signals:
        job_submitted(JobDetail): The server accepted the job.
    """

    job_submitted = Signal(object)

    def __init__(
        self,
        flows: Sequence[FlowInfo],
        submit: SubmitFunction,
        parent: QWidget | None = None,
        *,
        templates: TemplateLibrary | None = None,
        clock: Callable[[], datetime] = placeholders.local_now,
    ):
        super().__init__(parent)
        self.setWindowTitle("New Job")
        self.setObjectName("new_job_dialog")
        self.resize(600, 640)
        self._flows = {flow.flow_id: flow for flow in flows}
        self._submit = submit
        self._templates = templates
        self._submitting = False
        self._params_valid = True
        self._template: JobTemplate | None = None

        self.template_box = QComboBox(self)
        self.template_box.setObjectName("template_box")
        self.template_note = QLabel(self)
        self.template_note.setObjectName("template_note")
        self.template_note.setWordWrap(True)
        self.template_note.setStyleSheet("color: #b7791f;")
        self.template_note.hide()

        self.flow_box = QComboBox(self)
        self.flow_box.setObjectName("flow_box")
        self.routine_box = QComboBox(self)
        self.routine_box.setObjectName("routine_box")
        self.slot_box = QComboBox(self)
        self.slot_box.setObjectName("slot_box")
        self.params_edit = QPlainTextEdit(self)
        self.params_edit.setObjectName("params_edit")
        self.params_edit.setFont(
            QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        )
        self.params_edit.setPlaceholderText('{"key": "value"}')
        self.params_edit.setPlainText("{}")
        self.validation_label = QLabel(self)
        self.validation_label.setObjectName("validation_label")
        self.validation_label.setWordWrap(True)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("error_label")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.error_label.hide()
        self.preview = ParamsPreview(self, clock=clock)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
            self,
        )
        self.submit_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.submit_button.setText("Start job")
        self.save_template_button = self.buttons.addButton(
            "Save as &Template…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.save_template_button.setObjectName("save_template_button")
        self._build_layout()
        self._fill_template_box()
        if templates is not None:
            templates.changed.connect(self._fill_template_box)
        else:
            self.template_box.hide()
            self.save_template_button.hide()

        for flow_id in sorted(self._flows):
            self.flow_box.addItem(flow_id, flow_id)
        self.flow_box.currentIndexChanged.connect(
            self._on_flow_box_current_index_changed
        )
        self.routine_box.currentIndexChanged.connect(
            self._on_routine_box_current_index_changed
        )
        self.slot_box.currentIndexChanged.connect(self._update_submit_state)
        self.params_edit.textChanged.connect(self._on_params_edit_text_changed)
        self.preview.changed.connect(self._update_submit_state)
        self.template_box.activated.connect(self._on_template_box_activated)
        self.save_template_button.clicked.connect(self.open_save_template_dialog)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        self._on_flow_box_current_index_changed()
        self._on_params_edit_text_changed()

    def _build_layout(self) -> None:
        form = QFormLayout()
        if self._templates is not None:
            form.addRow("Te&mplate:", self.template_box)
            form.addRow("", self.template_note)
        form.addRow("&Flow:", self.flow_box)
        form.addRow("&Entry routine:", self.routine_box)
        form.addRow("&Slot:", self.slot_box)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        params_label = QLabel("&Params (JSON object):", self)
        params_label.setBuddy(self.params_edit)
        layout.addWidget(params_label)
        layout.addWidget(self.params_edit, 1)
        layout.addWidget(self.validation_label)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    # Public API

    def prefill(
        self, flow_id: str, routine_id: str, slot_name: str, params: dict[str, Any]
    ) -> None:
        """Choose a start point and params, for example those of an earlier job."""
        self._select(self.flow_box, flow_id)
        self._select(self.routine_box, routine_id)
        self._select(self.slot_box, slot_name)
        self.params_edit.setPlainText(json.dumps(params, indent=2, ensure_ascii=False))

    def apply_template(self, template: JobTemplate) -> None:
        """Fill the dialog from ``template``; a missing start point is named above."""
        self._template = template
        index = self.template_box.findData(template.template_id)
        if index >= 0:
            self.template_box.setCurrentIndex(index)
        self.prefill(
            template.flow_id, template.routine_id, template.slot_name, template.params
        )
        problem = template_problem(template, self._flows)
        self.template_note.setText(f"⚠ {problem}" if problem else "")
        self.template_note.setVisible(problem is not None)

    def draft_template(self) -> JobTemplate:
        """Return the dialog's contents as an unsaved template, placeholders kept."""
        try:
            params = parse_params(self.params_edit.toPlainText())
        except ParamsError:
            params = {}
        base = self._template or JobTemplate("", "", "", "")
        return dataclasses.replace(
            base,
            flow_id=self.flow_box.currentData() or "",
            routine_id=self.routine_box.currentData() or "",
            slot_name=self.slot_box.currentData() or "",
            params=params,
        )

    @Slot()
    def open_save_template_dialog(self) -> SaveTemplateDialog | None:
        """Ask for a name and save the dialog's contents as a template."""
        if self._templates is None:
            return None
        dialog = SaveTemplateDialog(self._templates, self.draft_template(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._on_template_saved)
        dialog.open()
        return dialog

    def is_submit_enabled(self) -> bool:
        """Return whether the submit button is enabled."""
        return self.submit_button.isEnabled()

    @staticmethod
    def _select(box: QComboBox, value: str) -> None:
        index = box.findData(value)
        if index >= 0:
            box.setCurrentIndex(index)

    # Slots

    @Slot()
    def _on_flow_box_current_index_changed(self) -> None:
        flow = self._flows.get(self.flow_box.currentData())
        self.routine_box.clear()
        if flow is not None:
            for routine_id in flow.entry_routines:
                self.routine_box.addItem(routine_id, routine_id)
            self.flow_box.setToolTip(flow.description)
        self._on_routine_box_current_index_changed()

    @Slot()
    def _on_routine_box_current_index_changed(self) -> None:
        flow = self._flows.get(self.flow_box.currentData())
        routine = flow.routines.get(self.routine_box.currentData()) if flow else None
        self.slot_box.clear()
        if routine is not None:
            for slot in routine.slots:
                self.slot_box.addItem(slot, slot)
        self._update_submit_state()

    @Slot()
    def _on_params_edit_text_changed(self) -> None:
        try:
            params = parse_params(self.params_edit.toPlainText())
        except ParamsError as exc:
            self._params_valid = False
            self._show_validation(f"⚠ {exc}", valid=False)
            self._mark_position(exc.position)
            self.preview.set_params(None)
        else:
            self._mark_position(None)
            problem = self.preview.set_params(params)
            self._params_valid = problem is None
            if problem is None:
                self._show_validation("Valid JSON object", valid=True)
            else:
                self._show_validation(f"⚠ Placeholder error in {problem}", valid=False)
        self._update_submit_state()

    @Slot()
    def _update_submit_state(self) -> None:
        ready = (
            self._params_valid
            and not self.preview.missing_answers()
            and self.slot_box.currentData() is not None
        )
        self.submit_button.setEnabled(ready and not self._submitting)

    @Slot()
    def _fill_template_box(self) -> None:
        current = self.template_box.currentData()
        self.template_box.clear()
        self.template_box.addItem("(none)", None)
        for template in self._templates.templates() if self._templates else []:
            problem = template_problem(template, self._flows)
            text = f"{template.name}  ⚠" if problem else template.name
            self.template_box.addItem(text, template.template_id)
            index = self.template_box.count() - 1
            self.template_box.setItemData(
                index, problem or template.description, Qt.ItemDataRole.ToolTipRole
            )
        index = self.template_box.findData(current)
        self.template_box.setCurrentIndex(max(index, 0))

    @Slot(int)
    def _on_template_box_activated(self, index: int) -> None:
        template_id = self.template_box.itemData(index)
        template = self._templates.get(template_id) if self._templates else None
        if template is not None:
            self.apply_template(template)

    @Slot(object)
    def _on_template_saved(self, template: JobTemplate) -> None:
        self._template = template
        self.template_box.setCurrentIndex(
            max(self.template_box.findData(template.template_id), 0)
        )
        notify.info(f"Saved the job template '{template.name}'")

    @asyncSlot()
    async def _on_buttons_accepted(self) -> None:
        if not self.is_submit_enabled():
            return
        try:
            params = self.preview.expanded()
        except placeholders.PlaceholderError as exc:
            self._show_error(f"Couldn't start the job: {exc}")
            return
        target = (
            self.flow_box.currentData(),
            self.routine_box.currentData(),
            self.slot_box.currentData(),
        )

        self._set_submitting(True)
        try:
            job = await self._submit(*target, params)
        except notify.NETWORK_ERRORS as exc:
            self._show_error(f"Couldn't start the job: {notify.describe(exc)}")
            return
        finally:
            self._set_submitting(False)
        self.job_submitted.emit(job)
        self.accept()

    # Helpers

    def _show_validation(self, text: str, *, valid: bool) -> None:
        self.validation_label.setText(text)
        self.validation_label.setStyleSheet(
            "color: #2e7d32;" if valid else "color: #c53030;"
        )

    def _set_submitting(self, submitting: bool) -> None:
        self._submitting = submitting
        self.submit_button.setText("Starting…" if submitting else "Start job")
        for widget in (
            self.template_box,
            self.flow_box,
            self.routine_box,
            self.slot_box,
            self.params_edit,
            self.preview,
        ):
            widget.setEnabled(not submitting)
        if submitting:
            self.error_label.hide()
        self._update_submit_state()

    def _show_error(self, text: str) -> None:
        logger.info("%s", text)
        self.error_label.setText(text)
        self.error_label.setStyleSheet("color: #c53030;")
        self.error_label.show()

    def _mark_position(self, position: int | None) -> None:
        if position is None:
            self.params_edit.setExtraSelections([])
            return
        # Qt counts UTF-16 code units, Python counts code points, and the two
        # differ after an emoji or any other character outside the BMP.
        text = self.params_edit.toPlainText()
        start = min(position, max(0, len(text) - 1))
        cursor = QTextCursor(self.params_edit.document())
        cursor.setPosition(len(text[:start].encode("utf-16-le")) // 2)
        cursor.movePosition(
            QTextCursor.MoveOperation.Right, QTextCursor.MoveMode.KeepAnchor
        )
        selection = QTextEdit.ExtraSelection()
        selection.cursor = cursor
        char_format = QTextCharFormat()
        char_format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        char_format.setUnderlineColor(QColor("#c53030"))
        char_format.setBackground(QColor(255, 0, 0, 40))
        char_format.setProperty(QTextFormat.Property.FullWidthSelection, False)
        selection.format = char_format
        self.params_edit.setExtraSelections([selection])
