"""Fit the stock Routilux 1.1.0 server's WebSocket events to the app's shape.

The stock generic socket differs from this project's server in ways the
event stream has to absorb:

- It sends nothing until the client sends ``{"type": "subscribe", "job_id"}``
  for each job, and it shares one queue per job between all subscribers, so
  two sockets on one job each see only part of the events.
- Its events carry no ``seq``, so a reconnect cannot replay what was missed.
- Its timestamps are naive ISO 8601 strings in the server's local time, while
  its REST API sends epoch seconds (UTC).

``ServerClock`` estimates the server's UTC offset from the events themselves,
and ``normalize_event`` rewrites an event's timestamp as an aware UTC string.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

logger = logging.getLogger(__name__)

# Every UTC offset in use today is a multiple of 15 minutes within +-14 hours.
_OFFSET_STEP = timedelta(minutes=15)
_MAX_OFFSET = timedelta(hours=14)

# Stock job events and the job status each one reports.
STATUS_BY_EVENT = {
    "job_started": "running",
    "job_resumed": "running",
    "job_paused": "paused",
    "job_completed": "completed",
    "job_failed": "failed",
    "job_cancelled": "cancelled",
}


def local_utc_offset() -> timedelta:
    """Return this machine's current UTC offset."""
    offset = datetime.now().astimezone().utcoffset()
    return offset if offset is not None else timedelta(0)


class ServerClock:
    """Estimate of the UTC offset behind a server's naive local timestamps.

    An event is stamped before it is received, so ``stamp - received_at`` is
    the server's offset minus the event's age. Rounding that to the nearest
    15 minutes gives the exact offset for any event younger than 7.5 minutes.
    Old events, such as a backlog the server buffered before the subscription,
    can only make the difference smaller, so the estimate keeps the largest
    value seen. Until an event arrives it assumes this machine's offset,
    which is right for a server on the same host.

    NOTE: a server clock that runs more than 7.5 minutes ahead of this
    machine's clock shifts the estimate by 15 minutes or more.
    """

    def __init__(self, *, fallback: timedelta | None = None) -> None:
        """Create a clock with no measurement yet.

        Args:
            fallback: Offset assumed before the first measurement; by default
                this machine's UTC offset.
        """
        self._fallback = local_utc_offset() if fallback is None else fallback
        self._measured: timedelta | None = None

    @property
    def offset(self) -> timedelta:
        """Current estimate of the server's UTC offset."""
        return self._fallback if self._measured is None else self._measured

    @property
    def measured(self) -> bool:
        """Whether an event has given an estimate yet."""
        return self._measured is not None

    def observe(self, stamp: datetime, received_at: datetime) -> None:
        """Refine the estimate from a naive server ``stamp`` received at ``received_at``.

        Args:
            stamp: A naive local timestamp written by the server.
            received_at: Aware time at which this machine received it.
        """
        if stamp.tzinfo is not None:
            return
        difference = stamp.replace(tzinfo=UTC) - received_at.astimezone(UTC)
        candidate = round(difference / _OFFSET_STEP) * _OFFSET_STEP
        if abs(candidate) > _MAX_OFFSET:
            logger.debug(
                "Ignoring an implausible server time difference %s", difference
            )
            return
        if self._measured is None or candidate > self._measured:
            if self._measured != candidate:
                logger.debug("= server UTC offset estimated as %s", candidate)
            self._measured = candidate

    def to_utc(self, stamp: datetime) -> datetime:
        """Return ``stamp`` as an aware UTC datetime; naive means server local time."""
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone(self.offset))
        return stamp.astimezone(UTC)


def normalize_event(
    event: Mapping[str, Any], clock: ServerClock, received_at: datetime
) -> dict[str, Any]:
    """Return a copy of a stock event with its timestamp as aware UTC ISO 8601.

    The top-level ``flow_id`` is filled from ``data.flow_id`` when missing,
    because the app's event records read it there. An event whose timestamp
    is missing or unparsable is copied unchanged.
    """
    normalized = dict(event)
    data = event.get("data")
    if "flow_id" not in normalized and isinstance(data, Mapping):
        if data.get("flow_id") is not None:
            normalized["flow_id"] = data["flow_id"]

    raw = event.get("timestamp")
    if not isinstance(raw, str):
        return normalized
    try:
        stamp = datetime.fromisoformat(raw.strip())
    except ValueError:
        return normalized
    if stamp.tzinfo is None:
        clock.observe(stamp, received_at)
    normalized["timestamp"] = clock.to_utc(stamp).isoformat()
    return normalized
