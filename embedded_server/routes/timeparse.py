"""Parsing of ISO 8601 times given as query parameters."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from embedded_server.errors import validation_error

# "2025-01-15T10:30:00 08:00": a "+" sent without URL-encoding arrives as a
# space, so a space before an hh:mm offset is read as the "+" it was.
_LOST_PLUS = re.compile(r"^(.*\d)\s(\d{2}(?::?\d{2})?)$")


def parse_timestamp(name: str, value: str) -> float:
    """Return epoch seconds for an ISO 8601 value; without an offset it is UTC.

    Raises:
        ApiError: 422 naming the parameter when the value is not ISO 8601.
    """
    text = value.strip()
    lost = _LOST_PLUS.match(text)
    if lost:
        text = f"{lost.group(1)}+{lost.group(2)}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise validation_error(
            ["query", name],
            f"{value!r} is not an ISO 8601 time; use e.g. 2025-01-15T10:30:00Z "
            "or 2025-01-15T10:30:00%2B08:00 (an unencoded '+' arrives as a space)",
            kind="datetime_parsing",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
