"""Immutable records for the debugger API: breakpoints, pause points, frames, variables.

Each ``from_json`` reads one object of the server's breakpoint and debug
routes (see docs/debugging.md) and fills missing fields with neutral
defaults, the way ``records`` does for jobs. A value the server shows is a
bounded *preview*: ``{"repr", "type", "length", "truncated"}``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self

from app.models.records import parse_timestamp

logger = logging.getLogger(__name__)

SLOT = "slot"
ROUTINE = "routine"
EVENT = "event"
KINDS = (SLOT, ROUTINE, EVENT)


def _mapping(data: Any, what: str) -> Mapping[str, Any]:
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


def _count(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def preview_of(value: Any) -> dict[str, Any]:
    """Return a well-formed preview dict from a server preview, or an empty one."""
    if not isinstance(value, Mapping):
        return {
            "repr": "" if value is None else str(value),
            "type": "",
            "length": None,
            "truncated": False,
        }
    length = value.get("length")
    return {
        "repr": _text(value, "repr"),
        "type": _text(value, "type"),
        "length": length
        if isinstance(length, int) and not isinstance(length, bool)
        else None,
        "truncated": bool(value.get("truncated", False)),
    }


@dataclass(frozen=True)
class BreakpointSpec:
    """A breakpoint to create: the body of ``POST .../breakpoints``.

    Attributes:
        port: The slot (for ``slot``) or event (for ``event``) name; None
            matches every slot or event of the routine.
    """

    routine_id: str
    kind: str = SLOT
    port: str | None = None
    condition: str | None = None
    hit_condition: str | None = None
    log_message: str | None = None
    enabled: bool = True

    def to_json(self) -> dict[str, Any]:
        """Return the request body."""
        return {
            "routine_id": self.routine_id,
            "kind": self.kind,
            "slot_name": self.port if self.kind == SLOT else None,
            "event_name": self.port if self.kind == EVENT else None,
            "condition": self.condition or None,
            "hit_condition": self.hit_condition or None,
            "log_message": self.log_message or None,
            "enabled": self.enabled,
        }


@dataclass(frozen=True)
class BreakpointInfo:
    """A breakpoint as the server stores it, with its counters.

    Attributes:
        job_id: The job a job breakpoint belongs to; None for a flow breakpoint.
        hit_count: Times the place was reached with the condition true.
        error_count: Times the condition failed to evaluate.
        last_error: The latest condition error; an edit clears it.
    """

    breakpoint_id: str
    flow_id: str
    routine_id: str
    kind: str = SLOT
    job_id: str | None = None
    slot_name: str | None = None
    event_name: str | None = None
    condition: str | None = None
    hit_condition: str | None = None
    log_message: str | None = None
    enabled: bool = True
    hit_count: int = 0
    error_count: int = 0
    last_error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from one breakpoint of the flow or job breakpoint routes."""
        data = _mapping(data, "breakpoint")
        breakpoint_id = _text(data, "breakpoint_id")
        if not breakpoint_id:
            raise ValueError("invalid breakpoint: missing breakpoint_id")
        slot_name = _optional_text(data, "slot_name")
        event_name = _optional_text(data, "event_name")
        kind = _text(data, "kind") or (
            EVENT if event_name else SLOT if slot_name else ROUTINE
        )
        return cls(
            breakpoint_id=breakpoint_id,
            flow_id=_text(data, "flow_id"),
            routine_id=_text(data, "routine_id"),
            kind=kind,
            job_id=_optional_text(data, "job_id"),
            slot_name=slot_name,
            event_name=event_name,
            condition=_optional_text(data, "condition"),
            hit_condition=_optional_text(data, "hit_condition"),
            log_message=_optional_text(data, "log_message"),
            enabled=bool(data.get("enabled", True)),
            hit_count=_count(data, "hit_count"),
            error_count=_count(data, "error_count"),
            last_error=_optional_text(data, "last_error"),
            created_at=parse_timestamp(data.get("created_at")),
            updated_at=parse_timestamp(data.get("updated_at")),
        )

    @property
    def scope(self) -> str:
        """``job`` for a job breakpoint, ``flow`` for a flow breakpoint."""
        return "job" if self.job_id else "flow"

    @property
    def port(self) -> str | None:
        """The slot or event name, or None when every one matches."""
        return self.event_name if self.kind == EVENT else self.slot_name

    @property
    def is_logpoint(self) -> bool:
        """Whether the breakpoint logs a message instead of pausing."""
        return self.log_message is not None

    def place(self) -> BreakpointPlace:
        """Return where the breakpoint stops, without its scope's job."""
        return BreakpointPlace(self.flow_id, self.routine_id, self.kind, self.port)


