"""The jobs list filter as the user sets it, and its translation to a JobQuery."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from app.models.records import JOB_STATUSES, JobQuery, JobSummary, parse_timestamp

logger = logging.getLogger(__name__)


class TimePreset(enum.Enum):
    """Time ranges offered by the filter bar, relative to when they are applied."""

    ANY = "any"
    LAST_HOUR = "last_hour"
    LAST_DAY = "last_day"
    LAST_WEEK = "last_week"
    CUSTOM = "custom"

    @property
    def title(self) -> str:
        """Label shown in the filter bar."""
        return _PRESET_TITLES[self]

    @property
    def span(self) -> timedelta | None:
        """Length of a relative preset, or None for ANY and CUSTOM."""
        return _PRESET_SPANS.get(self)


_PRESET_TITLES = {
    TimePreset.ANY: "Any time",
    TimePreset.LAST_HOUR: "Last hour",
    TimePreset.LAST_DAY: "Last 24 hours",
    TimePreset.LAST_WEEK: "Last 7 days",
    TimePreset.CUSTOM: "Custom range…",
}
_PRESET_SPANS = {
    TimePreset.LAST_HOUR: timedelta(hours=1),
    TimePreset.LAST_DAY: timedelta(days=1),
    TimePreset.LAST_WEEK: timedelta(days=7),
}


@dataclass(frozen=True)
class FilterState:
    """Filter bar values: flow, status and time range.

    Attributes:
        custom_from: Start of a CUSTOM range (aware UTC), or None for open.
        custom_to: End of a CUSTOM range (aware UTC, excluded), or None.
    """

    flow_id: str | None = None
    status: str | None = None
    time_preset: TimePreset = TimePreset.ANY
    custom_from: datetime | None = None
    custom_to: datetime | None = None

    def to_query(self, now: datetime | None = None) -> JobQuery:
        """Build the server query; relative presets count back from ``now``."""
        created_from = created_to = None
        span = self.time_preset.span
        if span is not None:
            created_from = (now or datetime.now(UTC)) - span
        elif self.time_preset is TimePreset.CUSTOM:
            created_from, created_to = self.custom_from, self.custom_to
        return JobQuery(
            flow_id=self.flow_id,
            status=self.status,
            created_from=created_from,
            created_to=created_to,
        )

    def to_json(self) -> dict[str, Any]:
        """Serialise for the state file."""
        return {
            "flow_id": self.flow_id,
            "status": self.status,
            "time_preset": self.time_preset.value,
            "custom_from": _iso(self.custom_from),
            "custom_to": _iso(self.custom_to),
        }

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Read from the state file, dropping values that are no longer valid."""
        if not isinstance(data, dict):
            return cls()
        status = data.get("status")
        try:
            preset = TimePreset(data.get("time_preset", TimePreset.ANY.value))
        except ValueError:
            logger.warning("Ignoring unknown time preset %r", data.get("time_preset"))
            preset = TimePreset.ANY
        flow_id = data.get("flow_id")
        return cls(
            flow_id=flow_id if isinstance(flow_id, str) and flow_id else None,
            status=status if status in JOB_STATUSES else None,
            time_preset=preset,
            custom_from=parse_timestamp(data.get("custom_from")),
            custom_to=parse_timestamp(data.get("custom_to")),
        )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def query_matches(query: JobQuery, job: JobSummary) -> bool:
    """Return whether ``job`` belongs in the result of ``query``.

    The time range is half-open, ``[created_from, created_to)``, as on the
    server. A job without a creation time matches only an open time range.
    """
    if query.flow_id is not None and job.flow_id != query.flow_id:
        return False
    if query.status is not None and job.status != query.status:
        return False
    if query.created_from is None and query.created_to is None:
        return True

    created = job.created_at
    if created is None:
        return False
    if query.created_from is not None and created < _aware(query.created_from):
        return False
    return query.created_to is None or created < _aware(query.created_to)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
