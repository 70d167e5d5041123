"""Tests for the notify path and its plain-words error descriptions."""

from __future__ import annotations

import logging

from app.controllers import notify
from app.services.api import ApiError, ServerUnreachable


def test_error_logs_and_posts(qtbot, caplog):
    """An error is logged and sent to the message view."""
    with (
        caplog.at_level(logging.ERROR),
        qtbot.waitSignal(notify.bridge().message_posted) as blocker,
    ):
        notify.error("Couldn't load flows: connection refused")

    assert blocker.args[0].level is notify.Level.ERROR
    assert blocker.args[0].text == "Couldn't load flows: connection refused"
    assert "Couldn't load flows" in caplog.text


def test_describe_validation_error_lists_problems():
    """A 422 names each invalid field."""
    exc = ApiError(
        422,
        "VALIDATION_ERROR",
        "Invalid query.",
        {
            "errors": [
                {"loc": ["query", "limit"], "msg": "must be at most 1000"},
                {"msg": "bad"},
            ]
        },
    )

    assert (
        notify.describe(exc) == "Invalid query: query.limit: must be at most 1000; bad"
    )


def test_describe_auth_and_rate_limit_suggest_next_step():
    """Auth and rate-limit errors suggest a next step."""
    assert (
        notify.describe(ApiError(401, "UNAUTHORIZED", "Missing API key"))
        == "Missing API key. Check the API key"
    )
    assert (
        notify.describe(ApiError(429, "RATE_LIMITED", "Too many requests"))
        == "Too many requests. Wait a moment, then retry"
    )


def test_describe_unreachable_and_timeout():
    """Transport failures keep their own plain message."""
    assert (
        notify.describe(
            ServerUnreachable("Couldn't reach http://x: connection refused")
        )
        == "Couldn't reach http://x: connection refused"
    )
    assert notify.describe(TimeoutError()) == "the server didn't respond in time"
