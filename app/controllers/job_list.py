"""Fills the JobStore from the server: filtered pages and live job events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QObject, Slot

from app.controllers import notify
from app.controllers.tasks import TaskSet
from app.models.job_store import JobStore
from app.models.records import JobQuery, JobSummary
from app.services.api import ApiClient

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
JOB_EVENT_TYPES = frozenset(
    {
        "job_started",
        "job_completed",
        "job_failed",
        "job_cancelled",
        "job_paused",
        "job_resumed",
    }
)


class JobListController(QObject):
    """Loads pages of jobs into a JobStore and applies live job events.

    A new query resets the store and cancels the request in flight. The
    store's generation check drops any page that still arrives for an older
    query. Further pages load when the view calls ``fetchMore``.
    """

    def __init__(
        self,
        api: ApiClient,
        store: JobStore,
        parent: QObject | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ):
        super().__init__(parent)
        self._api = api
        self._store = store
        self._page_size = page_size
        self._tasks = TaskSet()
        self._current: asyncio.Task[Any] | None = None
        store.fetch_more_requested.connect(self._on_store_fetch_more_requested)

    @property
    def store(self) -> JobStore:
        """Store this controller fills."""
        return self._store

    def set_query(self, query: JobQuery) -> None:
        """Show the jobs matching ``query``, starting from the first page."""
        if self._current is not None:
            self._current.cancel()
        generation = self._store.reset(query)
        self._start_fetch(generation, cursor=None, offset=0)

    def reload(self) -> None:
        """Load the current query again from the first page."""
        self.set_query(self._store.query)

    def handle_event(self, event: Mapping[str, Any]) -> None:
        """Apply a live event; job events carry the job's new summary."""
        if event.get("type") not in JOB_EVENT_TYPES:
            return
        data = event.get("data")
        raw_job = data.get("job") if isinstance(data, Mapping) else None
        if not isinstance(raw_job, Mapping):
            return
        try:
            job = JobSummary.from_json(raw_job)
        except ValueError as exc:
            logger.warning(
                "Ignoring %s event with an invalid job: %s", event.get("type"), exc
            )
            return
        self._store.upsert(job)

    async def aclose(self) -> None:
        """Cancel requests in flight."""
        await self._tasks.close()

    @Slot()
    def _on_store_fetch_more_requested(self) -> None:
        if self._store.loading or not self._store.has_more:
            return
        cursor = self._store.next_cursor if self._store.cursor_paging else None
        self._start_fetch(
            self._store.generation, cursor=cursor, offset=self._store.next_offset
        )

    def _start_fetch(self, generation: int, *, cursor: str | None, offset: int) -> None:
        # Mark the store busy before the task starts, so a second fetchMore
        # from the same layout pass does not ask for the same page twice.
        self._store.set_loading(generation, True)
        self._current = self._tasks.spawn(
            self._fetch_page(generation, cursor, offset), name="load jobs page"
        )

    async def _fetch_page(
        self, generation: int, cursor: str | None, offset: int
    ) -> None:
        query = self._store.query
        try:
            page = await self._api.list_jobs(
                query, limit=self._page_size, offset=offset, cursor=cursor
            )
        except notify.NETWORK_ERRORS as exc:
            if generation == self._store.generation:
                self._store.stop_paging(generation)
                notify.error(f"Couldn't load jobs: {notify.describe(exc)}")
            return
        finally:
            self._store.set_loading(generation, False)

        logger.debug(
            "< jobs page: %d jobs at offset %d of %d",
            len(page.jobs),
            offset,
            page.total,
        )
        self._store.add_page(generation, page)
