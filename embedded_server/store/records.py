"""Job records as stored, and their JSON shapes."""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from typing import Any

JOB_STATUSES = ("pending", "running", "paused", "completed", "failed", "cancelled")
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})

SUMMARY_FIELDS = (
    "job_id",
    "flow_id",
    "worker_id",
    "routine_id",
    "slot_name",
    "status",
    "created_at",
    "started_at",
    "completed_at",
    "duration_ms",
    "error",
    "metadata",
    "flow_version",
)
DETAIL_FIELDS = (*SUMMARY_FIELDS, "params", "data", "traceback", "failed_routine")


@functools.lru_cache(maxsize=4096)
def _second_prefix(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))


def iso(timestamp: float | None) -> str | None:
    """Format epoch seconds as ISO 8601 UTC with milliseconds and a ``Z``."""
    if timestamp is None:
        return None
    # Truncated, not rounded: a displayed time used as a range bound must
    # never lie after the instant it shows.
    millis = int(timestamp * 1000)
    second, milli = divmod(millis, 1000)
    return f"{_second_prefix(second)}{milli:03d}Z"


def dumps(value: Any) -> str:
    """Serialise to JSON, turning values JSON cannot hold into their repr."""
    return json.dumps(value, ensure_ascii=False, default=repr, separators=(",", ":"))


def brief(value: Any, limit: int = 500) -> str:
    """Return ``value`` as JSON text cut to ``limit`` characters, for traces and events."""
    try:
        text = dumps(value)
    except (ValueError, RecursionError):
        text = f"<{type(value).__name__} that cannot be shown as JSON>"
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text)} characters)"
    return text


@dataclass
class JobRecord:
    """One job: what started it, its current status and what it produced.

    Attributes:
        flow_version: the version number of the flow's DSL the job runs on
            (see ``store.versions``), or None for jobs stored before flow
            versions were recorded.
    """

    job_id: str
    flow_id: str
    worker_id: str
    routine_id: str
    slot_name: str
    status: str
    created_at: float
    params: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    completed_at: float | None = None
    error: str | None = None
    traceback: str | None = None
    failed_routine: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    output: str = ""
    output_truncated: bool = False
    flow_version: int | None = None

    @property
    def duration_ms(self) -> float | None:
        if self.started_at is None:
            return None
        if self.completed_at is None:
            return None
        return round((self.completed_at - self.started_at) * 1000, 3)

    def summary(self) -> dict[str, Any]:
        """Return the fields of a jobs-list row."""
        return {
            "job_id": self.job_id,
            "flow_id": self.flow_id,
            "worker_id": self.worker_id,
            "routine_id": self.routine_id,
            "slot_name": self.slot_name,
            "status": self.status,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "completed_at": iso(self.completed_at),
            "duration_ms": self.duration_ms,
            "error": self.error,
            "metadata": self.metadata,
            "flow_version": self.flow_version,
        }

    def detail(self) -> dict[str, Any]:
        """Return the full job, as ``GET /jobs/{id}`` sends it."""
        return {
            **self.summary(),
            "params": self.params,
            "data": self.data,
            "traceback": self.traceback,
            "failed_routine": self.failed_routine,
        }

    def row(self) -> tuple[Any, ...]:
        return (
            self.job_id,
            self.flow_id,
            self.worker_id,
            self.routine_id,
            self.slot_name,
            self.status,
            self.created_at,
            self.started_at,
            self.completed_at,
            self.error,
            self.traceback,
            self.failed_routine,
            dumps(self.params),
            dumps(self.data),
            dumps(self.metadata),
            self.output,
            int(self.output_truncated),
            self.flow_version,
        )

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> JobRecord:
        return cls(
            job_id=row[0],
            flow_id=row[1],
            worker_id=row[2],
            routine_id=row[3],
            slot_name=row[4],
            status=row[5],
            created_at=row[6],
            started_at=row[7],
            completed_at=row[8],
            error=row[9],
            traceback=row[10],
            failed_routine=row[11],
            params=json.loads(row[12]),
            data=json.loads(row[13]),
            metadata=json.loads(row[14]),
            output=row[15],
            output_truncated=bool(row[16]),
            flow_version=row[17],
        )


COLUMNS = (
    "job_id, flow_id, worker_id, routine_id, slot_name, status, created_at, "
    "started_at, completed_at, error, traceback, failed_routine, params, data, "
    "metadata, output, output_truncated, flow_version"
)
SUMMARY_COLUMNS = (
    "job_id, flow_id, worker_id, routine_id, slot_name, status, created_at, "
    "started_at, completed_at, error, metadata, flow_version"
)


def summary_from_row(row: tuple[Any, ...]) -> dict[str, Any]:
    """Build a jobs-list row from a ``SUMMARY_COLUMNS`` result, without the heavy columns."""
    started, completed = row[7], row[8]
    duration = None
    if started is not None and completed is not None:
        duration = round((completed - started) * 1000, 3)
    return {
        "job_id": row[0],
        "flow_id": row[1],
        "worker_id": row[2],
        "routine_id": row[3],
        "slot_name": row[4],
        "status": row[5],
        "created_at": iso(row[6]),
        "started_at": iso(started),
        "completed_at": iso(completed),
        "duration_ms": duration,
        "error": row[9],
        "metadata": json.loads(row[10]),
        "flow_version": row[11],
    }
