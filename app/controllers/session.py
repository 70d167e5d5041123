"""One connection to a server: its client, event stream, stores and controllers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.controllers import notify
from app.controllers.job_detail import JobDetailController
from app.controllers.job_list import JobListController
from app.controllers.job_subscriptions import JobSubscriptions
from app.models.event_log_model import EventLogModel
from app.models.job_store import JobStore
from app.models.jobs_model import JobsModel
from app.models.records import FlowInfo, JobDetail, JobQuery, ServerInfo
from app.services.api import ApiClient
from app.services.stream import EventStream

logger = logging.getLogger(__name__)

CLOSE_TIMEOUT = 2.0


async def fetch_server_info(api: ApiClient) -> ServerInfo | None:
    """Fetch the discovery document, reporting a failure through notify."""
    try:
        return await api.server_info()
    except notify.NETWORK_ERRORS as exc:
        notify.error(f"Couldn't read the server's identity: {notify.describe(exc)}")
        return None


class Session(QObject):
    """Everything the window shows about one server, wired in one place.

    The session owns the REST client and the event stream and closes both in
    ``aclose``. Live events go to the event log, the jobs list and the job
    detail. On a server that sends events per subscribed job (the stock
    Routilux server), the stream follows the unfinished jobs of the list.
    After a gap in the stream, the jobs list and the detail reload over REST
    and the event log marks the gap.

    Signals:
        server_info_changed(ServerInfo): The server's discovery document.
        flows_changed(list): The server's FlowInfo list.
        load_errors_changed(list): Flow and routine files that failed to load.
    """

    server_info_changed = Signal(object)
    flows_changed = Signal(list)
    load_errors_changed = Signal(list)

    def __init__(
        self,
        api: ApiClient,
        stream: EventStream,
        parent: QObject | None = None,
        *,
        event_capacity: int = 10_000,
        close_timeout: float = CLOSE_TIMEOUT,
    ):
        super().__init__(parent)
        self.api = api
        self.stream = stream
        self.server_info: ServerInfo | None = None
        self.flows: list[FlowInfo] = []

        self.job_store = JobStore(self)
        self.jobs_model = JobsModel(self.job_store, self)
        self.job_list = JobListController(api, self.job_store, self)
        self.job_detail = JobDetailController(api, self)
        self.event_log = EventLogModel(self, capacity=event_capacity)
        self.job_subscriptions = JobSubscriptions(stream, self.job_store, self)
        self._closed = False
        self._closers: list[Callable[[], Awaitable[Any]]] = []
        self._close_timeout = close_timeout

        stream.event_received.connect(self._on_stream_event_received)
        stream.resync_needed.connect(self._on_stream_resync_needed)

    async def start(
        self, query: JobQuery, *, server_info: ServerInfo | None = None
    ) -> None:
        """Read the server's identity and flows, then load jobs and go live.

        A caller that has already fetched the discovery document passes it as
        ``server_info`` so it is not fetched twice.
        """
        if server_info is None:
            server_info = await fetch_server_info(self.api)
        if server_info is not None:
            self._set_server_info(server_info)

        self.job_list.set_query(query)
        self.stream.start()
        await self.refresh_flows()

    async def refresh_flows(self) -> None:
        """Load the flow list again."""
        try:
            flows, errors = await self.api.list_flows()
        except notify.NETWORK_ERRORS as exc:
            notify.error(f"Couldn't load flows: {notify.describe(exc)}")
            return
        self.flows = sorted(flows, key=lambda flow: flow.flow_id)
        self.flows_changed.emit(self.flows)
        self.load_errors_changed.emit(errors)
        for error in errors:
            notify.warning(
                f"Couldn't load {error.kind} file {error.path}: {error.error}"
            )

    def set_query(self, query: JobQuery) -> None:
        """Show the jobs matching ``query``."""
        self.job_list.set_query(query)

    async def submit_job(
        self, flow_id: str, routine_id: str, slot_name: str, params: dict[str, Any]
    ) -> JobDetail:
        """Start a job; errors propagate so the caller can show them in place."""
        job = await self.api.submit_job(flow_id, routine_id, slot_name, params)
        logger.info("Submitted job %s to %s.%s", job.job_id, routine_id, slot_name)
        # The job_started event inserts the row; upserting here as well shows
        # it at once when the event stream is down.
        self.job_store.upsert(job)
        return job

    async def aclose(self) -> None:
        """Stop the stream, cancel requests and close the client, within a time limit."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.wait_for(self._close_all(), self._close_timeout)
        except TimeoutError:
            logger.warning(
                "Closing the session took longer than %.1f s", self._close_timeout
            )

    def add_closer(self, closer: Callable[[], Awaitable[Any]]) -> None:
        """Run ``closer`` first when the session closes (feature sets built on it)."""
        self._closers.append(closer)

    async def _close_all(self) -> None:
        # Feature sets built on the session stop their timers and requests
        # before the stream and the client they use go away.
        results = await asyncio.gather(
            *(closer() for closer in self._closers), return_exceptions=True
        )
        for result in results:
            if isinstance(result, Exception):
                logger.error("Closing a feature failed: %s", result)
        await asyncio.gather(
            self.stream.stop(),
            self.job_list.aclose(),
            self.job_detail.aclose(),
            return_exceptions=True,
        )
        await self.api.aclose()

    def _set_server_info(self, info: ServerInfo) -> None:
        self.server_info = info
        self.stream.set_server_info(info)
        self.job_store.cursor_paging = info.supports("cursor")
        self.job_subscriptions.update_subscriptions()
        self.server_info_changed.emit(info)
        logger.info("Connected to %s %s", info.name, info.version)

    @Slot(dict)
    def _on_stream_event_received(self, event: dict[str, Any]) -> None:
        self.event_log.append_event(event)
        self.job_list.handle_event(event)
        self.job_detail.handle_event(event)

    @Slot(str)
    def _on_stream_resync_needed(self, reason: str) -> None:
        self.event_log.add_gap(reason)
        self.job_list.reload()
        self.job_detail.refresh()
