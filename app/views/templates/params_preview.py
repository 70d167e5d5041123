"""The new-job dialog's placeholder fields and its preview of the params as sent."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.models import placeholders

logger = logging.getLogger(__name__)


class ParamsPreview(QWidget):
    """Fields for ``${ask:NAME}`` values and a read-only view of the params as sent.

    Each ``${uuid}`` keeps the value the preview shows, so the job is sent
    with exactly those UUIDs. ``${today}`` and ``${now}`` are read again when
    the job starts.

    Signals:
        changed: The user typed a value, so the preview and readiness changed.
    """

    changed = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], datetime] = placeholders.local_now,
    ):
        super().__init__(parent)
        self._clock = clock
        self._params: dict[str, Any] | None = None
        self._uses_now = False
        self._uuids: list[str] = []
        self._fields: dict[str, QLineEdit] = {}
        self._kept_answers: dict[str, str] = {}

        self._asks_box = QWidget(self)
        self._asks_form = QFormLayout(self._asks_box)
        self._asks_form.setContentsMargins(0, 0, 0, 0)
        self.preview_view = QPlainTextEdit(self)
        self.preview_view.setObjectName("preview_view")
        self.preview_view.setReadOnly(True)
        self.preview_view.setFont(
            QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        )
        self.note_label = QLabel(self)
        self.note_label.setObjectName("preview_note")
        self.note_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._asks_box)
        title = QLabel("Params as sent:", self)
        title.setBuddy(self.preview_view)
        layout.addWidget(title)
        layout.addWidget(self.preview_view, 1)
        layout.addWidget(self.note_label)
        self._asks_box.hide()

    # Public API

    def set_params(self, params: dict[str, Any] | None) -> str | None:
        """Show the params, or clear for None; return a placeholder error, if any."""
        self._params = params
        if params is None:
            self._set_asks([])
            self.preview_view.clear()
            return None
        try:
            found = placeholders.scan(params)
        except placeholders.PlaceholderError as exc:
            self._set_asks([])
            self.preview_view.setPlainText("")
            self.note_label.setText("")
            return str(exc)
        names = [p.argument for p in found if p.name == "ask" and p.argument]
        self._set_asks(list(dict.fromkeys(names)))
        self._uses_now = any(p.name == "now" for p in found)
        self._refresh()
        return None

    def answers(self) -> dict[str, str]:
        """Return the value typed for each ``${ask:NAME}``."""
        return {name: field.text() for name, field in self._fields.items()}

    def set_answer(self, name: str, value: str) -> None:
        """Type ``value`` into the field of ``${ask:NAME}``."""
        self._fields[name].setText(value)

    def missing_answers(self) -> list[str]:
        """Return the asked names that have no value yet."""
        return [name for name, field in self._fields.items() if not field.text()]

    def expanded(self) -> dict[str, Any]:
        """Return the params to send now, with the previewed UUIDs.

        Raises:
            PlaceholderError: a placeholder is unknown or a value is missing.
        """
        if self._params is None:
            return {}
        return placeholders.expand(
            self._params,
            answers=self.answers(),
            clock=self._clock,
            new_uuid=self._uuid_source(),
        )

    # Helpers

    def _set_asks(self, names: list[str]) -> None:
        if names == list(self._fields):
            return
        self._kept_answers.update(self.answers())
        while self._asks_form.rowCount():
            self._asks_form.removeRow(0)
        self._fields = {}
        for name in names:
            field = QLineEdit(self._asks_box)
            field.setObjectName(f"ask_{name}")
            field.setPlaceholderText(f"value for ${{ask:{name}}}")
            field.setText(self._kept_answers.get(name, ""))
            field.textChanged.connect(self._on_field_text_changed)
            self._asks_form.addRow(f"{name}:", field)
            self._fields[name] = field
        self._asks_box.setVisible(bool(names))

    def _uuid_source(self) -> Callable[[], str]:
        """Return a UUID source that repeats the previewed values in order."""
        counter = iter(range(1_000_000))

        def next_uuid() -> str:
            index = next(counter)
            if index == len(self._uuids):
                self._uuids.append(str(uuid.uuid4()))
            return self._uuids[index]

        return next_uuid

    def _refresh(self) -> None:
        if self._params is None:
            return
        try:
            shown = self.expanded()
        except placeholders.PlaceholderError:
            # Values still missing: show what is known, with the gaps marked.
            answers = {n: v or f"<{n}>" for n, v in self.answers().items()}
            shown = placeholders.expand(
                self._params,
                answers=answers,
                clock=self._clock,
                new_uuid=self._uuid_source(),
            )
        self.preview_view.setPlainText(json.dumps(shown, indent=2, ensure_ascii=False))
        missing = self.missing_answers()
        notes = []
        if missing:
            notes.append(f"Enter a value for {', '.join(missing)}.")
        if self._uses_now:
            notes.append("${now} is read again when the job starts.")
        self.note_label.setText(" ".join(notes))

    @Slot()
    def _on_field_text_changed(self) -> None:
        self._refresh()
        self.changed.emit()
