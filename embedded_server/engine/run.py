"""One job in flight: its routines, pending work, trace and output."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from routilux.core.routine import Routine
from routilux.core.worker import WorkerState

from embedded_server.debug.frames import EVENT, Frame
from embedded_server.debug.session import DebugState
from embedded_server.engine.catalog import FlowSpec
from embedded_server.engine.context import RuntimeFacade, TrackedJobContext
from embedded_server.store.records import TERMINAL_STATUSES, JobRecord, brief

if TYPE_CHECKING:
    from embedded_server.engine.scheduler import Engine
    from embedded_server.engine.timers import TimerHandle

# Output lines published live as log_message events, per job; the full text is
# kept in the job's output either way.
MAX_LIVE_OUTPUT_LINES = 1000


@dataclass
class Deliver:
    """Data on its way into a slot.

    ``cause`` is the emit frame that produced the data (None for a job's
    input); ``checked`` marks an item already stopped at, so resuming runs it.
    """

    routine_id: str
    slot_name: str
    data: Any
    emitted_from: str
    cause: Frame | None = None
    checked: bool = False


@dataclass
class Invoke:
    """A routine's logic about to run with the data its policy took."""

    routine_id: str
    data_slice: dict[str, list[Any]]
    message: Any
    frame: Frame
    attempt: int = 0
    checked: bool = False


@dataclass
class Reactivate:
    """A routine's activation policy to run again (a timer fired)."""

    routine_id: str


WorkItem = Deliver | Invoke | Reactivate


@dataclass
class JobRun:
    """The live state of one job, shared by the scheduler and routine code.

    ``lock`` guards ``queue``, ``scheduled``, ``pending_timers`` and the final
    status; everything else is touched only by the thread running the job's
    current step.
    """

    engine: Engine
    flow: FlowSpec
    record: JobRecord
    routines: dict[str, Routine]
    # A dry run: never stored in the history and never published as events.
    ephemeral: bool = False
    worker_state: WorkerState = field(init=False)
    job_context: TrackedJobContext = field(init=False)
    queue: deque[WorkItem] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    scheduled: bool = False
    pending_timers: int = 0
    finish_request: tuple[str, str | None] | None = None
    trace: list[dict[str, Any]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    # Notified when the job pauses, resumes or ends, for anyone waiting on it.
    state_changed: threading.Condition = field(default_factory=threading.Condition)
    debug: DebugState = field(default_factory=DebugState)
    current_invocation: Frame | None = None
    _output: list[str] = field(default_factory=list)
    _output_size: int = 0
    _live_lines: int = 0

    def __post_init__(self) -> None:
        self.routine_ids = {id(routine): rid for rid, routine in self.routines.items()}
        self.worker_state = WorkerState(
            flow_id=self.flow.flow_id, worker_id=self.record.worker_id
        )
        self.worker_state._executor = self
        self.worker_state._runtime = RuntimeFacade(self.engine)
        self.job_context = TrackedJobContext(
            job_id=self.record.job_id,
            worker_id=self.record.worker_id,
            flow_id=self.flow.flow_id,
            created_at=datetime.fromtimestamp(self.record.created_at),
            metadata=self.record.metadata,
            data=self.record.data,
            status="running",
            run=self,
        )

    @property
    def job_id(self) -> str:
        return self.record.job_id

    @property
    def terminal(self) -> bool:
        return self.record.status in TERMINAL_STATUSES

    # -- called from routine code ---------------------------------------

    def enqueue_task(self, task: Any) -> None:
        """Route an emitted event to its connected slots.

        routilux's ``Event.emit`` hands every emit to ``worker_state._executor``
        as an ``EventRoutingTask``; this run replaces that executor.
        """
        routine_id = self.routine_ids.get(id(task.event.routine), "unknown")
        frame = Frame(
            EVENT,
            routine_id,
            task.event.name,
            task.event_data.get("data", {}),
            parent=self.current_invocation,
            depth=1,
        )

        def set_variable(name: str, value: Any) -> None:
            if name == "data":
                task.event_data["data"] = frame.data = value
            else:
                task.event_data["data"][name] = value

        self.engine.debug_point(self, frame, set_variable, blocking=True)
        data = task.event_data.get("data", {})
        targets = self.flow.targets.get((routine_id, task.event.name), [])
        self.record_trace(
            routine_id,
            "event_emitted",
            {
                "event": task.event.name,
                "targets": [f"{r}.{s}" for r, s in targets],
                "data": brief(data),
            },
            publish="event_emitted",
        )
        with self.lock:
            if self.terminal:
                return
            for target, slot in targets:
                payload = dict(data) if isinstance(data, dict) else data
                self.queue.append(
                    Deliver(target, slot, payload, routine_id, cause=frame)
                )

    def record_trace(
        self,
        routine_id: str,
        action: str,
        details: dict[str, Any],
        *,
        publish: str | None = None,
    ) -> None:
        """Append a trace entry, and publish it as an event of type ``publish``."""
        entry = {
            "ts": time.time(),
            "routine_id": routine_id,
            "action": action,
            "details": details,
        }
        self.trace.append(entry)
        if publish:
            self.engine.publish(publish, self, {"routine_id": routine_id, **details})

    def notify_state(self) -> None:
        with self.state_changed:
            self.state_changed.notify_all()

    def wait_state(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate`` is true (checked at each pause, resume or end)."""
        with self.state_changed:
            return self.state_changed.wait_for(predicate, timeout)

    def request_finish(self, status: str, error: str | None) -> None:
        """Ask for the job to end once the running routine returns."""
        if status not in TERMINAL_STATUSES:
            status = "failed" if error else "completed"
        self.finish_request = (status, error)

    def append_output(self, text: str) -> None:
        limit = self.engine.max_output_bytes
        self._output.append(text)
        self._output_size += len(text)
        if self._output_size > limit * 2:
            self._trim_output(limit)
        if self._live_lines < MAX_LIVE_OUTPUT_LINES and text.strip():
            self._live_lines += 1
            self.engine.publish("log_message", self, {"message": text.rstrip("\n")})

    def schedule_reactivation(self, delay: float, routine_id: str) -> TimerHandle:
        with self.lock:
            self.pending_timers += 1
        return self.engine.timers.schedule(
            delay,
            lambda: self.engine.timer_fired(self, Reactivate(routine_id)),
            on_cancel=lambda: self.engine.timer_cancelled(self),
        )

    # -- output ------------------------------------------------------------

    def output_text(self) -> tuple[str, bool]:
        """Return the captured output and whether its start was cut off."""
        limit = self.engine.max_output_bytes
        if self._output_size > limit:
            self._trim_output(limit)
        return "".join(self._output), self.record.output_truncated

    def _trim_output(self, limit: int) -> None:
        text = "".join(self._output)[-limit:]
        self._output = [text]
        self._output_size = len(text)
        self.record.output_truncated = True
