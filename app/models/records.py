"""Immutable records for what the server returns, parsed from its JSON.

Every ``from_json`` accepts both this project's server and the stock Routilux
1.1.x server. The stock server sends integer epoch seconds where ours sends
ISO 8601 strings, and leaves out fields that ours adds, so each parser fills
missing fields with neutral defaults instead of raising.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

logger = logging.getLogger(__name__)

JOB_STATUSES = ("pending", "running", "paused", "completed", "failed", "cancelled")
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


def parse_timestamp(value: Any) -> datetime | None:
    """Parse a server timestamp into an aware UTC datetime.

    Accepts epoch seconds (int or float, as the stock server sends) and ISO
    8601 strings with or without an offset. A string without an offset is
    taken as UTC. Anything else, including an unparsable string, gives None.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            logger.debug("Ignoring out-of-range epoch timestamp %r", value)
            return None
    if not isinstance(value, str) or not value.strip():
        return None

    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        logger.debug("Ignoring unparsable timestamp %r", value)
        return None

    # NOTE: the stock server writes trace and WebSocket times as naive
    # local-time strings, and a client cannot know the server's time zone,
    # so naive values are read as UTC.
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _require_mapping(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ValueError(
            f"invalid {what}: expected a JSON object, got {type(data).__name__}"
        )
    return data


def _text(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key)
    return default if value is None else str(value)


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)


