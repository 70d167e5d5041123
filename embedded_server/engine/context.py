"""The per-job objects that routine code reaches through routilux's context API."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from routilux.core.context import JobContext

if TYPE_CHECKING:
    from embedded_server.engine.run import JobRun

# The job whose routine code runs in this thread right now, if any.
current_run: contextvars.ContextVar[JobRun | None] = contextvars.ContextVar(
    "overseer_current_run", default=None
)


@dataclass
class TrackedJobContext(JobContext):
    """routilux's JobContext whose trace and completion reach the server.

    Routines call ``get_current_job().trace(...)`` and ``.complete(...)``; the
    stock classes keep those in memory only, while here every trace entry is
    recorded and published and a completion ends the job the usual way.
    """

    run: Any = field(default=None, repr=False, compare=False)

    def trace(
        self, routine_id: str, action: str, details: dict[str, Any] | None = None
    ) -> None:
        """Extend JobContext.trace: record the entry in the job's history."""
        self.run.record_trace(routine_id, action, details or {})

    def complete(self, status: str = "completed", error: str | None = None) -> None:
        """Override JobContext.complete: ask the scheduler to end the job."""
        self.run.request_finish(status, error)


class RuntimeFacade:
    """What routine code finds in ``worker_state._runtime``.

    Stock-style routines end their job with
    ``worker_state._runtime.complete_job(job_id, status=..., error=...)``.
    """

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def complete_job(
        self, job_id: str, status: str = "completed", error: str | None = None
    ) -> bool:
        run = self._engine.find_run(job_id)
        if run is None:
            return False
        run.request_finish(status, error)
        return True

    def get_job(self, job_id: str) -> JobContext | None:
        run = self._engine.find_run(job_id)
        return run.job_context if run else None