@dataclass(frozen=True)
class BreakpointPlace:
    """A place a breakpoint can name: a routine's slot, run or event in a flow."""

    flow_id: str
    routine_id: str
    kind: str = SLOT
    port: str | None = None

    def describe(self) -> str:
        """Return ``routine.port`` or ``routine (run)`` for messages."""
        if self.kind == ROUTINE:
            return f"{self.routine_id} (run)"
        return f"{self.routine_id}.{self.port or '*'}"


@dataclass(frozen=True)
class Frame:
    """One link of the causal chain behind the data at a pause, newest first.

    Attributes:
        index: Position in the call stack; 0 is the pause point itself.
        data: Preview of the frame's data.
    """

    index: int
    kind: str
    routine_id: str
    slot: str | None = None
    event: str | None = None
    frame_id: int = 0
    data: dict[str, Any] = field(default_factory=preview_of)

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from a pause point or one frame of ``call-stack``."""
        data = _mapping(data, "frame")
        index = data.get("index")
        frame_id = data.get("frame_id")
        return cls(
            index=index if isinstance(index, int) else 0,
            kind=_text(data, "kind", SLOT),
            routine_id=_text(data, "routine_id"),
            slot=_optional_text(data, "slot"),
            event=_optional_text(data, "event"),
            frame_id=frame_id if isinstance(frame_id, int) else 0,
            data=preview_of(data.get("data")),
        )

    @property
    def port(self) -> str | None:
        """The slot or event the frame is at, or None for a routine run."""
        return self.event if self.kind == EVENT else self.slot

    def describe(self) -> str:
        """Return a short place such as ``slot transformer.input``."""
        if self.kind == ROUTINE:
            return f"routine {self.routine_id}"
        return f"{self.kind} {self.routine_id}.{self.port or ''}"


@dataclass(frozen=True)
class PausePoint:
    """A job's debug session: whether it is paused, where, and why.

    Attributes:
        frame: The pause point, or None while the job runs.
        reason: ``breakpoint`` or ``step``, or None while the job runs.
        step: The step in progress (``over``, ``into``, ``out``), if any.
    """

    job_id: str
    status: str = "running"
    paused: bool = False
    frame: Frame | None = None
    reason: str | None = None
    breakpoint_id: str | None = None
    paused_at: datetime | None = None
    step: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from ``GET .../debug/session`` or a resume or step response."""
        data = _mapping(data, "debug session")
        raw_point = data.get("pause_point")
        frame = Frame.from_json(raw_point) if isinstance(raw_point, Mapping) else None
        return cls(
            job_id=_text(data, "job_id"),
            status=_text(data, "status", "running"),
            paused=bool(data.get("paused", frame is not None)) and frame is not None,
            frame=frame,
            reason=_optional_text(data, "reason"),
            breakpoint_id=_optional_text(data, "breakpoint_id"),
            paused_at=parse_timestamp(data.get("paused_at")),
            step=_optional_text(data, "step"),
        )


@dataclass(frozen=True)
class Variable:
    """A name visible at a frame, with a bounded preview of its value.

    Attributes:
        preview: ``{"repr", "type", "length", "truncated"}``.
        editable: Whether ``PUT .../variables/{name}`` may change it.
    """

    name: str
    type: str
    preview: dict[str, Any] = field(default_factory=preview_of)
    editable: bool = False

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from one entry of ``variables`` or a ``PUT variables`` answer."""
        data = _mapping(data, "variable")
        preview = preview_of(data.get("value"))
        return cls(
            name=_text(data, "name"),
            type=_text(data, "type") or preview["type"],
            preview=preview,
            editable=bool(data.get("editable", False)),
        )


@dataclass(frozen=True)
class EvalResult:
    """The outcome of evaluating an expression: a preview, or an error message.

    Attributes:
        result: Preview of the value, or None after an error.
        error: ``"<ErrorType>: <details>"`` such as ``NameError: name 'x' is
            not defined``, or None on success.
    """

    result: dict[str, Any] | None = None
    type: str | None = None
    error: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from ``POST .../debug/evaluate``."""
        data = _mapping(data, "evaluation result")
        result = data.get("result")
        return cls(
            result=preview_of(result) if isinstance(result, Mapping) else None,
            type=_optional_text(data, "type"),
            error=_optional_text(data, "error"),
        )

    @classmethod
    def failed(cls, message: str) -> Self:
        """Return a result that carries only ``message`` as its error."""
        return cls(None, None, message)

    @property
    def ok(self) -> bool:
        """Whether the expression produced a value."""
        return self.error is None
