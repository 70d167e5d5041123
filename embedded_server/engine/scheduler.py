"""Running jobs: submission, the step loop on a shared thread pool, and their end."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

from routilux.core.context import (
    ExecutionContext,
    set_current_execution_context,
    set_current_job,
    set_current_worker_state,
)
from routilux.core.error import ErrorStrategy
from routilux.core.routine import Routine
from routilux.core.slot import SlotQueueFullError

from embedded_server.debug.frames import ROUTINE, SLOT, Frame
from embedded_server.engine import output
from embedded_server.engine.catalog import FlowCatalog, FlowSpec
from embedded_server.engine.context import current_run
from embedded_server.engine.run import Deliver, Invoke, JobRun, WorkItem
from embedded_server.engine.timers import TimerQueue
from embedded_server.engine.workers import Worker, WorkerRegistry
from embedded_server.store.jobs import JobStore
from embedded_server.store.records import JobRecord

logger = logging.getLogger(__name__)

# Steps one job runs before it goes to the back of the pool's queue, so a job
# with thousands of records cannot starve the others.
STEPS_PER_TURN = 64


class Publisher(Protocol):
    def publish(
        self, type: str, job_id: str | None, flow_id: str | None, data: dict
    ) -> int: ...


class Debugger(Protocol):
    def check(
        self,
        run: JobRun,
        frame: Frame,
        setter: Callable[[str, Any], None],
        *,
        blocking: bool,
    ) -> bool: ...

    def wants(self, run: JobRun) -> bool: ...


class SubmitError(LookupError):
    """A job could not start; ``code`` is the API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def immediate_policy(
    slots: dict[str, Any], worker_state: Any
) -> tuple[bool, dict, str]:
    """Activate on any new data, taking everything waiting in every slot.

    routilux documents this as the behaviour of a routine without an
    activation policy, but its runtime never activates such a routine.
    """
    data = {name: slot.consume_all_new() for name, slot in slots.items()}
    if any(data.values()):
        return True, data, "immediate"
    return False, {}, "no_new_data"


