"""Debugs the selected job: follows its pauses and drives the stack, variables and watches.

The controller listens to the server's events (``job_paused``,
``job_resumed``, ``breakpoint_hit``, ``condition_error`` and the end of a
job) and to the job selection. When the selected job pauses it loads the
pause point, call stack, variables and watch values, and its commands
(continue, step, pause, stop) run as background tasks on the Qt loop.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.controllers import notify
from app.controllers.breakpoints import BreakpointsController
from app.controllers.tasks import TaskSet
from app.models.call_stack_model import CallStackModel
from app.models.debug_records import EvalResult, PausePoint
from app.models.records import TERMINAL_STATUSES
from app.models.variables_model import VariablesModel
from app.models.watch_model import WatchModel
from app.services.api import ApiError
from app.services.debug_api import DebugApi

logger = logging.getLogger(__name__)

ENDED_EVENTS = frozenset({"job_completed", "job_failed", "job_cancelled"})
_COMMAND_VERBS = {
    "resume": "continue",
    "step_over": "step over in",
    "step_into": "step into in",
    "step_out": "step out in",
    "pause": "pause",
}


class DebugState(enum.Enum):
    """What the selected job allows the debugger to do."""

    NONE = "none"  # no job selected, or its state is not known yet
    RUNNING = "running"
    PAUSED = "paused"
    ENDED = "ended"


class DebugController(QObject):
    """The debugger's state for the selected job.

    Responses are matched to the state they were requested for: each new
    selection and each new pause starts a new generation, and an answer
    from an older generation is dropped.

    Signals:
        state_changed(DebugState): The selected job's debug state.
        pause_changed(object): The selected job's PausePoint, or None.
        busy_changed(bool): Whether a command is in flight.
        job_paused(str, dict): Any job paused; its id and the event's data.
        frame_changed(int): The frame the variables and watches show.
        variable_edit_failed(str, str): A name and why its change failed.
    """

    state_changed = Signal(object)
    pause_changed = Signal(object)
    busy_changed = Signal(bool)
    job_paused = Signal(str, dict)
    frame_changed = Signal(int)
    variable_edit_failed = Signal(str, str)

    def __init__(
        self,
        debug_api: DebugApi,
        parent: QObject | None = None,
        *,
        watch_model: WatchModel | None = None,
        refresh_delay_ms: int = 300,
    ):
        super().__init__(parent)
        self._debug = debug_api
        self.breakpoints = BreakpointsController(debug_api, self, refresh_delay_ms=refresh_delay_ms)
        self.variables_model = VariablesModel(self)
        self.call_stack_model = CallStackModel(self)
        self.watch_model = watch_model if watch_model is not None else WatchModel(self)
        if self.watch_model.parent() is None:
            self.watch_model.setParent(self)
        self._tasks = TaskSet()
        self._job_id: str | None = None
        self._flow_id: str | None = None
        self._state = DebugState.NONE
        self._pause: PausePoint | None = None
        self._frame = 0
        self._generation = 0
        # Counts pause, resume and end events of the selected job, so a
        # command's answer that an event has overtaken is not applied.
        self._event_serial = 0
        self._busy = 0

        self.variables_model.fetch_requested.connect(self._on_variables_fetch_requested)
        self.variables_model.edit_requested.connect(self._on_variables_edit_requested)
        self.variables_model.edit_failed.connect(self._on_variables_edit_failed)
        self.watch_model.watch_changed.connect(self._on_watch_changed)

    # -- state ------------------------------------------------------------------

    @property
    def job_id(self) -> str | None:
        """The job being debugged (the selected job)."""
        return self._job_id

    @property
    def flow_id(self) -> str | None:
        """The flow of the selected job, once known."""
        return self._flow_id

    @property
    def state(self) -> DebugState:
        """The selected job's debug state."""
        return self._state

    @property
    def pause(self) -> PausePoint | None:
        """Where the selected job is paused, or None."""
        return self._pause

    @property
    def frame_index(self) -> int:
        """The frame whose variables and watches are shown."""
        return self._frame

    @property
    def busy(self) -> bool:
        """Whether a command is in flight."""
        return self._busy > 0

    # -- inputs --------------------------------------------------------------------

    @Slot(object)
    def select_job(self, job_id: str | None) -> None:
        """Debug ``job_id``, or nothing for None."""
        if job_id == self._job_id:
            return
        self._job_id, self._flow_id = job_id, None
        self._new_generation()
        self._clear_pause(DebugState.NONE)
        self.breakpoints.set_job(job_id)
        if job_id is not None:
            self._tasks.spawn(self._load_selected(job_id, self._generation), name="load debug session")

    @Slot(dict)
    def handle_event(self, event: Mapping[str, Any]) -> None:
        """Update the state from one server event."""
        kind = event.get("type")
        job_id = event.get("job_id")
        flow_id = event.get("flow_id")
        data = event.get("data") if isinstance(event.get("data"), Mapping) else {}
        if kind == "job_paused" and isinstance(job_id, str):
            self.job_paused.emit(job_id, dict(data))
        if kind in ("breakpoint_hit", "condition_error") or kind in ENDED_EVENTS:
            self.breakpoints.schedule_refresh(flow_id if isinstance(flow_id, str) else None)
        if kind == "condition_error":
            notify.warning(
                f"Breakpoint condition failed in {data.get('routine_id', 'a routine')}: "
                f"{data.get('error', 'unknown error')}. The job did not pause there; edit the condition to fix it."
            )
        if job_id is None or job_id != self._job_id:
            return
        if isinstance(flow_id, str) and flow_id:
            self._flow_id = flow_id
        if kind == "job_paused" or kind == "job_resumed" or kind in ENDED_EVENTS:
            self._event_serial += 1
        if kind == "job_paused":
            self._new_generation()
            self._tasks.spawn(self._load_pause(job_id, self._generation), name="load pause")
        elif kind == "job_resumed":
            self._set_running()
        elif kind in ENDED_EVENTS:
            self._clear_pause(DebugState.ENDED)

    @Slot(str)
    def resync(self, _reason: str = "") -> None:
        """Reload everything after the event stream may have missed events."""
        self.breakpoints.refresh_all()
        if self._job_id is not None:
            self._new_generation()
            self._tasks.spawn(self._load_selected(self._job_id, self._generation), name="reload debug session")

    # -- commands ---------------------------------------------------------------------

    @Slot()
    def resume(self) -> None:
        """Continue the paused job until the next breakpoint."""
        self._command("resume")

    @Slot()
    def step_over(self) -> None:
        """Run to the next pause point no deeper than the current one."""
        self._command("step_over")

    @Slot()
    def step_into(self) -> None:
        """Run to the very next pause point."""
        self._command("step_into")

    @Slot()
    def step_out(self) -> None:
        """Finish the current routine's work, then pause."""
        self._command("step_out")

    @Slot()
    def request_pause(self) -> None:
        """Stop the running job at its next pause point."""
        self._command("pause")

    @Slot()
    def stop(self) -> None:
        """Cancel the selected job."""
        if self._job_id is not None:
            self._tasks.spawn(self._stop(self._job_id), name="cancel job")

    @Slot(int)
    def select_frame(self, index: int) -> None:
        """Show the variables and watch values of frame ``index``."""
        if self._pause is None or index == self._frame or index < 0:
            return
        self._frame = index
        self.call_stack_model.set_current_frame(index)
        self.frame_changed.emit(index)
        self._tasks.spawn(self._load_frame(self._job_id, index, self._generation), name="load frame")

    @Slot()
    def evaluate_watches(self) -> None:
        """Evaluate every watch again in the current frame."""
        if self._pause is not None and self._job_id is not None:
            self._tasks.spawn(self._evaluate_watches(self._job_id, self._frame, self._generation), name="watches")

    async def aclose(self) -> None:
        """Cancel requests in flight, here and in the breakpoints controller."""
        await asyncio.gather(self._tasks.close(), self.breakpoints.aclose())

    # -- state changes -------------------------------------------------------------------

    def _new_generation(self) -> None:
        self._generation += 1

    def _set_state(self, state: DebugState) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def _clear_pause(self, state: DebugState) -> None:
        self._pause, self._frame = None, 0
        self.variables_model.clear()
        self.call_stack_model.clear()
        self.watch_model.clear_results()
        self.pause_changed.emit(None)
        self._set_state(state)

    def _set_running(self) -> None:
        # The panes keep the last pause's values, shown as stale by the
        # views, so stepping does not blank them between two pauses.
        self._new_generation()
        self._pause = None
        self.pause_changed.emit(None)
        self._set_state(DebugState.RUNNING)

    def _apply_session(self, session: PausePoint) -> None:
        if session.paused:
            return  # the job_paused event loads the pause
        if session.status in TERMINAL_STATUSES:
            self._clear_pause(DebugState.ENDED)
        else:
            self._set_running()

    def _set_busy(self, busy: bool) -> None:
        self._busy += 1 if busy else -1
        if self._busy in (0, 1):
            self.busy_changed.emit(self._busy > 0)

    # -- background work ---------------------------------------------------------------

    async def _load_selected(self, job_id: str, generation: int) -> None:
        try:
            job = await self._debug.api.get_job(job_id)
        except notify.NETWORK_ERRORS as exc:
            logger.info("Couldn't load job %s for the debugger: %s", job_id, notify.describe(exc))
            return
        if generation != self._generation:
            return
        self._flow_id = job.flow_id
        if job.status in TERMINAL_STATUSES:
            self._set_state(DebugState.ENDED)
        elif job.status == "paused":
            self._new_generation()
            await self._load_pause(job_id, self._generation)
        else:
            self._set_state(DebugState.RUNNING)

    async def _load_pause(self, job_id: str, generation: int) -> None:
        try:
            session, frames, variables = await asyncio.gather(
                self._debug.session(job_id),
                self._debug.call_stack(job_id),
                self._debug.variables(job_id, 0),
            )
        except notify.NETWORK_ERRORS as exc:
            if generation == self._generation and not _moved_on(exc):
                notify.error(f"Couldn't load the pause of job {job_id}: {notify.describe(exc)}")
            return
        if generation != self._generation:
            return
        if not session.paused:
            self._apply_session(session)
            return
        self._pause, self._frame = session, 0
        self.call_stack_model.set_frames(frames)
        self.variables_model.set_variables(variables, 0)
        self.pause_changed.emit(session)
        self._set_state(DebugState.PAUSED)
        self.frame_changed.emit(0)
        await self._evaluate_watches(job_id, 0, generation)

    async def _load_frame(self, job_id: str | None, index: int, generation: int) -> None:
        if job_id is None:
            return
        try:
            variables = await self._debug.variables(job_id, index)
        except notify.NETWORK_ERRORS as exc:
            if generation == self._generation and not _moved_on(exc):
                notify.error(f"Couldn't load the variables of frame {index}: {notify.describe(exc)}")
            return
        if generation != self._generation or index != self._frame:
            return
        self.variables_model.set_variables(variables, index)
        await self._evaluate_watches(job_id, index, generation)

    async def _evaluate_watches(self, job_id: str, frame: int, generation: int) -> None:
        expressions = self.watch_model.expressions()
        for row in range(len(expressions)):
            self.watch_model.set_pending(row)
        results = await asyncio.gather(
            *(self._evaluate(job_id, text, frame) for text in expressions)
        )
        if generation != self._generation or frame != self._frame:
            return
        for row, (text, result) in enumerate(zip(expressions, results, strict=True)):
            self.watch_model.set_result(row, text, result)

    async def _evaluate(self, job_id: str, expression: str, frame: int) -> EvalResult:
        try:
            return await self._debug.evaluate(job_id, expression, frame)
        except notify.NETWORK_ERRORS as exc:
            return EvalResult.failed(notify.describe(exc))

    def _command(self, name: str) -> None:
        if self._job_id is not None:
            self._tasks.spawn(self._run_command(self._job_id, name), name=f"debug {name}")

    async def _run_command(self, job_id: str, name: str) -> None:
        serial = self._event_serial
        self._set_busy(True)
        try:
            session = await getattr(self._debug, name)(job_id)
        except notify.NETWORK_ERRORS as exc:
            notify.error(f"Couldn't {_COMMAND_VERBS[name]} job {job_id}: {notify.describe(exc)}")
            if isinstance(exc, ApiError) and exc.status == 409 and job_id == self._job_id:
                self.resync()
            return
        finally:
            self._set_busy(False)
        # An event that arrived while the request was in flight (the next
        # pause, or the end of the job) is newer than this answer.
        if job_id == self._job_id and serial == self._event_serial:
            self._apply_session(session)

    async def _stop(self, job_id: str) -> None:
        self._set_busy(True)
        try:
            await self._debug.cancel_job(job_id)
        except notify.NETWORK_ERRORS as exc:
            notify.error(f"Couldn't cancel job {job_id}: {notify.describe(exc)}")
            return
        finally:
            self._set_busy(False)
        notify.info(f"Cancelled job {job_id}")
        if job_id == self._job_id:
            self._new_generation()
            self._clear_pause(DebugState.ENDED)

    async def _set_variable(self, job_id: str, name: str, value: Any, generation: int) -> None:
        try:
            await self._debug.set_variable(job_id, name, value)
        except notify.NETWORK_ERRORS as exc:
            message = notify.describe(exc)
            notify.error(f"Couldn't change {name}: {message}")
            self.variable_edit_failed.emit(name, message)
            return
        logger.info("Changed %s in paused job %s", name, job_id)
        if generation == self._generation:
            self._new_generation()
            await self._load_pause(job_id, self._generation)

    # -- model requests -----------------------------------------------------------------

    @Slot(int, str)
    def _on_variables_fetch_requested(self, request_id: int, expression: str) -> None:
        if self._job_id is None or self._pause is None:
            self.variables_model.supply(request_id, EvalResult.failed("The job is not paused"))
            return
        self._tasks.spawn(self._fetch(self._job_id, request_id, expression, self.variables_model.frame_index), name="expand value")

    async def _fetch(self, job_id: str, request_id: int, expression: str, frame: int) -> None:
        result = await self._evaluate(job_id, expression, frame)
        self.variables_model.supply(request_id, result)

    @Slot(str, object)
    def _on_variables_edit_requested(self, name: str, value: Any) -> None:
        if self._job_id is None or self._pause is None or self._frame != 0:
            self.variable_edit_failed.emit(name, "only the data of a paused job's frame 0 can be changed")
            return
        self._tasks.spawn(self._set_variable(self._job_id, name, value, self._generation), name="set variable")

    @Slot(str, str)
    def _on_variables_edit_failed(self, name: str, message: str) -> None:
        notify.warning(f"Couldn't change {name}: {message}")
        self.variable_edit_failed.emit(name, message)

    @Slot(int, str)
    def _on_watch_changed(self, row: int, expression: str) -> None:
        if self._job_id is None or self._pause is None:
            return
        self.watch_model.set_pending(row)
        self._tasks.spawn(self._evaluate_watch(self._job_id, row, expression, self._frame, self._generation), name="watch")

    async def _evaluate_watch(self, job_id: str, row: int, expression: str, frame: int, generation: int) -> None:
        result = await self._evaluate(job_id, expression, frame)
        if generation == self._generation and frame == self._frame:
            self.watch_model.set_result(row, expression, result)


def _moved_on(exc: Exception) -> bool:
    """Whether an error only says the job is no longer paused or running."""
    return isinstance(exc, ApiError) and exc.status == 409
