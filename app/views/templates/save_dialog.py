"""Dialog that names a job template and saves it to the template library."""

from __future__ import annotations

import dataclasses
import logging

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.models.templates import JobTemplate, TemplateLibrary

logger = logging.getLogger(__name__)


class SaveTemplateDialog(QDialog):
    """Asks for a name and description, then saves ``draft`` under that name.

    Saving under the name of another template replaces that template. The
    dialog shows this before the user saves.

    Signals:
        saved(JobTemplate): The template as saved.
    """

    saved = Signal(object)

    def __init__(
        self,
        library: TemplateLibrary,
        draft: JobTemplate,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("save_template_dialog")
        self.setWindowTitle("Save as Template")
        self._library = library
        self._draft = draft

        self.name_edit = QLineEdit(draft.name, self)
        self.name_edit.setObjectName("template_name")
        self.name_edit.setPlaceholderText("Daily orders import")
        self.description_edit = QLineEdit(draft.description, self)
        self.description_edit.setObjectName("template_description")
        summary = QLabel(
            f"Starts {draft.flow_id} at {draft.routine_id}.{draft.slot_name}", self
        )
        summary.setWordWrap(True)
        self.note_label = QLabel(self)
        self.note_label.setObjectName("template_note")
        self.note_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save
            | QDialogButtonBox.StandardButton.Cancel,
            self,
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)

        form = QFormLayout()
        form.addRow("&Name:", self.name_edit)
        form.addRow("&Description:", self.description_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addLayout(form)
        layout.addWidget(self.note_label)
        layout.addWidget(self.buttons)

        self.name_edit.textChanged.connect(self._on_name_edit_text_changed)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        self._on_name_edit_text_changed()

    @Slot()
    def _on_name_edit_text_changed(self) -> None:
        name = self.name_edit.text().strip()
        existing = self._library.find_by_name(name) if name else None
        self.save_button.setEnabled(bool(name))
        if existing is not None and existing.template_id != self._draft.template_id:
            self.note_label.setText(f"Saving replaces the template '{existing.name}'.")
            self.save_button.setText("Replace")
        else:
            self.note_label.setText("")
            self.save_button.setText("Save")

    @Slot()
    def _on_buttons_accepted(self) -> None:
        name = self.name_edit.text().strip()
        if not name:
            return
        existing = self._library.find_by_name(name)
        template = dataclasses.replace(
            self._draft,
            name=name,
            description=self.description_edit.text().strip(),
            template_id=existing.template_id if existing else self._draft.template_id,
        )
        try:
            saved = self._library.save(template)
        except OSError as exc:
            self.note_label.setText(
                f"Couldn't save the template: {exc}. Check that "
                f"{self._library.folder} is writable, then retry."
            )
            return
        self.saved.emit(saved)
        self.accept()
