"""The one path for user-visible messages: log them, then show them.

Models and controllers call ``notify.error(...)`` and friends; the status
bar's message view listens to ``bridge().message_posted``. Nothing here
opens a dialog.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from app.services.api import ApiError, ServerUnreachable

logger = logging.getLogger(__name__)


class Level(enum.Enum):
    """Severity of a user-visible message."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Message:
    """One user-visible message."""

    level: Level
    text: str
    posted_at: float = field(default_factory=time.time)


class MessageBridge(QObject):
    """Carries messages from any layer to the message view.

    Signals:
        message_posted(Message): A message to show.
    """

    message_posted = Signal(object)


_bridge: MessageBridge | None = None


def bridge() -> MessageBridge:
    """Return the process-wide message bridge, creating it on first use."""
    global _bridge
    if _bridge is None:
        _bridge = MessageBridge()
    return _bridge


def _post(level: Level, text: str) -> None:
    bridge().message_posted.emit(Message(level, text))


def info(text: str) -> None:
    """Log and show an informational message."""
    logger.info("%s", text)
    _post(Level.INFO, text)


def warning(text: str) -> None:
    """Log and show a warning."""
    logger.warning("%s", text)
    _post(Level.WARNING, text)


def error(text: str) -> None:
    """Log and show an error."""
    logger.error("%s", text)
    _post(Level.ERROR, text)


NETWORK_ERRORS = (ApiError, ServerUnreachable, TimeoutError)


def describe(exc: BaseException) -> str:
    """Describe a client error in plain words, without a traceback."""
    if isinstance(exc, ApiError):
        return _describe_api_error(exc)
    if isinstance(exc, ServerUnreachable):
        return str(exc)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return str(exc) or "the server didn't respond in time"
    return str(exc) or type(exc).__name__


def _describe_api_error(exc: ApiError) -> str:
    message = exc.message.rstrip(".")
    if exc.status == 422 and isinstance(exc.details, dict):
        problems = [
            _describe_problem(item)
            for item in exc.details.get("errors", [])
            if isinstance(item, dict)
        ]
        if problems:
            message = f"{message}: {'; '.join(problems)}"
    if exc.status in (401, 403):
        message = f"{message}. Check the API key"
    if exc.status == 429:
        message = f"{message}. Wait a moment, then retry"
    return message


def _describe_problem(item: dict[str, object]) -> str:
    location = item.get("loc")
    where = (
        ".".join(str(part) for part in location) if isinstance(location, list) else ""
    )
    text = str(item.get("msg", "invalid value"))
    return f"{where}: {text}" if where else text
