"""Flow versions for the views: lists, DSL texts, and the version a job ran on.

On the embedded server the history comes from its versions routes. On a
stock server the controller records each flow's DSL in a LocalFlowHistory
whenever it reads it (when the flow list loads and when versions are
shown), and jobs have no known version.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from app.controllers import notify
from app.controllers.tasks import TaskSet
from app.models.flow_versions import FlowVersion, FlowVersionList, LocalFlowHistory
from app.models.records import FlowInfo, JobDetail, ServerInfo
from app.services.api import ApiError
from app.services.versions_api import VersionsApi

logger = logging.getLogger(__name__)

# Seconds a flow's current version is cached. The server reloads edited flow
# files on its own, so the current version can change at any time.
CURRENT_TTL_S = 10.0


@dataclass(frozen=True)
class JobVersion:
    """The flow version a job ran on, next to the flow's current one.

    Attributes:
        recorded: whether the server records versions at all; False for a
            stock server, where ``version`` is always None.
    """

    job_id: str
    flow_id: str
    version: int | None
    current: int | None
    recorded: bool = True

    @property
    def outdated(self) -> bool:
        """Whether the job ran on a version that is no longer current."""
        return (
            self.version is not None
            and self.current is not None
            and self.version != self.current
        )


class FlowVersionsController(QObject):
    """Loads flow versions and follows the version of the job on display.

    Signals:
        job_version_changed(object): The JobVersion of the shown job, or None.
        flow_changed(str): A flow's current version differs from the one seen
            before, so the server reloaded its file.
    """

    job_version_changed = Signal(object)
    flow_changed = Signal(str)

    def __init__(
        self,
        api: VersionsApi,
        parent: QObject | None = None,
        *,
        history: LocalFlowHistory | None = None,
        current_ttl_s: float = CURRENT_TTL_S,
    ):
        super().__init__(parent)
        self._api = api
        self._history = history or LocalFlowHistory.for_server(api.api.base_url)
        self._ttl = current_ttl_s
        self._tasks = TaskSet()
        self._info: ServerInfo | None = None
        self._job_versions: dict[str, int | None] = {}
        self._currents: dict[str, tuple[int | None, float]] = {}
        self._dsl: dict[tuple[str, int], str] = {}
        self._shown_job: str | None = None

    @property
    def is_local(self) -> bool:
        """Whether versions come from the app's own history (a stock server)."""
        return bool(self._info and self._info.is_stock)

    @property
    def history(self) -> LocalFlowHistory:
        """The local history used for stock servers."""
        return self._history

    def set_server_info(self, info: ServerInfo) -> None:
        """Use the server's identity to choose between its history and the local one."""
        self._info = info

    async def versions(self, flow_id: str) -> FlowVersionList:
        """Return a flow's versions, newest first."""
        if self.is_local:
            self._history.record(flow_id, await self._api.get_dsl(flow_id))
            listing = self._history.versions(flow_id)
        else:
            listing = await self._api.list_versions(flow_id)
        self._remember_current(flow_id, listing.current_version)
        return listing

    async def dsl(self, flow_id: str, version: int) -> str:
        """Return the YAML text of one version; versions never change, so it is cached."""
        key = (flow_id, version)
        if key not in self._dsl:
            if self.is_local:
                found = self._history.get(flow_id, version)
                if found is None or found.dsl is None:
                    raise LookupError(f"no local version {version} of flow {flow_id}")
                self._dsl[key] = found.dsl
            else:
                loaded: FlowVersion = await self._api.get_version(flow_id, version)
                self._dsl[key] = loaded.dsl or ""
        return self._dsl[key]

    def record_flows(self, flows: Sequence[FlowInfo]) -> None:
        """On a stock server, record the DSL of each flow in the local history."""
        if self.is_local:
            self._tasks.spawn(
                self._record_all([f.flow_id for f in flows]), name="record flow DSL"
            )

    def show_job(self, job: JobDetail | None) -> None:
        """Find the version of the job on display and emit ``job_version_changed``."""
        if job is None:
            self._shown_job = None
            self.job_version_changed.emit(None)
            return
        self._shown_job = job.job_id
        self._tasks.spawn(self._look_up(job), name="look up job flow version")

    async def aclose(self) -> None:
        """Cancel requests in flight."""
        await self._tasks.close()

    async def _record_all(self, flow_ids: list[str]) -> None:
        for flow_id in flow_ids:
            try:
                self._history.record(flow_id, await self._api.get_dsl(flow_id))
            except notify.NETWORK_ERRORS as exc:
                logger.warning("Couldn't record the DSL of flow %s: %s", flow_id, exc)

    async def _look_up(self, job: JobDetail) -> None:
        if self.is_local:
            result = JobVersion(job.job_id, job.flow_id, None, None, recorded=False)
        else:
            try:
                version = await self._job_version(job)
                current = await self._current(job.flow_id)
            except notify.NETWORK_ERRORS as exc:
                logger.warning(
                    "Couldn't read the flow version of job %s: %s", job.job_id, exc
                )
                return
            result = JobVersion(job.job_id, job.flow_id, version, current)
        if job.job_id == self._shown_job:
            self.job_version_changed.emit(result)

    async def _job_version(self, job: JobDetail) -> int | None:
        if job.job_id not in self._job_versions:
            self._job_versions[job.job_id] = await self._api.job_flow_version(
                job.job_id
            )
        return self._job_versions[job.job_id]

    async def _current(self, flow_id: str) -> int | None:
        cached = self._currents.get(flow_id)
        if cached is not None and time.monotonic() - cached[1] < self._ttl:
            return cached[0]
        try:
            listing = await self._api.list_versions(flow_id)
        except ApiError as exc:
            if exc.status != 404:
                raise
            current = None
        else:
            current = listing.current_version
        self._remember_current(flow_id, current)
        return current

    def _remember_current(self, flow_id: str, current: int | None) -> None:
        previous = self._currents.get(flow_id)
        self._currents[flow_id] = (current, time.monotonic())
        if previous is not None and previous[0] != current:
            logger.info("Flow %s now runs version %s", flow_id, current)
            self.flow_changed.emit(flow_id)