class Engine:
    """Runs jobs of the catalog's flows on a bounded pool of threads.

    A job is a queue of work items. While it has work, one pool task drains
    it; while it waits it uses no thread. It completes when its
    queue is empty, no routine runs and no timer is pending.
    """

    def __init__(
        self,
        catalog: FlowCatalog,
        jobs: JobStore,
        bus: Publisher,
        *,
        threads: int = 16,
        max_output_bytes: int = 1_000_000,
    ) -> None:
        self.catalog = catalog
        self.jobs = jobs
        self.bus = bus
        self.max_output_bytes = max_output_bytes
        self.pool = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="routine"
        )
        self.timers = TimerQueue()
        self._active: dict[str, JobRun] = {}
        self._throwaway: dict[str, JobRun] = {}
        self._active_lock = threading.Lock()
        self.workers = WorkerRegistry()
        self.debugger: Debugger | None = None

    # -- public API -----------------------------------------------------

    def submit(
        self,
        flow_id: str,
        routine_id: str,
        slot_name: str,
        params: dict[str, Any],
        *,
        metadata: dict[str, Any] | None = None,
        worker_id: str | None = None,
        job_id: str | None = None,
    ) -> JobRecord:
        """Start a job by posting ``params`` to an entry slot.

        Raises:
            SubmitError: unknown flow, routine, slot or worker, or a duplicate job id.
        """
        flow = self._resolve(flow_id, routine_id, slot_name)
        worker = self._resolve_worker(flow_id, worker_id)
        job_id = job_id or str(uuid.uuid4())
        if self.active_run(job_id) or self.jobs.get(job_id):
            raise SubmitError(
                "CONFLICT", f"Job '{job_id}' already exists; choose another job_id"
            )

        now = time.time()
        record = JobRecord(
            job_id=job_id,
            flow_id=flow_id,
            worker_id=worker.worker_id,
            routine_id=routine_id,
            slot_name=slot_name,
            status="running",
            created_at=now,
            started_at=now,
            params=params,
            metadata=metadata or {},
            flow_version=flow.version,
        )
        run = JobRun(self, flow, record, flow.instantiate())
        run.queue.append(Deliver(routine_id, slot_name, params, "external"))
        self.jobs.insert(record)
        self.workers.job_started(worker.worker_id)
        with self._active_lock:
            self._active[job_id] = run
        self.publish("job_started", run, {"job": record.summary()})
        self._schedule_timeout(run)
        self.wake(run)
        return record

    def run_throwaway(
        self,
        flow_id: str,
        routine_id: str,
        slot_name: str,
        params: dict[str, Any],
        *,
        timeout: float,
    ) -> tuple[JobRun, bool]:
        """Run a job that is never stored or published, and wait for it.

        Routines run for real, with their side effects. Returns the run and
        whether it ended within ``timeout``; a run still going then is
        cancelled. Blocks the calling thread.

        Raises:
            SubmitError: unknown flow, routine or slot.
        """
        flow = self._resolve(flow_id, routine_id, slot_name)
        now = time.time()
        record = JobRecord(
            job_id=f"dry-run-{uuid.uuid4()}",
            flow_id=flow_id,
            worker_id="dry-run",
            routine_id=routine_id,
            slot_name=slot_name,
            status="running",
            created_at=now,
            started_at=now,
            params=params,
        )
        run = JobRun(self, flow, record, flow.instantiate(), ephemeral=True)
        run.queue.append(Deliver(routine_id, slot_name, params, "external"))
        with self._active_lock:
            self._throwaway[record.job_id] = run
        try:
            self.wake(run)
            finished = run.done.wait(timeout)
            if not finished:
                self._finish(run, "cancelled", f"Dry run timed out after {timeout:g} s")
        finally:
            with self._active_lock:
                self._throwaway.pop(record.job_id, None)
        return run, finished

    def find_run(self, job_id: str) -> JobRun | None:
        """Return a running job, dry runs included (for routine code ending its job)."""
        return self._active.get(job_id) or self._throwaway.get(job_id)

    def active_run(self, job_id: str) -> JobRun | None:
        return self._active.get(job_id)

    def active_count(self) -> int:
        return len(self._active)

    def cancel(self, job_id: str) -> JobRecord | None:
        """Cancel a running job; return its record, or None if it is not running.

        NOTE: routine code already running finishes its current call (Python
        threads cannot be interrupted); what it emits afterwards is dropped.
        """
        run = self.active_run(job_id)
        if run is None:
            return None
        if not self._finish(run, "cancelled", "Cancelled by a user request"):
            return None
        return run.record

    def publish(self, type: str, run: JobRun, data: dict[str, Any]) -> None:
        if not run.ephemeral:
            self.bus.publish(type, run.job_id, run.flow.flow_id, data)

    def debug_point(
        self,
        run: JobRun,
        frame: Frame,
        setter: Callable[[str, Any], None],
        *,
        blocking: bool,
    ) -> bool:
        """Offer a pause point to the debugger; return True when the job pauses there.

        With ``blocking`` (emits, which happen inside routine code) the
        debugger waits in this thread until the job goes on, and returns False.
        """
        debugger = self.debugger
        if debugger is None or not debugger.wants(run):
            return False
        run.debug.number(frame)
        return debugger.check(run, frame, setter, blocking=blocking)

    def timer_cancelled(self, run: JobRun) -> None:
        """Account for a cancelled timer; a job with nothing else left completes."""
        with run.lock:
            run.pending_timers -= 1
            idle = not run.queue and not run.scheduled and run.pending_timers == 0
            if run.terminal or run.debug.pause is not None:
                return
        if idle:
            self._finish(run, "completed", None)

    def timer_fired(self, run: JobRun, item: WorkItem) -> None:
        with run.lock:
            run.pending_timers -= 1
            if run.terminal:
                return
            run.queue.append(item)
        self.wake(run)

    def shutdown(self) -> None:
        """Stop taking work; jobs still running are failed when the server restarts."""
        self.timers.close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    # -- scheduling -------------------------------------------------------

    def _resolve(self, flow_id: str, routine_id: str, slot_name: str) -> FlowSpec:
        flow = self.catalog.get(flow_id)
        if flow is None:
            raise SubmitError("FLOW_NOT_FOUND", f"Flow '{flow_id}' not found")
        routine = flow.routines.get(routine_id)
        if routine is None:
            raise SubmitError(
                "ROUTINE_NOT_FOUND",
                f"Routine '{routine_id}' not found in flow '{flow_id}'; "
                f"routines: {', '.join(flow.routines)}",
            )
        if slot_name not in routine.slots:
            raise SubmitError(
                "SLOT_NOT_FOUND",
                f"Slot '{slot_name}' not found in routine '{routine_id}'; "
                f"slots: {', '.join(routine.slots) or 'none'}",
            )
        return flow

    def _resolve_worker(self, flow_id: str, worker_id: str | None) -> Worker:
        if worker_id is None:
            return self.workers.default_for(flow_id)
        worker = self.workers.get(worker_id)
        if worker is None:
            raise SubmitError(
                "WORKER_NOT_FOUND",
                f"Worker '{worker_id}' not found; create it with POST /api/v1/workers "
                "or leave worker_id out",
            )
        if worker.flow_id != flow_id:
            raise SubmitError(
                "CONFLICT",
                f"Worker '{worker_id}' runs flow '{worker.flow_id}', not '{flow_id}'",
            )
        return worker

    def _schedule_timeout(self, run: JobRun) -> None:
        execution = run.flow.dsl.get("execution")
        timeout = execution.get("timeout") if isinstance(execution, dict) else None
        if isinstance(timeout, int | float) and timeout > 0:
            message = (
                f"Job timed out after {timeout:g} s (the flow's execution.timeout)"
            )

            def expire() -> None:
                # Time spent paused in the debugger does not count.
                if run.debug.pause is not None:
                    self.timers.schedule(timeout, expire)
                else:
                    self._finish(run, "failed", message)

            self.timers.schedule(timeout, expire)

    def wake(self, run: JobRun) -> None:
        with run.lock:
            if run.scheduled or run.terminal:
                return
            run.scheduled = True
        self.pool.submit(self._drain_in_context, run)

    def _drain_in_context(self, run: JobRun) -> None:
        # A fresh context per turn: routilux's context variables never leak
        # from one job's turn into another's on the same pool thread.
        contextvars.Context().run(self._drain, run)

    def _drain(self, run: JobRun) -> None:
        try:
            for _ in range(STEPS_PER_TURN):
                with run.lock:
                    if run.terminal or not run.queue:
                        break
                    item = run.queue.popleft()
                if self._step(run, item):
                    break
                if run.finish_request:
                    status, error = run.finish_request
                    self._finish(run, status, error)
        except Exception:
            logger.exception("Scheduler error in job %s", run.job_id)
            self._finish(run, "failed", "Internal scheduler error; see the server log")
        self._after_turn(run)

    def _after_turn(self, run: JobRun) -> None:
        with run.lock:
            run.scheduled = False
            if run.terminal or run.debug.pause is not None:
                return
            has_work = bool(run.queue)
            idle = not has_work and run.pending_timers == 0
        if has_work:
            self.wake(run)
        elif idle:
            self._finish(run, "completed", None)

    # -- one step ---------------------------------------------------------

    def _step(self, run: JobRun, item: WorkItem) -> bool:
        """Run one work item; return True when the job paused before it."""
        routine = run.routines[item.routine_id]
        self._bind(run, item.routine_id)
        if isinstance(item, Invoke):
            if not item.checked and self._pause_before(run, item, item.frame):
                return True
            self._call_logic(run, routine, item)
            return False
        cause = None
        if isinstance(item, Deliver):
            frame = Frame(
                SLOT, item.routine_id, item.slot_name, item.data, parent=item.cause
            )
            if not item.checked and self._pause_before(run, item, frame):
                return True
            cause = frame
            if not self._enqueue(run, routine, item):
                return False
        invoke = self._activate(run, item.routine_id, routine, cause)
        if invoke is None:
            return False
        if self._pause_before(run, invoke, invoke.frame):
            return True
        self._call_logic(run, routine, invoke)
        return False

    def _pause_before(self, run: JobRun, item: Deliver | Invoke, frame: Frame) -> bool:
        """Offer a pause point to the debugger; on a pause, keep the item for later."""

        def set_variable(name: str, value: Any) -> None:
            if isinstance(item, Deliver):
                if name == "data":
                    item.data = frame.data = value
                else:
                    item.data[name] = value
            elif name == "data":
                item.data_slice = frame.data = value
            else:
                item.data_slice[name] = value

        if not self.debug_point(run, frame, set_variable, blocking=False):
            return False
        item.checked = True
        with run.lock:
            run.queue.appendleft(item)
        return True

    def _enqueue(self, run: JobRun, routine: Routine, item: Deliver) -> bool:
        slot = routine.get_slot(item.slot_name)
        try:
            slot.enqueue(
                data=item.data,
                emitted_from=item.emitted_from,
                emitted_at=datetime.now(),
            )
        except SlotQueueFullError as exc:
            message = f"{exc}; the routine consumes slower than data arrives"
            self._finish(run, "failed", message, failed_routine=item.routine_id)
            return False
        return True

    def _bind(self, run: JobRun, routine_id: str) -> None:
        # Something (a test harness, a routine module) may have replaced
        # sys.stdout since start-up; capture must stay in front of it.
        output.install()
        current_run.set(run)
        set_current_job(run.job_context)
        set_current_worker_state(run.worker_state)
        set_current_execution_context(
            ExecutionContext(
                flow=None,
                worker_state=run.worker_state,
                routine_id=routine_id,
                job_context=run.job_context,
            )
        )

    def _activate(
        self, run: JobRun, routine_id: str, routine: Routine, cause: Frame | None
    ) -> Invoke | None:
        """Ask the routine's policy whether to run; return the invocation if so."""
        policy = routine._activation_policy or immediate_policy
        try:
            should_run, data_slice, message = policy(routine.slots, run.worker_state)
        except Exception as exc:
            self._routine_failed(
                run, routine, Invoke(routine_id, {}, None, cause), exc, 0.0
            )
            return None
        if not should_run:
            return None
        data_slice = data_slice or {}
        frame = Frame(ROUTINE, routine_id, None, data_slice, parent=cause)
        return Invoke(routine_id, data_slice, message, frame)

    def _call_logic(self, run: JobRun, routine: Routine, invoke: Invoke) -> None:
        routine_id = invoke.routine_id
        logic = routine._logic or getattr(routine, "logic", None)
        if logic is None:
            run.record_trace(
                routine_id,
                "routine_skipped",
                {"reason": "the routine defines no logic"},
            )
            return
        arguments = [invoke.data_slice.get(name, []) for name in routine.slots]
        details = {"attempt": invoke.attempt} if invoke.attempt else {}
        run.record_trace(
            routine_id, "routine_started", details, publish="routine_started"
        )
        run.current_invocation = invoke.frame
        started = time.perf_counter()
        try:
            logic(
                *arguments, policy_message=invoke.message, worker_state=run.worker_state
            )
        except (Exception, SystemExit) as exc:
            elapsed = (time.perf_counter() - started) * 1000
            self._routine_failed(run, routine, invoke, exc, elapsed)
            return
        finally:
            run.current_invocation = None
        elapsed = round((time.perf_counter() - started) * 1000, 3)
        run.record_trace(
            routine_id,
            "routine_completed",
            {"duration_ms": elapsed},
            publish="routine_completed",
        )

    def _routine_failed(
        self,
        run: JobRun,
        routine: Routine,
        invoke: Invoke,
        exc: BaseException,
        elapsed: float,
    ) -> None:
        routine_id = invoke.routine_id
        error = f"{type(exc).__name__}: {exc}"
        details = {"error": error, "duration_ms": round(elapsed, 3)}
        run.record_trace(
            routine_id, "routine_failed", details, publish="routine_failed"
        )
        handler = routine.get_error_handler()
        strategy = handler.strategy if handler else ErrorStrategy.STOP

        if strategy is ErrorStrategy.RETRY and invoke.attempt < handler.max_retries:
            delay = handler.retry_delay * handler.retry_backoff**invoke.attempt
            run.record_trace(
                routine_id,
                "routine_retry_scheduled",
                {"attempt": invoke.attempt + 1, "delay_s": delay},
            )
            with run.lock:
                run.pending_timers += 1
            retry = Invoke(
                routine_id,
                invoke.data_slice,
                invoke.message,
                invoke.frame,
                attempt=invoke.attempt + 1,
            )
            self.timers.schedule(delay, lambda: self.timer_fired(run, retry))
            return
        gives_up = strategy is ErrorStrategy.STOP or (
            strategy is ErrorStrategy.RETRY and handler.is_critical
        )
        if gives_up:
            self._finish(
                run,
                "failed",
                f"{routine_id}: {error}",
                tb="".join(traceback.format_exception(exc)),
                failed_routine=routine_id,
            )

    # -- the end of a job -------------------------------------------------

    def _finish(
        self,
        run: JobRun,
        status: str,
        error: str | None,
        *,
        tb: str | None = None,
        failed_routine: str | None = None,
    ) -> bool:
        with run.lock:
            if run.terminal:
                return False
            record = run.record
            record.status = status
            dropped = len(run.queue)
            run.queue.clear()
            pause, run.debug.pause, run.debug.step = run.debug.pause, None, None
        if pause is not None and pause.release is not None:
            pause.release.set()
        if dropped:
            run.record_trace(
                "", "work_discarded", {"items": dropped, "reason": f"job {status}"}
            )
        record.completed_at = time.time()
        record.error = error
        record.traceback = tb
        record.failed_routine = failed_routine
        record.data = dict(run.job_context.data)
        record.output, record.output_truncated = run.output_text()
        try:
            if not run.ephemeral:
                self.jobs.finish(record, run.trace)
        finally:
            with self._active_lock:
                self._active.pop(run.job_id, None)
            if not run.ephemeral:
                self.workers.job_ended(record.worker_id, status)
            run.done.set()
            run.notify_state()
        self.publish(f"job_{status}", run, {"job": record.summary()})
        return True
