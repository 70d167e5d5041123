"""Keeps the breakpoints model in step with the server: load, create, edit, toggle, delete."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.controllers import notify
from app.controllers.guarded_tasks import GuardedTasks
from app.models.breakpoints_model import BreakpointsModel
from app.models.debug_records import BreakpointInfo, BreakpointPlace, BreakpointSpec
from app.models.records import FlowInfo, ServerInfo
from app.services.debug_api import DebugApi

logger = logging.getLogger(__name__)


class BreakpointsController(QObject):
    """Flow breakpoints of every known flow, plus the selected job's own breakpoints.

    Hit counts and condition errors change on the server while jobs run, so
    ``schedule_refresh`` (called for ``breakpoint_hit``, ``condition_error``
    and the end of a job) reloads a flow's breakpoints after a short delay,
    once per burst of events.

    Signals:
        toggled(object, bool): A place and whether it now has a breakpoint.
    """

    toggled = Signal(object, bool)

    def __init__(
        self,
        debug_api: DebugApi,
        parent: QObject | None = None,
        *,
        refresh_delay_ms: int = 300,
    ):
        super().__init__(parent)
        self._debug = debug_api
        self.model = BreakpointsModel(self)
        self._flows: dict[str, FlowInfo] = {}
        self._job_id: str | None = None
        self._dirty: set[str] = set()
        self._flow_breakpoints = True
        # Local changes per flow; a list that was requested before a change
        # is stale and must not undo it.
        self._changes: dict[str, int] = {}
        self._tasks = GuardedTasks()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(refresh_delay_ms)
        self._refresh_timer.timeout.connect(self._on_refresh_timer_timeout)
        self.model.enabled_change_requested.connect(
            self._on_model_enabled_change_requested
        )

    @property
    def flows(self) -> dict[str, FlowInfo]:
        """The flows breakpoints can be set in, by id."""
        return dict(self._flows)

    @property
    def job_id(self) -> str | None:
        """The job whose own breakpoints are shown."""
        return self._job_id

    @Slot(list)
    def set_flows(self, flows: Iterable[FlowInfo]) -> None:
        """Show the flow breakpoints of ``flows`` and drop those of other flows."""
        self._flows = {flow.flow_id: flow for flow in flows}
        self.model.replace_where(
            lambda item: item.job_id is None and item.flow_id not in self._flows, []
        )
        self.refresh_all()

    def set_job(self, job_id: str | None) -> None:
        """Show the own breakpoints of ``job_id`` instead of the previous job's."""
        if job_id == self._job_id:
            return
        self._job_id = job_id
        self.model.replace_where(lambda item: item.job_id is not None, [])
        if job_id is not None:
            self._tasks.spawn(
                partial(self._load_job, job_id), name="load job breakpoints"
            )

    def refresh_all(self) -> None:
        """Reload the breakpoints of every flow and of the selected job."""
        self._dirty.update(self._flows)
        self._refresh_timer.stop()
        self._on_refresh_timer_timeout()
        if self._job_id is not None:
            self._tasks.spawn(
                partial(self._load_job, self._job_id), name="load job breakpoints"
            )

    def schedule_refresh(self, flow_id: str | None) -> None:
        """Reload ``flow_id``'s breakpoints soon, if it has any."""
        has_any = any(item.flow_id == flow_id for item in self.model.breakpoints())
        if not flow_id or not has_any:
            return
        self._dirty.add(flow_id)
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    async def create(
        self, spec: BreakpointSpec, *, flow_id: str, job_id: str | None = None
    ) -> BreakpointInfo:
        """Create a breakpoint for every job of ``flow_id``, or for ``job_id`` only.

        Raises:
            ApiError: the server rejected it; a 422 names the field and column.
            ServerUnreachable: the server did not respond.
        """
        if job_id is not None:
            item = await self._debug.create_job_breakpoint(job_id, spec)
        else:
            item = await self._debug.create_flow_breakpoint(flow_id, spec)
        self._changed(item.flow_id)
        if item.job_id is None or item.job_id == self._job_id:
            self.model.upsert(item)
        logger.info(
            "Added breakpoint %s at %s", item.breakpoint_id, item.place().describe()
        )
        return item

    async def update(self, item: BreakpointInfo, **changes: Any) -> BreakpointInfo:
        """Change ``item``'s condition, hit condition, log message or enabled state.

        Raises:
            ApiError: the server rejected the change.
            ServerUnreachable: the server did not respond.
        """
        updated = await self._debug.update_breakpoint(item, **changes)
        self._changed(item.flow_id)
        self.model.upsert(updated)
        return updated

    async def delete(self, item: BreakpointInfo) -> bool:
        """Remove ``item``; a failure is reported through notify."""
        try:
            await self._debug.delete_breakpoint(item)
        except notify.NETWORK_ERRORS as exc:
            if getattr(exc, "status", None) != 404:
                notify.error(
                    f"Couldn't remove the breakpoint at {item.place().describe()}: {notify.describe(exc)}"
                )
                return False
        self._changed(item.flow_id)
        self.model.remove(item.breakpoint_id)
        return True

    def delete_later(self, items: Iterable[BreakpointInfo]) -> None:
        """Remove ``items`` in the background."""
        for item in list(items):
            self._tasks.spawn(partial(self.delete, item), name="delete breakpoint")

    def toggle(self, place: BreakpointPlace) -> None:
        """Remove the flow breakpoint at ``place``, or add one when there is none."""
        self._tasks.spawn(partial(self._toggle, place), name="toggle breakpoint")

    def stop_requests(self) -> None:
        """Stop the refresh timer and start no more requests."""
        self._refresh_timer.stop()
        self._tasks.stop()

    async def aclose(self) -> None:
        """Stop the refresh timer and cancel requests in flight."""
        self._refresh_timer.stop()
        await self._tasks.close()

    # -- background work ------------------------------------------------------

    async def _toggle(self, place: BreakpointPlace) -> None:
        existing = self.model.find_place(place)
        if existing is not None:
            if await self.delete(existing):
                self.toggled.emit(place, False)
            return
        spec = BreakpointSpec(place.routine_id, place.kind, place.port)
        try:
            await self.create(spec, flow_id=place.flow_id)
        except notify.NETWORK_ERRORS as exc:
            notify.error(
                f"Couldn't add a breakpoint at {place.describe()}: {notify.describe(exc)}"
            )
            return
        self.toggled.emit(place, True)

    @Slot(object)
    def set_server_info(self, info: ServerInfo | None) -> None:
        """Load flow breakpoints only from servers that have them (not the stock one)."""
        self._flow_breakpoints = info is None or info.supports("flow_breakpoints")

    @Slot()
    def _on_refresh_timer_timeout(self) -> None:
        flows, self._dirty = sorted(self._dirty), set()
        if flows and self._flow_breakpoints:
            self._tasks.spawn(
                partial(self._load_flows, flows), name="load flow breakpoints"
            )

    def _changed(self, flow_id: str) -> None:
        self._changes[flow_id] = self._changes.get(flow_id, 0) + 1

    async def _load_flows(self, flow_ids: list[str]) -> None:
        before = {flow_id: self._changes.get(flow_id, 0) for flow_id in flow_ids}
        results = await asyncio.gather(
            *(self._debug.list_flow_breakpoints(flow_id) for flow_id in flow_ids),
            return_exceptions=True,
        )
        for flow_id, result in zip(flow_ids, results, strict=True):
            if isinstance(result, notify.NETWORK_ERRORS):
                notify.warning(
                    f"Couldn't load the breakpoints of flow {flow_id}: {notify.describe(result)}"
                )
                continue
            if isinstance(result, BaseException):
                raise result
            if self._changes.get(flow_id, 0) != before[flow_id]:
                self.schedule_refresh(flow_id)
            elif flow_id in self._flows:
                self.model.replace_where(
                    lambda item, flow=flow_id: (
                        item.job_id is None and item.flow_id == flow
                    ),
                    result,
                )

    async def _load_job(self, job_id: str) -> None:
        try:
            items = await self._debug.list_job_breakpoints(job_id)
        except notify.NETWORK_ERRORS as exc:
            logger.info(
                "Couldn't load the breakpoints of job %s: %s",
                job_id,
                notify.describe(exc),
            )
            return
        if job_id == self._job_id:
            self.model.replace_where(lambda item: item.job_id is not None, items)

    @Slot(object, bool)
    def _on_model_enabled_change_requested(
        self, before: BreakpointInfo, enabled: bool
    ) -> None:
        self._tasks.spawn(
            partial(self._set_enabled, before, enabled), name="enable breakpoint"
        )

    async def _set_enabled(self, before: BreakpointInfo, enabled: bool) -> None:
        try:
            await self.update(before, enabled=enabled)
        except notify.NETWORK_ERRORS as exc:
            verb = "enable" if enabled else "disable"
            notify.error(
                f"Couldn't {verb} the breakpoint at {before.place().describe()}: {notify.describe(exc)}"
            )
            self.model.upsert(before)
