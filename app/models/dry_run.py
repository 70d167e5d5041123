"""Records for a flow dry run: the request and the server's result.

The server checks the flow from an entry routine, predicts (or, when asked
to execute, records) the path the data takes, lists validation findings and
missing inputs, and estimates the duration from earlier jobs. The shapes are
those of ``POST /api/v1/flows/{flow_id}/dry-run`` in docs/api.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

logger = logging.getLogger(__name__)

MAX_TIMEOUT_S = 300.0


def _mapping(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ValueError(
            f"invalid {what}: expected a JSON object, got {type(data).__name__}"
        )
    return data


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)


def _optional_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(item) for item in value)


def _objects(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list | tuple):
        return []
    return [item for item in value if isinstance(item, Mapping)]


@dataclass(frozen=True)
class DryRunRequest:
    """The body of a dry-run request.

    Attributes:
        entry_slot: The slot that receives the params; None lets the server
            pick the routine's only slot, else its ``input`` slot.
        timeout: Seconds an executed run may take, ``0 < timeout <= 300``.
        execute: Run the routines for real, with their side effects.
    """

    entry_routine_id: str
    entry_slot: str | None = None
    entry_params: dict[str, Any] = field(default_factory=dict)
    timeout: float = 10.0
    execute: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the request body, leaving out an unset slot."""
        body: dict[str, Any] = {
            "entry_routine_id": self.entry_routine_id,
            "entry_params": self.entry_params,
            "timeout": self.timeout,
            "execute": self.execute,
        }
        if self.entry_slot:
            body["entry_slot"] = self.entry_slot
        return body


@dataclass(frozen=True)
class PathStep:
    """One routine on the dry run's path.

    Attributes:
        depth: The minimum number of connections from the entry routine.
        via: The connections into the routine, as ``a.event -> b.slot``.
        runs: How often it ran, for an executed dry run; else None.
        status: ``completed``, ``failed``, ``interrupted`` or ``skipped`` for
            an executed dry run; else None.
    """

    routine_id: str
    depth: int = 0
    via: tuple[str, ...] = ()
    runs: int | None = None
    failed: int | None = None
    duration_ms: float | None = None
    status: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from one entry of ``execution_path``."""
        data = _mapping(data, "path step")
        depth, runs, failed = data.get("depth"), data.get("runs"), data.get("failed")
        return cls(
            routine_id=str(data.get("routine_id") or ""),
            depth=depth if isinstance(depth, int) else 0,
            via=_strings(data.get("via")),
            runs=runs if isinstance(runs, int) else None,
            failed=failed if isinstance(failed, int) else None,
            duration_ms=_optional_number(data.get("duration_ms")),
            status=_optional_text(data, "status"),
        )


@dataclass(frozen=True)
class Finding:
    """A validation error or warning, with the place it concerns."""

    code: str
    message: str
    routine_id: str | None = None
    slot: str | None = None
    event: str | None = None
    routines: tuple[str, ...] = ()
    is_error: bool = True

    @classmethod
    def from_json(cls, data: Any, *, is_error: bool) -> Self:
        """Build from one entry of ``validation_errors`` or ``warnings``."""
        data = _mapping(data, "finding")
        return cls(
            code=str(data.get("code") or ""),
            message=str(data.get("message") or ""),
            routine_id=_optional_text(data, "routine_id"),
            slot=_optional_text(data, "slot"),
            event=_optional_text(data, "event"),
            routines=_strings(data.get("routines")),
            is_error=is_error,
        )

    @property
    def place(self) -> str:
        """``routine.slot``, ``routine.event``, ``routine`` or empty text."""
        if not self.routine_id:
            return ""
        port = self.slot or self.event
        return f"{self.routine_id}.{port}" if port else self.routine_id


@dataclass(frozen=True)
class DryRunResult:
    """The findings of one dry run: verdict, path, estimate, problems, outputs.

    Attributes:
        status: ``completed``, ``failed`` or ``timeout``. Without execution it
            is the prediction: failed when there are errors or missing inputs.
        executed: Whether the routines really ran.
        warning: The server's note on an executed run's side effects, or on
            why it did not execute.
        estimated_duration_ms: The estimate from earlier jobs, or None.
        estimate_reason: Why there is no estimate, when there is none.
        outputs: For an executed run: ``data``, ``events`` and ``printed``.
        error: For a failed executed run: ``status``, ``message``,
            ``failed_routine`` and ``traceback``.
    """

    dry_run_id: str
    status: str
    executed: bool = False
    warning: str | None = None
    entry_routine_id: str = ""
    entry_slot: str | None = None
    path: tuple[PathStep, ...] = ()
    not_reached: tuple[str, ...] = ()
    estimated_duration_ms: float | None = None
    estimate_reason: str | None = None
    median_job_duration_ms: float | None = None
    errors: tuple[Finding, ...] = ()
    warnings: tuple[Finding, ...] = ()
    missing_inputs: tuple[str, ...] = ()
    inputs_declared: bool = False
    outputs: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    duration_ms: float | None = None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from the dry-run response."""
        data = _mapping(data, "dry run")
        result = _mapping(data.get("result") or {}, "dry run result")
        basis = result.get("estimate_basis")
        basis = basis if isinstance(basis, Mapping) else {}
        outputs, error = result.get("outputs"), result.get("error")
        return cls(
            dry_run_id=str(data.get("dry_run_id") or ""),
            status=str(data.get("status") or ""),
            executed=bool(data.get("executed", False)),
            warning=_optional_text(data, "warning"),
            entry_routine_id=str(result.get("entry_routine_id") or ""),
            entry_slot=_optional_text(result, "entry_slot"),
            path=tuple(
                PathStep.from_json(raw)
                for raw in _objects(result.get("execution_path"))
            ),
            not_reached=_strings(result.get("not_reached")),
            estimated_duration_ms=_optional_number(result.get("estimated_duration")),
            estimate_reason=_optional_text(basis, "reason"),
            median_job_duration_ms=_optional_number(
                basis.get("median_job_duration_ms")
            ),
            errors=tuple(
                Finding.from_json(raw, is_error=True)
                for raw in _objects(result.get("validation_errors"))
            ),
            warnings=tuple(
                Finding.from_json(raw, is_error=False)
                for raw in _objects(result.get("warnings"))
            ),
            missing_inputs=_strings(result.get("missing_inputs")),
            inputs_declared=bool(result.get("inputs_declared", False)),
            outputs=dict(outputs) if isinstance(outputs, Mapping) else None,
            error=dict(error) if isinstance(error, Mapping) else None,
            duration_ms=_optional_number(result.get("duration_ms")),
        )

    @property
    def path_ids(self) -> tuple[str, ...]:
        """The routines on the path, in path order."""
        return tuple(step.routine_id for step in self.path)

    @property
    def via_connections(self) -> frozenset[str]:
        """Every ``a.event -> b.slot`` connection the path uses."""
        return frozenset(connection for step in self.path for connection in step.via)

    def findings(self) -> tuple[Finding, ...]:
        """Return the errors, then the warnings."""
        return self.errors + self.warnings