def _optional_float(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _dict(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return dict(value) if isinstance(value, Mapping) else {}


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, Iterable) or isinstance(value, str | bytes | Mapping):
        return ()
    return tuple(str(item) for item in value)


def _objects(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list | tuple):
        return []
    return [item for item in value if isinstance(item, Mapping)]


@dataclass(frozen=True)
class ServerInfo:
    """Discovery document: who the server is and which optional features it has.

    Attributes:
        is_stock: True for a stock Routilux server, detected by the missing
            ``capabilities`` list in its discovery document.
    """

    name: str
    version: str
    capabilities: frozenset[str] = frozenset()
    is_stock: bool = False

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from ``GET /api/v1/`` (ours) or ``GET /`` (stock)."""
        data = _require_mapping(data, "discovery document")
        capabilities = data.get("capabilities")
        return cls(
            name=_text(data, "name", "routilux"),
            version=_text(data, "version"),
            capabilities=frozenset(_strings(capabilities)),
            is_stock=capabilities is None,
        )

    def supports(self, capability: str) -> bool:
        """Return whether the server advertises ``capability``."""
        return capability in self.capabilities


@dataclass(frozen=True)
class RoutineInfo:
    """One routine of a flow with its input slots and output events."""

    routine_id: str
    class_name: str = ""
    slots: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from one entry of a flow's ``routines`` object."""
        data = _require_mapping(data, "routine")
        return cls(
            routine_id=_text(data, "routine_id"),
            class_name=_text(data, "class_name"),
            slots=_strings(data.get("slots")),
            events=_strings(data.get("events")),
            config=_dict(data, "config"),
        )


@dataclass(frozen=True)
class ConnectionInfo:
    """A wire from one routine's event to another routine's slot."""

    source_routine: str
    source_event: str
    target_routine: str
    target_slot: str

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from one entry of a flow's ``connections`` list."""
        data = _require_mapping(data, "connection")
        return cls(
            source_routine=_text(data, "source_routine"),
            source_event=_text(data, "source_event"),
            target_routine=_text(data, "target_routine"),
            target_slot=_text(data, "target_slot"),
        )


@dataclass(frozen=True)
class FlowInfo:
    """A flow: its routines, the connections between them and its entry points.

    Attributes:
        entry_routines: Routines with no incoming connection, where a job can
            start. Computed from the connections when the server omits it.
    """

    flow_id: str
    routines: dict[str, RoutineInfo] = field(default_factory=dict)
    connections: tuple[ConnectionInfo, ...] = ()
    entry_routines: tuple[str, ...] = ()
    description: str = ""

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from a ``Flow`` object of either server."""
        data = _require_mapping(data, "flow")
        flow_id = _text(data, "flow_id")
        if not flow_id:
            raise ValueError("invalid flow: missing flow_id")

        routines: dict[str, RoutineInfo] = {}
        raw_routines = data.get("routines")
        if isinstance(raw_routines, Mapping):
            for key, raw in raw_routines.items():
                if isinstance(raw, Mapping):
                    routines[str(key)] = RoutineInfo.from_json(
                        {**raw, "routine_id": raw.get("routine_id") or key}
                    )
        connections = tuple(
            ConnectionInfo.from_json(raw) for raw in _objects(data.get("connections"))
        )

        if "entry_routines" in data:
            entry_routines = _strings(data.get("entry_routines"))
        else:
            targets = {connection.target_routine for connection in connections}
            entry_routines = tuple(rid for rid in routines if rid not in targets)

        return cls(
            flow_id=flow_id,
            routines=routines,
            connections=connections,
            entry_routines=entry_routines,
            description=_text(data, "description"),
        )


@dataclass(frozen=True)
class LoadError:
    """A flow file or routine module that failed to load on the server."""

    path: str
    kind: str
    error: str

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from one entry of ``load_errors``."""
        data = _require_mapping(data, "load error")
        return cls(
            path=_text(data, "path"),
            kind=_text(data, "kind"),
            error=_text(data, "error"),
        )


@dataclass(frozen=True)
class JobSummary:
    """One job as the jobs list shows it, with times as aware UTC datetimes."""

    job_id: str
    flow_id: str = ""
    worker_id: str | None = None
    routine_id: str | None = None
    slot_name: str | None = None
    status: str = "pending"
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_ms: float | None = None
    error: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        """Whether the job has ended (completed, failed or cancelled)."""
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from a ``JobSummary`` (ours) or ``JobResponse`` (stock)."""
        return cls(**_summary_fields(data))


def _summary_fields(data: Any) -> dict[str, Any]:
    data = _require_mapping(data, "job")
    job_id = _text(data, "job_id")
    if not job_id:
        raise ValueError("invalid job: missing job_id")
    return {
        "job_id": job_id,
        "flow_id": _text(data, "flow_id"),
        "worker_id": _optional_text(data, "worker_id"),
        "routine_id": _optional_text(data, "routine_id"),
        "slot_name": _optional_text(data, "slot_name"),
        "status": _text(data, "status", "pending"),
        "created_at": parse_timestamp(data.get("created_at")),
        "started_at": parse_timestamp(data.get("started_at")),
        "completed_at": parse_timestamp(data.get("completed_at")),
        "duration_ms": _optional_float(data, "duration_ms"),
        "error": _optional_text(data, "error"),
        "metadata": _dict(data, "metadata"),
    }


@dataclass(frozen=True)
class JobDetail(JobSummary):
    """A job with its input, stored data and failure details.

    Attributes:
        params: The data the job was started with.
        data: What routines stored with ``job.set_data``.
        failed_routine: The routine that raised, or None.
    """

    params: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    traceback: str | None = None
    failed_routine: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from a ``JobDetail`` (ours) or ``JobResponse`` (stock)."""
        fields = _summary_fields(data)
        return cls(
            **fields,
            params=_dict(data, "params"),
            data=_dict(data, "data"),
            traceback=_optional_text(data, "traceback"),
            failed_routine=_optional_text(data, "failed_routine"),
        )


@dataclass(frozen=True)
class TraceEntry:
    """One step a job took: a routine started, finished, failed or emitted."""

    timestamp: datetime | None
    routine_id: str | None
    action: str
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from one entry of ``trace_log`` or ``logs``."""
        data = _require_mapping(data, "trace entry")
        return cls(
            timestamp=parse_timestamp(data.get("timestamp")),
            routine_id=_optional_text(data, "routine_id"),
            action=_text(data, "action"),
            details=_dict(data, "details"),
        )


@dataclass(frozen=True)
class JobOutput:
    """Text a job's routines printed.

    Attributes:
        is_complete: True once the job has ended and no more output will come.
        truncated: True when the server dropped the oldest part of the output.
    """

    output: str
    is_complete: bool = False
    truncated: bool = False

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from ``GET /jobs/{job_id}/output``."""
        data = _require_mapping(data, "job output")
        return cls(
            output=_text(data, "output"),
            is_complete=bool(data.get("is_complete", False)),
            truncated=bool(data.get("truncated", False)),
        )


@dataclass(frozen=True)
class JobQuery:
    """Filter for the jobs list; hashable so views can cache pages by it.

    The time range is half-open, ``[created_from, created_to)``, on the job's
    creation time. Naive datetimes are sent as UTC.
    """

    flow_id: str | None = None
    status: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True)
class JobPage:
    """One page of the jobs list.

    Attributes:
        total: Number of jobs matching the query on the server, over all pages.
        next_cursor: Token for the next page, or None on the last page and on
            servers without the ``cursor`` capability.
    """

    jobs: tuple[JobSummary, ...]
    total: int
    limit: int
    offset: int
    next_cursor: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from ``GET /jobs``."""
        data = _require_mapping(data, "job list")
        jobs = tuple(JobSummary.from_json(raw) for raw in _objects(data.get("jobs")))
        return cls(
            jobs=jobs,
            total=_int(data, "total", len(jobs)),
            limit=_int(data, "limit", len(jobs)),
            offset=_int(data, "offset", 0),
            next_cursor=_optional_text(data, "next_cursor"),
        )


def _int(data: Mapping[str, Any], key: str, default: int) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return value
