"""Tests for MessageView, the status-bar end of the notify path."""

from __future__ import annotations

import pytest

from app.controllers.notify import Level, Message
from app.views.message_view import MessageView


@pytest.fixture
def view(qtbot):
    view = MessageView(info_timeout_ms=5, error_timeout_ms=5)
    qtbot.addWidget(view)
    view.show()
    return view


def test_latest_message_shown_with_level(view):
    """The newest message is shown, marked by its level."""
    view.show_message(Message(Level.INFO, "Started job 1"))
    view.show_message(
        Message(Level.WARNING, "Couldn't load routines file x.py: SyntaxError")
    )

    assert view.label.text() == "⚠ Couldn't load routines file x.py: SyntaxError"
    assert [message.text for message in view.history] == [
        "Started job 1",
        "Couldn't load routines file x.py: SyntaxError",
    ]


def test_repeated_message_counted(view):
    """A message that repeats the last one adds a count, not a history entry."""
    for _ in range(3):
        view.show_message(
            Message(Level.ERROR, "Couldn't load jobs: connection refused")
        )

    assert view.label.text() == "✖ Couldn't load jobs: connection refused (×3)"
    assert len(view.history) == 1


def test_message_clears_after_timeout(view, qtbot):
    """A shown message clears when its timer runs out."""
    view.show_message(Message(Level.INFO, "Cancelled job 1"))

    with qtbot.waitSignal(view._clear_timer.timeout):
        pass

    assert view.label.text() == ""
    assert view.history_button.isEnabled()
