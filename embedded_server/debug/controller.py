"""The debugger: breakpoint checks at pause points, pausing, stepping and inspection."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from embedded_server.debug import conditions
from embedded_server.debug.breakpoints import Breakpoint, BreakpointStore
from embedded_server.debug.frames import EVENT, ROUTINE, SLOT, Frame
from embedded_server.debug.session import CONTINUE, STEP_INTO, Pause, StepRequest

if TYPE_CHECKING:
    from embedded_server.engine.run import JobRun
    from embedded_server.engine.scheduler import Engine

logger = logging.getLogger(__name__)

# Seconds a breakpoint condition may run before it counts as an error.
CONDITION_TIMEOUT = 0.5


class NotPaused(RuntimeError):
    """The request needs a paused job."""


class Debugger:
    """Decides at each pause point whether a job stops, and serves its inspection."""

    def __init__(self, engine: Engine, breakpoints: BreakpointStore) -> None:
        self.engine = engine
        self.breakpoints = breakpoints
        self._lock = threading.Lock()

    # -- called by the scheduler ------------------------------------------

    def wants(self, run: JobRun) -> bool:
        if run.ephemeral:
            return False
        return run.debug.step is not None or self.breakpoints.has_any(run.flow.flow_id)

    def check(
        self,
        run: JobRun,
        frame: Frame,
        setter: Callable[[str, Any], None],
        *,
        blocking: bool,
    ) -> bool:
        """Pause the job at ``frame`` when a step request or a breakpoint requires it."""
        reason, hit = None, None
        step = run.debug.step
        if step is not None and step.stops_at(frame):
            reason = "step"
        for item in self.breakpoints.matching(frame, run.flow.flow_id, run.job_id):
            if not self._reached(run, frame, item):
                continue
            if item.log_message is not None:
                self._log_point(run, frame, item)
            elif hit is None:
                reason, hit = "breakpoint", item
        if reason is None:
            return False

        pause = Pause(
            frame,
            reason,
            hit.breakpoint_id if hit else None,
            setter,
            threading.Event() if blocking else None,
        )
        self._enter(run, pause, hit)
        if blocking:
            # An emit pauses inside routine code, so this thread waits here
            # until resume, step or cancel sets the event.
            pause.release.wait()
            return False
        return True

    def _reached(self, run: JobRun, frame: Frame, item: Breakpoint) -> bool:
        """Evaluate the condition and hit condition; count hits and errors."""
        if item.condition:
            try:
                matched = conditions.check(
                    item.condition, self.names(run, frame), timeout=CONDITION_TIMEOUT
                )
            except conditions.ConditionError as exc:
                self._condition_failed(run, frame, item, str(exc))
                return False
            if not matched:
                return False
        item.hit_count += 1
        self.breakpoints.save(item)
        if item.hit_condition:
            return conditions.hit_matches(item.hit_condition, item.hit_count)
        return True

    def _condition_failed(
        self, run: JobRun, frame: Frame, item: Breakpoint, error: str
    ) -> None:
        item.error_count += 1
        item.last_error = error
        self.breakpoints.save(item)
        if item.error_reported:
            return
        item.error_reported = True
        logger.info(
            "Condition of breakpoint %s failed in job %s: %s",
            item.breakpoint_id,
            run.job_id,
            error,
        )
        self.engine.publish(
            "condition_error",
            run,
            {
                "breakpoint_id": item.breakpoint_id,
                "routine_id": frame.routine_id,
                "condition": item.condition,
                "error": error,
                **frame.describe(),
            },
        )

    def _log_point(self, run: JobRun, frame: Frame, item: Breakpoint) -> None:
        message = conditions.render(item.log_message or "", self.names(run, frame))
        details = {
            "breakpoint_id": item.breakpoint_id,
            "message": message,
            **frame.describe(),
        }
        run.record_trace(frame.routine_id, "logpoint", details, publish="log_message")

    def _enter(self, run: JobRun, pause: Pause, hit: Breakpoint | None) -> None:
        run.debug.step = None
        run.debug.pause = pause
        run.record.status = "paused"
        self.engine.jobs.set_status(run.job_id, "paused")
        where = {**pause.frame.describe(), "frame_id": pause.frame.frame_id}
        run.record_trace(
            pause.frame.routine_id, "paused", {"reason": pause.reason, **where}
        )
        if hit is not None:
            self.engine.publish(
                "breakpoint_hit",
                run,
                {
                    "breakpoint_id": hit.breakpoint_id,
                    "hit_count": hit.hit_count,
                    **where,
                },
            )
        self.engine.publish(
            "job_paused",
            run,
            {
                "reason": pause.reason,
                "breakpoint_id": pause.breakpoint_id,
                **where,
                "job": run.record.summary(),
            },
        )
        run.notify_state()

    # -- requests from the API ----------------------------------------------

    def resume(self, run: JobRun, mode: str) -> None:
        """Let a paused job go on: continue, or step over, into or out."""
        with self._lock:
            pause = run.debug.pause
            if pause is None:
                raise NotPaused(f"Job '{run.job_id}' is not paused")
            run.debug.pause = None
            run.debug.step = (
                None if mode == CONTINUE else StepRequest(mode, pause.frame)
            )
        run.record.status = "running"
        self.engine.jobs.set_status(run.job_id, "running")
        run.record_trace(pause.frame.routine_id, "resumed", {"mode": mode})
        self.engine.publish(
            "job_resumed", run, {"mode": mode, "job": run.record.summary()}
        )
        run.notify_state()
        if pause.release is not None:
            pause.release.set()
        else:
            self.engine.wake(run)

    def request_pause(self, run: JobRun) -> None:
        """Stop a running job at its next pause point."""
        if run.debug.pause is not None:
            raise NotPaused(f"Job '{run.job_id}' is already paused")
        origin = Frame(SLOT, "", None, None)
        run.debug.step = StepRequest(STEP_INTO, origin)

    def frames(self, run: JobRun) -> list[Frame]:
        pause = run.debug.pause
        if pause is None:
            raise NotPaused(f"Job '{run.job_id}' is not paused")
        return pause.frame.chain()

    def names(self, run: JobRun, frame: Frame) -> dict[str, Any]:
        """Return the names available to an expression at ``frame``.

        The payload's keys come first, so the fixed names (``data``,
        ``routine_id``, ``slot``, ``event``, ``job``, ``config``) win a clash.
        """
        names: dict[str, Any] = {}
        payload = frame.data
        if frame.kind == ROUTINE and isinstance(payload, dict):
            items = [entry for values in payload.values() for entry in (values or [])]
            if len(items) == 1 and isinstance(items[0], dict):
                names.update(items[0])
            names.update({str(slot): values for slot, values in payload.items()})
        elif isinstance(payload, dict):
            names.update({str(key): value for key, value in payload.items()})
        routine = run.routines.get(frame.routine_id)
        names.update(
            data=payload,
            routine_id=frame.routine_id,
            slot=frame.port if frame.kind == SLOT else None,
            event=frame.port if frame.kind == EVENT else None,
            job={
                "job_id": run.job_id,
                "flow_id": run.flow.flow_id,
                "data": dict(run.job_context.data),
                "metadata": run.record.metadata,
                "params": run.record.params,
            },
            config=routine.config() if routine is not None else {},
        )
        return names

    def editable(self, frame: Frame) -> set[str]:
        """Return the variables of ``frame`` that an edit may change."""
        names = {"data"}
        if isinstance(frame.data, dict):
            names.update(str(key) for key in frame.data)
        return names

    def set_variable(self, run: JobRun, name: str, value: Any) -> None:
        pause = run.debug.pause
        if pause is None:
            raise NotPaused(f"Job '{run.job_id}' is not paused")
        if name not in self.editable(pause.frame):
            allowed = ", ".join(sorted(self.editable(pause.frame)))
            raise KeyError(f"'{name}' cannot be edited here; editable: {allowed}")
        if (
            pause.frame.kind == ROUTINE
            and name != "data"
            and not isinstance(value, list)
        ):
            raise ValueError(f"'{name}' is a slot's list of items; send a JSON array")
        if (
            name == "data"
            and pause.frame.kind == ROUTINE
            and not isinstance(value, dict)
        ):
            raise ValueError("'data' here maps slot names to lists; send a JSON object")
        pause.setter(name, value)
        run.record_trace(pause.frame.routine_id, "variable_changed", {"name": name})
