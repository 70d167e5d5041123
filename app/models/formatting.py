"""Text formatting for times, durations and payloads shown in tables and panes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

_EMPTY = ""


def format_datetime(value: datetime | None) -> str:
    """Format an aware datetime in the local time zone, to the second."""
    if value is None:
        return _EMPTY
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def format_clock(value: datetime | None) -> str:
    """Format an aware datetime as a local wall-clock time with milliseconds."""
    if value is None:
        return _EMPTY
    local = value.astimezone()
    return f"{local:%H:%M:%S}.{local.microsecond // 1000:03d}"


def format_duration(milliseconds: float | None) -> str:
    """Format a duration in milliseconds with a unit that fits its size."""
    if milliseconds is None:
        return _EMPTY
    if milliseconds < 1:
        return f"{milliseconds:.2f} ms"
    if milliseconds < 1000:
        return f"{milliseconds:.1f} ms"

    seconds = milliseconds / 1000
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def format_offset(seconds: float | None) -> str:
    """Format a signed offset from a reference time, such as ``+1.250 s``."""
    if seconds is None:
        return _EMPTY
    return f"{seconds:+.3f} s"


def format_age(seconds: float) -> str:
    """Format how long ago something happened, in whole units."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def first_line(text: str | None, limit: int = 200) -> str:
    """Return the first non-blank line of ``text``, cut to ``limit`` characters."""
    if not text:
        return _EMPTY
    for line in text.splitlines():
        if line.strip():
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return _EMPTY


def pretty_json(value: Any) -> str:
    """Format a JSON value with indentation, keeping non-ASCII text as it is."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def compact_json(value: Any, limit: int = 300) -> str:
    """Format a JSON value on one line, cut to ``limit`` characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
