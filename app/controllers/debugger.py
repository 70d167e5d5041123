"""Debugs the selected job: follows its state from events and runs the debug commands.

The controller listens to the server's events (``job_paused``,
``job_resumed``, ``breakpoint_hit``, ``condition_error`` and the end of a
job) and to the job selection. When the selected job pauses, its
``PauseInspector`` loads the pause point, call stack, variables and watch
values. The commands (continue, step, pause, stop) run as background tasks
on the Qt loop.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Mapping
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.controllers import notify
from app.controllers.breakpoints import BreakpointsController
from app.controllers.guarded_tasks import GuardedTasks
from app.controllers.inspection import PauseInspector
from app.models.call_stack_model import CallStackModel
from app.models.debug_records import PausePoint
from app.models.records import TERMINAL_STATUSES
from app.models.variables_model import VariablesModel
from app.models.watch_model import WatchModel
from app.services.api import ApiError
from app.services.debug_api import DebugApi

logger = logging.getLogger(__name__)

ENDED_EVENTS = frozenset({"job_completed", "job_failed", "job_cancelled"})
STATE_EVENTS = ENDED_EVENTS | {"job_paused", "job_resumed"}
_COMMAND_VERBS = {
    "resume": "continue",
    "step_over": "step over in",
    "step_into": "step into in",
    "step_out": "step out in",
    "pause": "pause",
}


class DebugState(enum.Enum):
    """The selected job's state, as far as the debugger's commands are concerned."""

    NONE = "none"  # no job selected, or its state is not known yet
    RUNNING = "running"
    PAUSED = "paused"
    ENDED = "ended"


class DebugController(QObject):
    """The debugger's state for the selected job, and its commands.

    Attributes:
        breakpoints: Keeps the breakpoints model in step with the server.
        inspector: Fills the call stack, variables and watch models.

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
        self.breakpoints = BreakpointsController(
            debug_api, self, refresh_delay_ms=refresh_delay_ms
        )
        self.inspector = PauseInspector(debug_api, self, watch_model=watch_model)
        self._tasks = GuardedTasks()
        self._job_id: str | None = None
        self._flow_id: str | None = None
        self._state = DebugState.NONE
        self._selection = 0  # counts selections, to drop responses for an older one
        # Counts pause, resume and end events of the selected job, so a
        # command's response that an event has overtaken is not applied.
        self._event_serial = 0
        self._busy = 0

        self.inspector.pause_loaded.connect(self._on_inspector_pause_loaded)
        self.inspector.not_paused.connect(self._apply_session)
        self.inspector.frame_changed.connect(self.frame_changed)
        self.inspector.variable_edit_failed.connect(self.variable_edit_failed)

    # -- state --------------------------------------------------------------------

    @property
    def variables_model(self) -> VariablesModel:
        """The variables of the frame being inspected."""
        return self.inspector.variables_model

    @property
    def call_stack_model(self) -> CallStackModel:
        """The frames of the pause."""
        return self.inspector.call_stack_model

    @property
    def watch_model(self) -> WatchModel:
        """The watch expressions and their values."""
        return self.inspector.watch_model

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
        return self.inspector.pause

    @property
    def frame_index(self) -> int:
        """The frame whose variables and watches are shown."""
        return self.inspector.frame_index

    @property
    def busy(self) -> bool:
        """Whether a command is in flight."""
        return self._busy > 0

    # -- inputs ---------------------------------------------------------------------

    @Slot(object)
    def select_job(self, job_id: str | None) -> None:
        """Debug ``job_id``, or nothing for None."""
        if job_id == self._job_id:
            return
        self._job_id, self._flow_id = job_id, None
        self._selection += 1
        self._clear_pause(DebugState.NONE)
        self.breakpoints.set_job(job_id)
        if job_id is not None:
            self._tasks.spawn(
                partial(self._load_selected, job_id, self._selection),
                name="load debug session",
            )

    @Slot(dict)
    def handle_event(self, event: Mapping[str, Any]) -> None:
        """Update the state from one server event."""
        kind = event.get("type")
        job_id = event.get("job_id")
        flow_id = (
            event.get("flow_id") if isinstance(event.get("flow_id"), str) else None
        )
        data = event.get("data") if isinstance(event.get("data"), Mapping) else {}
        if kind == "job_paused" and isinstance(job_id, str):
            self.job_paused.emit(job_id, dict(data))
        if kind in ("breakpoint_hit", "condition_error") or kind in ENDED_EVENTS:
            self.breakpoints.schedule_refresh(flow_id)
        if kind == "condition_error":
            self._report_condition_error(data)
        if job_id is None or job_id != self._job_id or kind not in STATE_EVENTS:
            return

        self._event_serial += 1
        self._flow_id = flow_id or self._flow_id
        if kind == "job_paused":
            self.inspector.load(job_id)
        elif kind == "job_resumed":
            self._set_running()
        else:
            self._clear_pause(DebugState.ENDED)

    @Slot(str)
    def resync(self, _reason: str = "") -> None:
        """Reload everything after the event stream may have missed events."""
        self.breakpoints.refresh_all()
        if self._job_id is not None:
            self._selection += 1
            self._tasks.spawn(
                partial(self._load_selected, self._job_id, self._selection),
                name="reload debug session",
            )

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
            self._tasks.spawn(partial(self._stop, self._job_id), name="cancel job")

    @Slot(int)
    def select_frame(self, index: int) -> None:
        """Show the variables and watch values of frame ``index``."""
        self.inspector.select_frame(index)

    @Slot()
    def evaluate_watches(self) -> None:
        """Evaluate every watch again in the current frame."""
        self.inspector.evaluate_watches()

    @Slot()
    def stop_requests(self) -> None:
        """Start no more requests, here, in the inspector or for breakpoints.

        For a window that is closing: timers and late signals must not start
        work that ``aclose`` would no longer see.
        """
        self._tasks.stop()
        self.inspector.stop_requests()
        self.breakpoints.stop_requests()

    async def aclose(self) -> None:
        """Cancel requests in flight, here, in the inspector and for breakpoints."""
        await asyncio.gather(
            self._tasks.close(), self.inspector.aclose(), self.breakpoints.aclose()
        )

    # -- state changes ------------------------------------------------------------------

    def _set_state(self, state: DebugState) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def _clear_pause(self, state: DebugState) -> None:
        self.inspector.clear()
        self.pause_changed.emit(None)
        self._set_state(state)

    def _set_running(self) -> None:
        # The panes keep the last pause's values, which the views grey out,
        # so stepping does not blank them between two pauses.
        self.inspector.leave()
        self.pause_changed.emit(None)
        self._set_state(DebugState.RUNNING)

    @Slot(object)
    def _apply_session(self, session: PausePoint) -> None:
        if session.paused:
            return  # the job_paused event loads the pause
        if session.status in TERMINAL_STATUSES:
            self._clear_pause(DebugState.ENDED)
        else:
            self._set_running()

    @Slot(object)
    def _on_inspector_pause_loaded(self, session: PausePoint) -> None:
        self.pause_changed.emit(session)
        self._set_state(DebugState.PAUSED)

    def _set_busy(self, busy: bool) -> None:
        self._busy += 1 if busy else -1
        if self._busy in (0, 1):
            self.busy_changed.emit(self._busy > 0)

    @staticmethod
    def _report_condition_error(data: Mapping[str, Any]) -> None:
        notify.warning(
            f"Breakpoint condition failed in {data.get('routine_id', 'a routine')}: "
            f"{data.get('error', 'unknown error')}. The job did not pause there; "
            "edit the condition to fix it."
        )

    # -- background work -----------------------------------------------------------------

    async def _load_selected(self, job_id: str, selection: int) -> None:
        serial = self._event_serial
        try:
            job = await self._debug.api.get_job(job_id)
        except notify.NETWORK_ERRORS as exc:
            logger.info(
                "Couldn't load job %s for the debugger: %s",
                job_id,
                notify.describe(exc),
            )
            return
        if selection != self._selection:
            return
        self._flow_id = job.flow_id
        if serial != self._event_serial:
            return  # an event for this job already set the state
        if job.status in TERMINAL_STATUSES:
            self._set_state(DebugState.ENDED)
        elif job.status == "paused":
            self.inspector.load(job_id)
        else:
            self._set_state(DebugState.RUNNING)

    def _command(self, name: str) -> None:
        if self._job_id is not None:
            self._tasks.spawn(
                partial(self._run_command, self._job_id, name), name=f"debug {name}"
            )

    async def _run_command(self, job_id: str, name: str) -> None:
        serial = self._event_serial
        self._set_busy(True)
        try:
            session = await getattr(self._debug, name)(job_id)
        except notify.NETWORK_ERRORS as exc:
            verb = _COMMAND_VERBS[name]
            notify.error(f"Couldn't {verb} job {job_id}: {notify.describe(exc)}")
            if (
                isinstance(exc, ApiError)
                and exc.status == 409
                and job_id == self._job_id
            ):
                self.resync()
            return
        finally:
            self._set_busy(False)
        # An event that arrived while the request was in flight (the next
        # pause, or the end of the job) is newer than this response.
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
            self._clear_pause(DebugState.ENDED)
