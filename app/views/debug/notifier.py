"""Tells the user that a job paused while the window was in the background."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication, QStyle, QSystemTrayIcon, QWidget

from app.controllers import notify

logger = logging.getLogger(__name__)

MESSAGE_MS = 8000


class PauseNotifier(QObject):
    """Shows one system notification per burst of pauses when the window is inactive.

    A flow breakpoint can pause many jobs at once, so pauses that arrive
    within ``coalesce_ms`` of each other produce one message. The message
    goes to the system tray when the desktop has one, else to the status
    bar through notify. Either way the window requests attention with
    ``QApplication.alert``.

    Attributes:
        last_message: The text of the last notification, for tests.
    """

    def __init__(
        self,
        window: QWidget,
        parent: QObject | None = None,
        *,
        coalesce_ms: int = 300,
        use_tray: bool | None = None,
    ):
        super().__init__(parent)
        self._window = window
        self._use_tray = (
            QSystemTrayIcon.isSystemTrayAvailable() if use_tray is None else use_tray
        )
        self._tray: QSystemTrayIcon | None = None
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self.last_message: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(coalesce_ms)
        self._timer.timeout.connect(self._on_timer_timeout)

    @Slot(str, dict)
    def on_job_paused(self, job_id: str, data: dict[str, Any]) -> None:
        """Queue a notification for ``job_id`` unless the window is active."""
        if self._window.isActiveWindow():
            return
        self._pending.append((job_id, data))
        if not self._timer.isActive():
            self._timer.start()

    @Slot()
    def _on_timer_timeout(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        text = _describe(pending)
        self.last_message = text
        if self._use_tray:
            self._tray_icon().showMessage(
                "Job paused", text, QSystemTrayIcon.MessageIcon.Information, MESSAGE_MS
            )
            logger.info("%s", text)
        else:
            notify.info(text)
        QApplication.alert(self._window)

    def _tray_icon(self) -> QSystemTrayIcon:
        if self._tray is None:
            icon = self._window.windowIcon()
            if icon.isNull():
                icon = self._window.style().standardIcon(
                    QStyle.StandardPixmap.SP_MessageBoxInformation
                )
            self._tray = QSystemTrayIcon(icon, self)
            self._tray.setToolTip(QApplication.applicationName() or "Overseer Desktop")
            self._tray.messageClicked.connect(self._on_tray_message_clicked)
            self._tray.show()
        return self._tray

    @Slot()
    def _on_tray_message_clicked(self) -> None:
        self._window.showNormal()
        self._window.raise_()
        self._window.activateWindow()


def _describe(pending: list[tuple[str, dict[str, Any]]]) -> str:
    if len(pending) > 1:
        return f"{len(pending)} jobs paused. Open Overseer Desktop to inspect them."
    job_id, data = pending[0]
    kind = data.get("kind") or "pause point"
    port = data.get("slot") or data.get("event")
    where = (
        f"{data.get('routine_id', '?')}.{port}"
        if port
        else str(data.get("routine_id", "?"))
    )
    reason = " at a breakpoint" if data.get("reason") == "breakpoint" else ""
    return f"Job {job_id[:8]} paused{reason}: {kind} {where}"
