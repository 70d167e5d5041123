"""Loads the selected job's detail, trace and output, and refreshes them live."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.controllers import notify
from app.controllers.tasks import TaskSet
from app.models.records import JobDetail
from app.models.trace_model import TraceModel
from app.services.api import ApiClient

logger = logging.getLogger(__name__)

CANCELLABLE_STATUSES = frozenset({"pending", "running", "paused"})


class JobDetailController(QObject):
    """State of the job detail pane for the selected job.

    The first event for the selected job starts a short single-shot timer,
    and later events wait for it, so a burst of events costs one refresh.
    When it fires, the detail, trace and output are fetched again together.
    A response for a job that is no longer selected is dropped.

    Signals:
        job_changed(object): The selected JobDetail, or None.
        output_changed(object): The selected job's JobOutput, or None.
        loading_changed(bool): Whether a refresh is in flight.
        load_failed(str): A refresh failed. The argument describes the error.
        job_submitted(object): A re-run started; the new JobDetail.
    """

    job_changed = Signal(object)
    output_changed = Signal(object)
    loading_changed = Signal(bool)
    load_failed = Signal(str)
    job_submitted = Signal(object)

    def __init__(
        self,
        api: ApiClient,
        parent: QObject | None = None,
        *,
        debounce_ms: int = 300,
        select_delay_ms: int = 80,
    ):
        super().__init__(parent)
        self._api = api
        self._job_id: str | None = None
        self._job: JobDetail | None = None
        self._generation = 0
        self._tasks = TaskSet()
        self.trace_model = TraceModel(self)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(debounce_ms)
        self._refresh_timer.timeout.connect(self.refresh)
        # Holding an arrow key in the jobs table changes the selection many
        # times a second, so a selection loads only after it stays put briefly.
        self._select_timer = QTimer(self)
        self._select_timer.setSingleShot(True)
        self._select_timer.setInterval(select_delay_ms)
        self._select_timer.timeout.connect(self.refresh)

    @property
    def job_id(self) -> str | None:
        """Id of the selected job."""
        return self._job_id

    @property
    def job(self) -> JobDetail | None:
        """Last loaded detail of the selected job."""
        return self._job

    @property
    def can_cancel(self) -> bool:
        """Whether the selected job is in a state that can be cancelled."""
        return self._job is not None and self._job.status in CANCELLABLE_STATUSES

    def select_job(self, job_id: str | None) -> None:
        """Show ``job_id``, or nothing for None."""
        if job_id == self._job_id:
            return
        self._job_id = job_id
        self._job = None
        self._generation += 1
        self._refresh_timer.stop()
        self.trace_model.clear()
        self.job_changed.emit(None)
        self.output_changed.emit(None)
        if job_id is None:
            self._select_timer.stop()
        else:
            self._select_timer.start()

    def handle_event(self, event: Mapping[str, Any]) -> None:
        """Schedule a refresh when an event concerns the selected job."""
        if self._job_id is not None and event.get("job_id") == self._job_id:
            if not self._refresh_timer.isActive():
                self._refresh_timer.start()

    @Slot()
    def refresh(self) -> None:
        """Fetch the selected job's detail, trace and output again."""
        if self._job_id is None:
            return
        self._refresh_timer.stop()
        self._select_timer.stop()
        self._tasks.spawn(
            self._load(self._job_id, self._generation), name="load job detail"
        )

    async def cancel_job(self) -> None:
        """Cancel the selected job; failures are reported through notify."""
        job_id = self._job_id
        if job_id is None:
            return
        try:
            job = await self._api.cancel_job(job_id)
        except notify.NETWORK_ERRORS as exc:
            notify.error(f"Couldn't cancel job {job_id}: {notify.describe(exc)}")
            return
        notify.info(f"Cancelled job {job_id}")
        if job_id == self._job_id:
            self._set_job(job)
            self.refresh()

    async def rerun_job(self) -> JobDetail | None:
        """Start a new job with the selected job's entry point and params."""
        job = self._job
        if job is None or not job.routine_id or not job.slot_name:
            notify.warning("Couldn't re-run the job: its entry routine is unknown")
            return None
        try:
            new_job = await self._api.submit_job(
                job.flow_id, job.routine_id, job.slot_name, dict(job.params)
            )
        except notify.NETWORK_ERRORS as exc:
            notify.error(f"Couldn't re-run job {job.job_id}: {notify.describe(exc)}")
            return None
        notify.info(f"Started job {new_job.job_id} with the params of {job.job_id}")
        self.job_submitted.emit(new_job)
        return new_job

    async def aclose(self) -> None:
        """Stop the timers and cancel requests in flight."""
        self._refresh_timer.stop()
        self._select_timer.stop()
        await self._tasks.close()

    async def _load(self, job_id: str, generation: int) -> None:
        self.loading_changed.emit(True)
        try:
            results = await asyncio.gather(
                self._api.get_job(job_id),
                self._api.get_trace(job_id),
                self._api.get_output(job_id),
                return_exceptions=True,
            )
        finally:
            self.loading_changed.emit(False)

        if generation != self._generation:
            logger.debug(
                "Dropping detail of job %s, which is no longer selected", job_id
            )
            return
        for result in results:
            if isinstance(result, notify.NETWORK_ERRORS):
                text = f"Couldn't load job {job_id}: {notify.describe(result)}"
                notify.error(text)
                self.load_failed.emit(text)
                return
            if isinstance(result, BaseException):
                raise result

        job, trace, output = results
        self._set_job(job)
        self.trace_model.set_entries(trace, job.started_at or job.created_at)
        self.output_changed.emit(output)

    def _set_job(self, job: JobDetail) -> None:
        self._job = job
        self.job_changed.emit(job)
