"""Loads what a paused job shows: its pause point, call stack, variables and watches.

``PauseInspector`` fills the call stack, variables and watch models for one
pause at a time. Every load belongs to a generation. A new pause, a new
frame or the job going on starts a new generation, and a response from an
older one is dropped, so a slow response never overwrites a newer pause.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.controllers import notify
from app.controllers.guarded_tasks import GuardedTasks
from app.models.call_stack_model import CallStackModel
from app.models.debug_records import EvalResult, PausePoint
from app.models.variables_model import VariablesModel
from app.models.watch_model import WatchModel
from app.services.api import ApiError
from app.services.debug_api import DebugApi

logger = logging.getLogger(__name__)


def moved_on(exc: Exception) -> bool:
    """Return whether ``exc`` only reports that the job is no longer paused or running."""
    return isinstance(exc, ApiError) and exc.status == 409


class PauseInspector(QObject):
    """The call stack, variables and watch values of the selected job's pause.

    Signals:
        pause_loaded(PausePoint): A pause was loaded into the models.
        not_paused(PausePoint): A load found the job running or ended.
        frame_changed(int): The frame the variables and watches show.
        variable_edit_failed(str, str): A name and why its change failed.
    """

    pause_loaded = Signal(object)
    not_paused = Signal(object)
    frame_changed = Signal(int)
    variable_edit_failed = Signal(str, str)

    def __init__(
        self,
        debug_api: DebugApi,
        parent: QObject | None = None,
        *,
        watch_model: WatchModel | None = None,
    ):
        super().__init__(parent)
        self._debug = debug_api
        self.variables_model = VariablesModel(self)
        self.call_stack_model = CallStackModel(self)
        self.watch_model = watch_model if watch_model is not None else WatchModel(self)
        if self.watch_model.parent() is None:
            self.watch_model.setParent(self)
        self._tasks = GuardedTasks()
        self._job_id: str | None = None
        self._pause: PausePoint | None = None
        self._frame = 0
        self._generation = 0

        self.variables_model.fetch_requested.connect(self._on_variables_fetch_requested)
        self.variables_model.edit_requested.connect(self._on_variables_edit_requested)
        self.variables_model.edit_failed.connect(self._on_variables_edit_failed)
        self.watch_model.watch_changed.connect(self._on_watch_changed)

    @property
    def pause(self) -> PausePoint | None:
        """The pause shown in the models, or None."""
        return self._pause

    @property
    def frame_index(self) -> int:
        """The frame whose variables and watches are shown."""
        return self._frame

    def load(self, job_id: str) -> None:
        """Load the current pause of ``job_id``, replacing any earlier load."""
        self._job_id = job_id
        self._generation += 1
        self._tasks.spawn(
            partial(self._load_pause, job_id, self._generation), name="load pause"
        )

    async def load_now(self, job_id: str) -> None:
        """Load the current pause of ``job_id`` and return when it is shown."""
        self._job_id = job_id
        self._generation += 1
        await self._load_pause(job_id, self._generation)

    def leave(self) -> None:
        """Forget the pause because the job goes on; the models keep the last values."""
        self._generation += 1
        self._pause = None

    def clear(self) -> None:
        """Forget the pause and empty the models."""
        self.leave()
        self._frame = 0
        self.variables_model.clear()
        self.call_stack_model.clear()
        self.watch_model.clear_results()

    def select_frame(self, index: int) -> None:
        """Show the variables and watch values of frame ``index``."""
        if (
            self._pause is None
            or self._job_id is None
            or index == self._frame
            or index < 0
        ):
            return
        self._frame = index
        self.call_stack_model.set_current_frame(index)
        self.frame_changed.emit(index)
        self._tasks.spawn(
            partial(self._load_frame, self._job_id, index, self._generation),
            name="load frame",
        )

    def evaluate_watches(self) -> None:
        """Evaluate every watch again in the current frame."""
        if self._pause is not None and self._job_id is not None:
            self._tasks.spawn(
                partial(
                    self._evaluate_watches, self._job_id, self._frame, self._generation
                ),
                name="evaluate watches",
            )

    def stop_requests(self) -> None:
        """Start no more requests."""
        self._tasks.stop()

    async def aclose(self) -> None:
        """Cancel requests in flight."""
        await self._tasks.close()

    # -- loading ------------------------------------------------------------------

    async def _load_pause(self, job_id: str, generation: int) -> None:
        try:
            session, frames, variables = await asyncio.gather(
                self._debug.session(job_id),
                self._debug.call_stack(job_id),
                self._debug.variables(job_id, 0),
            )
        except notify.NETWORK_ERRORS as exc:
            if generation == self._generation and not moved_on(exc):
                notify.error(
                    f"Couldn't load the pause of job {job_id}: {notify.describe(exc)}"
                )
            return
        if generation != self._generation:
            return
        if not session.paused:
            self.not_paused.emit(session)
            return

        self._pause, self._frame = session, 0
        self.call_stack_model.set_frames(frames)
        self.variables_model.set_variables(variables, 0)
        self.pause_loaded.emit(session)
        self.frame_changed.emit(0)
        await self._evaluate_watches(job_id, 0, generation)

    async def _load_frame(self, job_id: str, index: int, generation: int) -> None:
        try:
            variables = await self._debug.variables(job_id, index)
        except notify.NETWORK_ERRORS as exc:
            if generation == self._generation and not moved_on(exc):
                notify.error(
                    f"Couldn't load the variables of frame {index}: {notify.describe(exc)}"
                )
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
        """Evaluate ``expression``; a refused request becomes the result's error."""
        try:
            return await self._debug.evaluate(job_id, expression, frame)
        except notify.NETWORK_ERRORS as exc:
            return EvalResult.failed(notify.describe(exc))

    async def _set_variable(
        self, job_id: str, name: str, value: Any, generation: int
    ) -> None:
        try:
            await self._debug.set_variable(job_id, name, value)
        except notify.NETWORK_ERRORS as exc:
            message = notify.describe(exc)
            notify.error(f"Couldn't change {name}: {message}")
            self.variable_edit_failed.emit(name, message)
            return
        logger.info("Changed %s in paused job %s", name, job_id)
        # The change shows in other names too (``data``, the frame's data),
        # so the whole pause is loaded again.
        if generation == self._generation:
            await self.load_now(job_id)

    # -- requests from the models -----------------------------------------------------

    @Slot(int, str)
    def _on_variables_fetch_requested(self, request_id: int, expression: str) -> None:
        if self._job_id is None or self._pause is None:
            self.variables_model.supply(
                request_id, EvalResult.failed("The job is not paused")
            )
            return
        frame = self.variables_model.frame_index
        self._tasks.spawn(
            partial(self._fetch, self._job_id, request_id, expression, frame),
            name="expand value",
        )

    async def _fetch(
        self, job_id: str, request_id: int, expression: str, frame: int
    ) -> None:
        result = await self._evaluate(job_id, expression, frame)
        self.variables_model.supply(request_id, result)

    @Slot(str, object)
    def _on_variables_edit_requested(self, name: str, value: Any) -> None:
        if self._job_id is None or self._pause is None or self._frame != 0:
            self.variable_edit_failed.emit(
                name, "only the data of a paused job's frame 0 can be changed"
            )
            return
        self._tasks.spawn(
            partial(self._set_variable, self._job_id, name, value, self._generation),
            name="set variable",
        )

    @Slot(str, str)
    def _on_variables_edit_failed(self, name: str, message: str) -> None:
        notify.warning(f"Couldn't change {name}: {message}")
        self.variable_edit_failed.emit(name, message)

    @Slot(int, str)
    def _on_watch_changed(self, row: int, expression: str) -> None:
        if self._job_id is None or self._pause is None:
            return
        self.watch_model.set_pending(row)
        self._tasks.spawn(
            partial(
                self._evaluate_watch,
                self._job_id,
                row,
                expression,
                self._frame,
                self._generation,
            ),
            name="evaluate watch",
        )

    async def _evaluate_watch(
        self, job_id: str, row: int, expression: str, frame: int, generation: int
    ) -> None:
        result = await self._evaluate(job_id, expression, frame)
        if generation == self._generation and frame == self._frame:
            self.watch_model.set_result(row, expression, result)
