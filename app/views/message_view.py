"""Status-bar message view: the latest notify message and a short history."""

from __future__ import annotations

import logging
import time
from collections import deque

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QToolButton, QWidget

from app.controllers.notify import Level, Message

logger = logging.getLogger(__name__)

_LEVEL_STYLES = {
    Level.INFO: "",
    Level.WARNING: "color: #b7791f;",
    Level.ERROR: "color: #c53030; font-weight: 600;",
}
_LEVEL_MARKS = {Level.INFO: "", Level.WARNING: "⚠ ", Level.ERROR: "✖ "}


class MessageView(QWidget):
    """Shows the newest message; a button lists the recent ones.

    Info messages clear after ``info_timeout_ms``, warnings and errors after
    ``error_timeout_ms``. A message that repeats the one on display adds a
    count instead of a new history entry.
    """

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        info_timeout_ms: int = 6000,
        error_timeout_ms: int = 20000,
        history_size: int = 50,
    ):
        super().__init__(parent)
        self._info_timeout_ms = info_timeout_ms
        self._error_timeout_ms = error_timeout_ms
        self._history: deque[tuple[Message, int]] = deque(maxlen=history_size)

        self.label = QLabel(self)
        self.label.setObjectName("message_label")
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.history_button = QToolButton(self)
        self.history_button.setObjectName("message_history_button")
        self.history_button.setText("Messages")
        self.history_button.setAutoRaise(True)
        self.history_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._menu = QMenu(self.history_button)
        self._menu.aboutToShow.connect(self._on_menu_about_to_show)
        self.history_button.setMenu(self._menu)
        self.history_button.setEnabled(False)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.history_button)
        layout.addWidget(self.label, 1)

        self._clear_timer = QTimer(self)
        self._clear_timer.setSingleShot(True)
        self._clear_timer.timeout.connect(self.label.clear)

    @property
    def history(self) -> list[Message]:
        """Recent messages, oldest first."""
        return [message for message, _count in self._history]

    @Slot(object)
    def show_message(self, message: Message) -> None:
        """Show ``message`` and add it to the history."""
        count = 1
        if self._history and self._history[-1][0].text == message.text:
            count = self._history.pop()[1] + 1
        self._history.append((message, count))
        self.history_button.setEnabled(True)

        suffix = f" (×{count})" if count > 1 else ""
        self.label.setText(f"{_LEVEL_MARKS[message.level]}{message.text}{suffix}")
        self.label.setToolTip(message.text)
        self.label.setStyleSheet(_LEVEL_STYLES[message.level])
        info = message.level is Level.INFO
        self._clear_timer.start(
            self._info_timeout_ms if info else self._error_timeout_ms
        )

    @Slot()
    def _on_menu_about_to_show(self) -> None:
        self._menu.clear()
        for message, count in reversed(self._history):
            stamp = time.strftime("%H:%M:%S", time.localtime(message.posted_at))
            suffix = f" (×{count})" if count > 1 else ""
            text = f"{stamp}  {_LEVEL_MARKS[message.level]}{message.text}{suffix}"
            self._menu.addAction(text.replace("&", "&&"))
