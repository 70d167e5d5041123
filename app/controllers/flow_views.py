"""Feeds the flow graph and the job timeline: flows, layout, the selected job and breakpoints.

The controller shows one flow in a ``FlowGraph``: the flow the user picks,
or the selected job's flow. For the selected job it loads the whole trace
in pages, then only the entries added since, a short while after the job's
events arrive. The events themselves update the graph at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.controllers import notify
from app.controllers.breakpoints import BreakpointsController
from app.controllers.tasks import TaskSet
from app.models.debug_records import BreakpointPlace
from app.models.dry_run import DryRunRequest, DryRunResult
from app.models.flow_graph import FlowGraph
from app.models.graph_layout import GraphLayout, compute_layout
from app.models.records import FlowInfo, JobDetail, TraceEntry
from app.models.run_state import RunStateTracker
from app.models.timeline_model import TimelineModel
from app.services.flow_api import FlowApi

logger = logging.getLogger(__name__)

TRACE_PAGE_SIZE = 5000
MAX_TRACE_ENTRIES = 200_000
# Graphs up to this many routines are laid out on the Qt thread: it takes a
# few milliseconds and the graph appears without a blank frame.
INLINE_LAYOUT_LIMIT = 40
_TERMINAL_EVENTS = frozenset({"job_completed", "job_failed", "job_cancelled"})
# Events whose data carries the job summary with its new status.
_STATUS_EVENTS = _TERMINAL_EVENTS | {"job_paused", "job_resumed"}
# Events after which breakpoint hit counts or errors may have changed.
_BREAKPOINT_EVENTS = _TERMINAL_EVENTS | {"breakpoint_hit", "condition_error"}


class FlowViewsController(QObject):
    """The state behind the flow graph and timeline, kept in step with the server.

    Signals:
        flows_changed(list): The FlowInfo list the user can pick from.
        flow_shown(object): Id of the flow the graph shows, or None.
        job_changed(object): The selected job's JobDetail, or None.
        layout_busy_changed(bool): Whether a layout is being computed.
        trace_loading_changed(bool): Whether trace entries are being fetched.
    """

    flows_changed = Signal(list)
    flow_shown = Signal(object)
    job_changed = Signal(object)
    layout_busy_changed = Signal(bool)
    trace_loading_changed = Signal(bool)

    def __init__(
        self,
        flow_api: FlowApi,
        breakpoints: BreakpointsController,
        parent: QObject | None = None,
        *,
        owns_breakpoints: bool = False,
        refresh_delay_ms: int = 250,
        page_size: int = TRACE_PAGE_SIZE,
        max_trace_entries: int = MAX_TRACE_ENTRIES,
        inline_layout_limit: int = INLINE_LAYOUT_LIMIT,
    ):
        super().__init__(parent)
        self.flow_api = flow_api
        self.breakpoints = breakpoints
        self.graph = FlowGraph(self)
        self.timeline = TimelineModel(self)
        self._tracker = RunStateTracker()
        self._owns_breakpoints = owns_breakpoints
        self._page_size = page_size
        self._max_entries = max_trace_entries
        self._inline_limit = inline_layout_limit
        self._flows: dict[str, FlowInfo] = {}
        self._job: JobDetail | None = None
        self._job_id: str | None = None
        self._generation = 0
        self._layout_generation = 0
        self._offset = 0
        self._trace_ready = False
        self._loading = False
        self._load_again = False
        self._tasks = TaskSet()

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(refresh_delay_ms)
        self._refresh_timer.timeout.connect(self._on_refresh_timer_timeout)
        model = breakpoints.model
        for signal in (
            model.rowsInserted,
            model.rowsRemoved,
            model.dataChanged,
            model.modelReset,
            model.layoutChanged,
        ):
            signal.connect(self._on_breakpoints_changed)

    # -- flows ------------------------------------------------------------------

    @property
    def flows(self) -> dict[str, FlowInfo]:
        """The known flows by id."""
        return dict(self._flows)

    @property
    def owns_breakpoints(self) -> bool:
        """Whether the breakpoints controller belongs to these views alone."""
        return self._owns_breakpoints

    @property
    def job(self) -> JobDetail | None:
        """The selected job as last loaded, or None."""
        return self._job

    @Slot(list)
    def set_flows(self, flows: Iterable[FlowInfo]) -> None:
        """Offer ``flows``; the graph reloads its flow if that flow changed."""
        self._flows = {flow.flow_id: flow for flow in flows}
        if self._owns_breakpoints:
            self.breakpoints.set_flows(list(self._flows.values()))
        self.flows_changed.emit(list(self._flows.values()))

        shown = self.graph.flow_id
        if shown is None and self._flows:
            self.show_flow(next(iter(self._flows)))
        elif shown is not None and self._flows.get(shown) != self.graph.flow:
            self.show_flow(shown if shown in self._flows else None, force=True)

    def show_flow(self, flow_id: str | None, *, force: bool = False) -> None:
        """Show ``flow_id`` in the graph, with the selected job's state if it is that flow's."""
        if flow_id == self.graph.flow_id and not force:
            return
        flow = self._flows.get(flow_id) if flow_id else None
        self.graph.set_flow(flow)
        self.graph.set_breakpoints(self.breakpoints.model.breakpoints())
        self._show_states()
        self.flow_shown.emit(self.graph.flow_id)
        self._start_layout()

    def _start_layout(self) -> None:
        self._layout_generation += 1
        flow_id = self.graph.flow_id
        boxes, links, roots = self.graph.layout_input()
        if not boxes:
            self.graph.set_layout(GraphLayout(), flow_id)
            return
        if len(boxes) <= self._inline_limit:
            self.graph.set_layout(compute_layout(boxes, links, roots=roots), flow_id)
            return
        job = functools.partial(compute_layout, boxes, links, roots=roots)
        self._tasks.spawn(
            self._layout_in_thread(job, flow_id, self._layout_generation),
            name="lay out flow graph",
        )

    async def _layout_in_thread(
        self, job: functools.partial[GraphLayout], flow_id: str | None, generation: int
    ) -> None:
        self.layout_busy_changed.emit(True)
        try:
            layout = await asyncio.get_running_loop().run_in_executor(None, job)
        finally:
            if generation == self._layout_generation:
                self.layout_busy_changed.emit(False)
        if generation == self._layout_generation:
            self.graph.set_layout(layout, flow_id)

    # -- the selected job ---------------------------------------------------------

    @Slot(object)
    def select_job(self, job_id: str | None) -> None:
        """Follow ``job_id`` (None: no job): its flow, state and timeline."""
        if job_id == self._job_id:
            return
        self._job_id = job_id
        self._reload()
        if self._owns_breakpoints:
            self.breakpoints.set_job(job_id)

    @Slot()
    def resync(self) -> None:
        """Load the selected job's trace again from the start, after missed events."""
        if self._job_id is not None:
            self._reload()

    def _reload(self) -> None:
        self._generation += 1
        self._job = None
        self._offset = 0
        self._trace_ready = False
        self._load_again = False
        self._refresh_timer.stop()
        self._tracker.reset()
        self.timeline.clear()
        self.graph.set_job(None)
        self.job_changed.emit(None)
        if self._job_id is not None:
            self._tasks.spawn(
                self._load_job(self._job_id, self._generation), name="load job trace"
            )

    @Slot(dict)
    def handle_event(self, event: Mapping[str, Any]) -> None:
        """Apply an event of the selected job at once, then fetch the new trace soon."""
        if self._owns_breakpoints and event.get("type") in _BREAKPOINT_EVENTS:
            self.breakpoints.schedule_refresh(event.get("flow_id"))
        if self._job_id is None or event.get("job_id") != self._job_id:
            return
        if self._tracker.add_event(event):
            self._show_states()
        if event.get("type") in _STATUS_EVENTS and self._job is not None:
            self._update_status(event.get("data"))
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _update_status(self, data: Any) -> None:
        summary = data.get("job") if isinstance(data, Mapping) else None
        status = summary.get("status") if isinstance(summary, Mapping) else None
        if self._job is not None and isinstance(status, str):
            self._job = dataclasses.replace(self._job, status=status)
            self.job_changed.emit(self._job)

    async def _load_job(self, job_id: str, generation: int) -> None:
        self._loading = True
        self.trace_loading_changed.emit(True)
        try:
            job = await self.flow_api.api.get_job(job_id)
            if generation != self._generation:
                return
            self._set_job(job)
            self._tracker.fetch_started()
            entries = await self._fetch(job_id, 0)
            if generation != self._generation:
                return
            self._offset = len(entries)
            self.timeline.set_entries(entries, ended=job.is_terminal)
            self._tracker.add_trace(entries)
            self._trace_ready = True
            self._show_states()
        except notify.NETWORK_ERRORS as exc:
            # Without the trace the events received since are all there is.
            self._trace_ready = True
            self._show_states()
            notify.warning(
                f"Couldn't load the trace of job {job_id}: {notify.describe(exc)}"
            )
        finally:
            self._load_finished(generation)

    async def _load_more(self, job_id: str, generation: int) -> None:
        self._loading = True
        self.trace_loading_changed.emit(True)
        try:
            self._tracker.fetch_started()
            entries = await self._fetch(job_id, self._offset)
            if generation != self._generation:
                return
            self._offset += len(entries)
            self.timeline.append_entries(entries)
            self._tracker.add_trace(entries)
            if self._tracker.ended:
                self.timeline.set_ended()
            self._show_states()
        except notify.NETWORK_ERRORS as exc:
            logger.info(
                "Couldn't load new trace entries of job %s: %s",
                job_id,
                notify.describe(exc),
            )
        finally:
            self._load_finished(generation)

    def _load_finished(self, generation: int) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self.trace_loading_changed.emit(False)
        if self._load_again:
            self._load_again = False
            self._refresh_timer.start()

    async def _fetch(self, job_id: str, offset: int) -> list[TraceEntry]:
        """Fetch the trace from ``offset`` on, page by page, up to the entry cap."""
        entries: list[TraceEntry] = []
        while offset + len(entries) < self._max_entries:
            limit = min(self._page_size, self._max_entries - offset - len(entries))
            page, total = await self.flow_api.trace_page(
                job_id, offset=offset + len(entries), limit=limit
            )
            entries.extend(page)
            if len(page) < limit or (
                total is not None and offset + len(entries) >= total
            ):
                return entries
        notify.warning(
            f"The timeline of job {job_id} shows its first {self._max_entries:,} trace entries only."
        )
        return entries

    def _set_job(self, job: JobDetail) -> None:
        self._job = job
        self._tracker.set_job_status(job.status)
        self.job_changed.emit(job)
        if job.flow_id in self._flows and job.flow_id != self.graph.flow_id:
            self.show_flow(job.flow_id)
        else:
            self._show_states()

    def _show_states(self) -> None:
        """Show the selected job's states if the graph shows its flow, else none."""
        job = self._job
        if job is not None and job.flow_id == self.graph.flow_id:
            self.graph.set_job(job.job_id)
            # Until the trace arrives, the events alone would show a partial
            # picture (later routines running, earlier ones never run).
            if self._trace_ready:
                self.graph.set_states(self._tracker.states())
        else:
            self.graph.set_job(None)

    @Slot()
    def _on_refresh_timer_timeout(self) -> None:
        if self._job_id is None or self._job is None:
            return
        if self._loading:
            self._load_again = True
            return
        self._tasks.spawn(
            self._load_more(self._job_id, self._generation),
            name="load new trace entries",
        )

    # -- breakpoints and dry runs --------------------------------------------------

    def toggle_breakpoint(self, place: BreakpointPlace) -> None:
        """Add a flow breakpoint at ``place``, or remove the one that is there."""
        self.breakpoints.toggle(place)

    @Slot()
    def _on_breakpoints_changed(self, *_args: object) -> None:
        self.graph.set_breakpoints(self.breakpoints.model.breakpoints())

    async def dry_run(self, flow_id: str, request: DryRunRequest) -> DryRunResult:
        """Run a dry run and draw its path and findings on the graph.

        Raises:
            ApiError, ServerUnreachable: as ``FlowApi.dry_run``.
        """
        result = await self.flow_api.dry_run(flow_id, request)
        self.show_dry_run(flow_id, result)
        return result

    def show_dry_run(self, flow_id: str, result: DryRunResult | None) -> None:
        """Show ``flow_id`` with ``result``'s path and findings drawn on it."""
        self.show_flow(flow_id)
        self.graph.set_dry_run(result)

    async def aclose(self) -> None:
        """Stop the timer and cancel requests and layouts in flight."""
        self._refresh_timer.stop()
        await self._tasks.close()
