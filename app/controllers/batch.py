"""Runs batch actions (cancel, re-run, delete) on many jobs with progress and stop.

On the embedded server, cancel and delete go to ``POST /jobs/batch``: a
filter is one request, chosen rows go in chunks so the progress bar moves
and a stop takes effect between chunks. Re-run, and every action on a stock
Routilux server, is one request per job with a bounded number in flight;
a stop lets the requests in flight finish and starts no more, so the result
stays exact.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from app.controllers import notify
from app.controllers.tasks import TaskSet
from app.models.batch import BatchAction, BatchFailure, BatchResult, BatchSelection
from app.models.records import ServerInfo
from app.services.api import ApiError
from app.services.batch_api import BatchApi

logger = logging.getLogger(__name__)

CONCURRENCY = 8
CHUNK_SIZE = 500
MAX_JOBS = 100_000


class _Unsupported(Exception):
    """The server has no route for the action."""


@dataclass
class _Tally:
    done: int = 0
    succeeded: int = 0
    refused: str | None = None


def _route_missing(exc: ApiError) -> bool:
    """Return whether an error means the route does not exist, not the job."""
    return exc.status == 405 or (exc.status == 404 and exc.code == "NOT_FOUND")


class BatchRunner(QObject):
    """Runs one batch at a time and reports its progress and result.

    Signals:
        progress(int, int): Jobs done and the total; a total of 0 means the
            work is one request whose progress is unknown.
        finished(object): The BatchResult.
        running_changed(bool): Whether a batch runs.
    """

    progress = Signal(int, int)
    finished = Signal(object)
    running_changed = Signal(bool)

    def __init__(
        self,
        api: BatchApi,
        parent: QObject | None = None,
        *,
        concurrency: int = CONCURRENCY,
        chunk_size: int = CHUNK_SIZE,
        max_jobs: int = MAX_JOBS,
    ):
        super().__init__(parent)
        self._api = api
        self._concurrency = concurrency
        self._chunk_size = chunk_size
        self._max_jobs = max_jobs
        self._tasks = TaskSet()
        self._running = False
        self._stop_requested = False
        self._single_request: asyncio.Future[BatchResult] | None = None
        self.server_info: ServerInfo | None = None

    @property
    def running(self) -> bool:
        """Whether a batch runs."""
        return self._running

    def start(self, action: BatchAction, selection: BatchSelection) -> bool:
        """Start a batch; return False when one is already running."""
        if self._running:
            return False
        self._stop_requested = False
        self._set_running(True)
        self._tasks.spawn(self._run(action, selection), name=f"batch {action.value}")
        return True

    def stop(self) -> None:
        """Start no more work; a single server request in flight is abandoned."""
        if not self._running:
            return
        self._stop_requested = True
        if self._single_request is not None:
            self._single_request.cancel()

    async def aclose(self) -> None:
        """Cancel a running batch."""
        await self._tasks.close()

    # -- running ------------------------------------------------------------

    async def _run(self, action: BatchAction, selection: BatchSelection) -> None:
        try:
            result = await self._dispatch(action, selection)
        except notify.NETWORK_ERRORS as exc:
            result = BatchResult(
                action, matched=selection.expected, refused=notify.describe(exc)
            )
        finally:
            self._set_running(False)
        logger.info("Batch %s: %s", action.value, result.summary())
        self.finished.emit(result)

    async def _dispatch(
        self, action: BatchAction, selection: BatchSelection
    ) -> BatchResult:
        info = self.server_info
        on_server = action is not BatchAction.RERUN and not (info and info.is_stock)
        if on_server:
            try:
                return await self._on_server(action, selection)
            except ApiError as exc:
                if not _route_missing(exc):
                    raise
                logger.info("No batch route on the server; acting job by job")
        return await self._per_job(action, selection)

    async def _on_server(
        self, action: BatchAction, selection: BatchSelection
    ) -> BatchResult:
        if selection.query is not None:
            return await self._one_request(action, selection)
        ids = list(selection.job_ids)
        result = BatchResult(action)
        self.progress.emit(0, len(ids))
        for start in range(0, len(ids), self._chunk_size):
            if self._stop_requested:
                left = len(ids) - start
                return result.merged(
                    BatchResult(action, matched=left, not_attempted=left, stopped=True)
                )
            chunk = ids[start : start + self._chunk_size]
            result = result.merged(await self._api.batch(action, job_ids=chunk))
            self.progress.emit(min(start + len(chunk), len(ids)), len(ids))
        return result

    async def _one_request(
        self, action: BatchAction, selection: BatchSelection
    ) -> BatchResult:
        self.progress.emit(0, 0)
        request = asyncio.ensure_future(self._api.batch(action, query=selection.query))
        self._single_request = request
        try:
            result = await request
        except asyncio.CancelledError:
            if not (request.cancelled() and self._stop_requested):
                raise
            return BatchResult(
                action,
                matched=selection.expected,
                not_attempted=selection.expected,
                stopped=True,
                uncertain=True,
            )
        finally:
            self._single_request = None
        self.progress.emit(result.matched, result.matched)
        return result

    async def _per_job(
        self, action: BatchAction, selection: BatchSelection
    ) -> BatchResult:
        ids = list(selection.job_ids)
        if selection.query is not None:
            self.progress.emit(0, 0)
            cursor = bool(self.server_info and self.server_info.supports("cursor"))
            ids = await self._api.list_job_ids(
                selection.query, cursor_paging=cursor, limit=self._max_jobs
            )
        tally = _Tally()
        failures: list[BatchFailure] = []
        pending = iter(ids)
        self.progress.emit(0, len(ids))

        async def work() -> None:
            for job_id in pending:
                if self._stop_requested or tally.refused:
                    return
                try:
                    failure = await self._apply(action, job_id)
                except _Unsupported as exc:
                    tally.refused = str(exc)
                    return
                tally.done += 1
                if failure is None:
                    tally.succeeded += 1
                else:
                    failures.append(failure)
                self.progress.emit(tally.done, len(ids))

        workers = min(self._concurrency, len(ids))
        await asyncio.gather(*(work() for _ in range(workers)))
        left = len(ids) - tally.done
        return BatchResult(
            action,
            matched=len(ids),
            succeeded=tally.succeeded,
            failed=tuple(failures),
            not_attempted=left,
            stopped=self._stop_requested and left > 0,
            refused=tally.refused,
        )

    async def _apply(self, action: BatchAction, job_id: str) -> BatchFailure | None:
        """Apply ``action`` to one job; return its failure, or None on success."""
        try:
            if action is BatchAction.CANCEL:
                await self._api.cancel_job(job_id)
            elif action is BatchAction.DELETE:
                await self._api.delete_job(job_id)
            else:
                return await self._rerun(job_id)
        except ApiError as exc:
            if _route_missing(exc):
                raise _Unsupported(
                    f"the server cannot {action.title.lower()} jobs ({exc.message})"
                ) from exc
            return _failure(action, job_id, exc)
        except notify.NETWORK_ERRORS as exc:
            return BatchFailure(job_id, "error", notify.describe(exc))
        return None

    async def _rerun(self, job_id: str) -> BatchFailure | None:
        job = await self._api.get_job(job_id)
        if not job.routine_id or not job.slot_name:
            return BatchFailure(
                job_id, "no_entry_point", "The server did not say where the job started"
            )
        await self._api.submit_job(
            job.flow_id, job.routine_id, job.slot_name, dict(job.params)
        )
        return None

    def _set_running(self, running: bool) -> None:
        if running != self._running:
            self._running = running
            self.running_changed.emit(running)


def _failure(action: BatchAction, job_id: str, exc: ApiError) -> BatchFailure:
    """Translate a per-job error into the reasons the batch route uses."""
    if exc.code == "JOB_NOT_FOUND":
        return BatchFailure(job_id, "not_found", exc.message)
    if exc.status == 409 and action is BatchAction.CANCEL:
        status = exc.details.get("status") if isinstance(exc.details, dict) else None
        return BatchFailure(job_id, "already_finished", exc.message, status)
    if exc.status == 409 and action is BatchAction.DELETE:
        return BatchFailure(job_id, "not_finished", exc.message)
    return BatchFailure(job_id, exc.code.lower(), notify.describe(exc))
