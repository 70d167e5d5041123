"""Tests for ConnectionIndicator: the connection states in the status bar."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.models.records import ServerInfo
from app.services.stream import ConnectionState, ConnectionStatus
from app.views.status_bar import ConnectionIndicator


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def indicator(qtbot, clock):
    indicator = ConnectionIndicator(clock=clock, tick_ms=5)
    qtbot.addWidget(indicator)
    indicator.show()
    return indicator


def test_connected_shows_rtt_server_and_age(indicator, clock):
    """Connected shows the round-trip time, the server and the last message age."""
    indicator.set_status(
        ConnectionStatus(
            ConnectionState.CONNECTED,
            "Connected",
            rtt_ms=3.4,
            last_message_at=97.0,
            server_name="overseer",
            server_version="0.1.0",
        )
    )

    assert indicator.state_label.text() == "Connected"
    assert indicator.rtt_label.text() == "RTT 3 ms"
    assert indicator.server_label.text() == "overseer 0.1.0"
    assert indicator.age_label.text() == "Last message 3 s ago"
    assert not indicator.reconnect_button.isVisible()


def test_age_follows_status_source_on_tick(indicator, clock, qtbot):
    """The 1 s tick redraws the age from the stream's current status."""
    latest = ConnectionStatus(ConnectionState.CONNECTED, last_message_at=99.0)
    indicator.set_status(latest)
    indicator.set_status_source(lambda: latest)
    clock.now = 160.0

    with qtbot.waitSignal(indicator.tick_timer.timeout):
        pass

    assert indicator.age_label.text() == "Last message 1 min ago"


def test_reconnecting_counts_down(indicator, clock, qtbot):
    """Reconnecting shows the seconds left before the next attempt."""
    indicator.set_status(
        ConnectionStatus(
            ConnectionState.RECONNECTING, "Lost connection to the server", retry_in=8.0
        )
    )
    assert indicator.state_label.text() == "Reconnecting in 8 s"
    assert indicator.state_label.toolTip() == "Lost connection to the server"
    assert indicator.reconnect_button.isVisible()

    clock.now += 5.5
    with qtbot.waitSignal(indicator.tick_timer.timeout):
        pass

    assert indicator.state_label.text() == "Reconnecting in 3 s"


def test_reconnect_button_requests_reconnect(indicator, qtbot):
    """The button requests an immediate reconnect."""
    indicator.set_status(ConnectionStatus(ConnectionState.DISCONNECTED, "Disconnected"))

    with qtbot.waitSignal(indicator.reconnect_requested):
        qtbot.mouseClick(indicator.reconnect_button, Qt.MouseButton.LeftButton)

    assert indicator.state_label.text() == "Disconnected"


def test_failed_shows_reason(indicator):
    """A failure that stopped the retries shows its reason."""
    indicator.set_status(
        ConnectionStatus(
            ConnectionState.FAILED, "the server rejected the API key", rtt_ms=5.0
        )
    )

    assert (
        indicator.state_label.text()
        == "Connection failed: the server rejected the API key"
    )
    assert indicator.rtt_label.text() == ""
    assert indicator.reconnect_button.isVisible()


def test_starting_and_server_info(indicator):
    """Before a status exists the start-up step and server are shown."""
    indicator.set_starting("Starting the embedded server…")
    indicator.set_server_info(ServerInfo("routilux", "1.1.0", is_stock=True))

    assert indicator.state_label.text() == "Starting the embedded server…"
    assert indicator.server_label.text() == "routilux 1.1.0 (stock Routilux)"
