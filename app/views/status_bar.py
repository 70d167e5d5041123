"""Connection indicator for the status bar: state, countdown, RTT, server, age."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.models import formatting
from app.models.records import ServerInfo
from app.services.stream import ConnectionState, ConnectionStatus

logger = logging.getLogger(__name__)

_STATE_COLORS = {
    ConnectionState.CONNECTING: "#d49a00",
    ConnectionState.CONNECTED: "#2e9d57",
    ConnectionState.RECONNECTING: "#d49a00",
    ConnectionState.DISCONNECTED: "#8a8f98",
    ConnectionState.FAILED: "#d64545",
}
_RETRY_STATES = frozenset(
    {ConnectionState.RECONNECTING, ConnectionState.DISCONNECTED, ConnectionState.FAILED}
)


class ConnectionIndicator(QWidget):
    """Shows the event stream's ConnectionStatus and offers "Reconnect now".

    A 1 s timer redraws the retry countdown and the age of the last message.
    It defers display updates only, because the stream reports every state
    change through ``set_status``.

    Signals:
        reconnect_requested: The user clicked "Reconnect now".
    """

    reconnect_requested = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        tick_ms: int = 1000,
    ):
        super().__init__(parent)
        self._clock = clock
        self._status: ConnectionStatus | None = None
        self._received_at = 0.0
        self._server_text = ""
        self._starting_text = ""
        self._status_source: Callable[[], ConnectionStatus] | None = None

        self.dot = QLabel("●", self)
        self.state_label = QLabel(self)
        self.state_label.setObjectName("connection_state")
        self.reconnect_button = QPushButton("Reconnect now", self)
        self.reconnect_button.setObjectName("reconnect_button")
        self.reconnect_button.setFlat(True)
        self.reconnect_button.hide()
        self.rtt_label = QLabel(self)
        self.rtt_label.setObjectName("rtt_label")
        self.server_label = QLabel(self)
        self.server_label.setObjectName("server_label")
        self.age_label = QLabel(self)
        self.age_label.setObjectName("age_label")
        self._build_layout()

        self.reconnect_button.clicked.connect(self.reconnect_requested)
        self.tick_timer = QTimer(self)
        self.tick_timer.setInterval(tick_ms)
        self.tick_timer.timeout.connect(self.refresh)
        self.tick_timer.start()
        self.refresh()

    def _build_layout(self) -> None:
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(6)
        for widget in (self.dot, self.state_label, self.reconnect_button):
            layout.addWidget(widget)
        for widget in (self.rtt_label, self.age_label, self.server_label):
            layout.addSpacing(10)
            layout.addWidget(widget)

    # Public API

    @property
    def status(self) -> ConnectionStatus | None:
        """Last status shown."""
        return self._status

    @Slot(object)
    def set_status(self, status: ConnectionStatus) -> None:
        """Show a new connection status."""
        self._status = status
        self._received_at = self._clock()
        self._starting_text = ""
        self.refresh()

    def set_status_source(self, source: Callable[[], ConnectionStatus]) -> None:
        """Read the last message time from ``source`` on each tick.

        The stream does not emit a status for every message it receives, so
        the age of the last message comes from its current status instead.
        """
        self._status_source = source
        self.refresh()

    def set_starting(self, text: str) -> None:
        """Show a start-up step before any connection status exists."""
        self._starting_text = text
        self.refresh()

    def set_server_info(self, info: ServerInfo) -> None:
        """Name the server."""
        kind = " (stock Routilux)" if info.is_stock else ""
        self._server_text = f"{info.name} {info.version}{kind}".strip()
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Redraw every label from the stored status and the clock."""
        status = self._status
        if status is None:
            self._show_state(
                ConnectionState.CONNECTING, self._starting_text or "Not connected", ""
            )
            self.rtt_label.clear()
            self.age_label.clear()
            self.server_label.setText(self._server_text)
            return

        text, tip = self._describe(status)
        self._show_state(status.state, text, tip)
        self.reconnect_button.setVisible(status.state in _RETRY_STATES)
        rtt = status.rtt_ms if status.state is ConnectionState.CONNECTED else None
        self.rtt_label.setText("" if rtt is None else f"RTT {rtt:.0f} ms")
        self.server_label.setText(self._server_label_text(status))
        self.age_label.setText(self._age_text(status))

    # Helpers

    def _describe(self, status: ConnectionStatus) -> tuple[str, str]:
        state = status.state
        reason = status.reason
        if state is ConnectionState.CONNECTED:
            return "Connected", reason
        if state is ConnectionState.CONNECTING:
            return "Connecting…", reason
        if state is ConnectionState.RECONNECTING:
            remaining = self.seconds_until_retry()
            if remaining is None:
                return "Reconnecting…", reason
            return f"Reconnecting in {remaining} s", reason
        if state is ConnectionState.FAILED:
            return (
                f"Connection failed: {reason}" if reason else "Connection failed",
                reason,
            )
        return "Disconnected", reason

    def seconds_until_retry(self) -> int | None:
        """Return whole seconds until the next attempt, or None when unknown."""
        status = self._status
        if status is None or status.retry_in is None:
            return None
        elapsed = self._clock() - self._received_at
        return max(0, math.ceil(status.retry_in - elapsed))

    def _show_state(self, state: ConnectionState, text: str, tip: str) -> None:
        self.dot.setStyleSheet(f"color: {_STATE_COLORS[state]};")
        self.state_label.setText(text)
        self.state_label.setToolTip(tip)
        if self._status is None:
            self.reconnect_button.hide()

    def _server_label_text(self, status: ConnectionStatus) -> str:
        if status.server_name:
            return f"{status.server_name} {status.server_version}".strip()
        return self._server_text

    def _age_text(self, status: ConnectionStatus) -> str:
        last_message_at = status.last_message_at
        if self._status_source is not None:
            last_message_at = self._status_source().last_message_at
        if last_message_at is None:
            return ""
        age = self._clock() - last_message_at
        return f"Last message {formatting.format_age(age)} ago"
