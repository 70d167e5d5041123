"""Adds the debugger to an existing main window: docks, toolbar, menu and actions.

Call ``install_debugger`` once a session exists, because the debugger
needs the session's REST client and event stream::

    self.debugger = install_debugger(
        self, api=session.api, stream=session.stream,
        job_selected=self.jobs_panel.job_selected,
        flows_changed=session.flows_changed, flows=session.flows,
    )

and close it with the session (``await debugger.aclose()``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, SignalInstance, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMainWindow

from app.controllers import notify
from app.controllers.debugger import DebugController, DebugState
from app.models.debug_records import BreakpointPlace, PausePoint
from app.models.records import FlowInfo
from app.models.watch_model import WatchModel
from app.services.api import ApiClient
from app.services.debug_api import DebugApi
from app.views.debug import debug_actions
from app.views.debug.breakpoints_panel import BreakpointsPanel
from app.views.debug.notifier import PauseNotifier
from app.views.debug.paused_panel import PausedJobPanel
from app.views.debug.stack_watch_panels import CallStackPanel, WatchPanel

if TYPE_CHECKING:
    from app.services.stream import EventStream

logger = logging.getLogger(__name__)

DOCK_NAMES = ("paused_job_dock", "call_stack_dock", "watch_dock", "breakpoints_dock")


def install_debugger(
    window: QMainWindow,
    *,
    api: ApiClient,
    stream: EventStream,
    job_selected: SignalInstance,
    flows_changed: SignalInstance,
    flows: Sequence[FlowInfo] = (),
    watch_path: Path | None = None,
) -> DebuggerUi:
    """Add the debugger's docks, toolbar, menu and actions to ``window``.

    Args:
        window: The main window; the debugger becomes its child.
        api: The session's REST client; the debugger shares its connection.
        stream: The session's event stream; pauses and hits arrive here.
        job_selected: Emits the selected job id or None (the jobs pane's
            ``job_selected``); the debugger follows the selected job.
        flows_changed: Emits the list of FlowInfo (the session's
            ``flows_changed``).
        flows: The flows already loaded, if any.
        watch_path: The watch file; defaults to ``watches.json`` in the
            app's config folder.
    """
    ui = DebuggerUi(window, DebugApi(api), watch_path=watch_path)
    stream.event_received.connect(ui.controller.handle_event)
    stream.resync_needed.connect(ui.controller.resync)
    job_selected.connect(ui.select_job)
    flows_changed.connect(ui.controller.breakpoints.set_flows)
    if flows:
        ui.controller.breakpoints.set_flows(list(flows))
    logger.debug("= debugger installed")
    return ui


class DebuggerUi(QObject):
    """The debugger's panes and actions in one main window, wired to its controller.

    Attributes:
        controller: The DebugController that owns the models.
        docks: The dock widgets by object name.
        actions: The debugger's QActions by id.
    """

    def __init__(
        self,
        window: QMainWindow,
        debug_api: DebugApi,
        *,
        watch_path: Path | None = None,
    ):
        super().__init__(window)
        self.window = window
        self.controller = DebugController(
            debug_api, self, watch_model=WatchModel(path=watch_path)
        )
        self.paused_panel = PausedJobPanel(window)
        self.paused_panel.set_model(self.controller.variables_model)
        self.call_stack_panel = CallStackPanel(window)
        self.call_stack_panel.set_model(self.controller.call_stack_model)
        self.watch_panel = WatchPanel(window)
        self.watch_panel.set_model(self.controller.watch_model)
        self.breakpoints_panel = BreakpointsPanel(self.controller.breakpoints, window)
        self.notifier = PauseNotifier(window, self)
        self._place: BreakpointPlace | None = None

        self.docks = self._add_docks()
        self.actions, self.menu, self.toolbar = debug_actions.build(
            window, self._handlers()
        )
        debug_actions.free_f5(window)
        self._add_view_menu_entries()
        self._connect()
        self._update_actions()
        # MainWindow announces its close; after it no request may start.
        closed = getattr(window, "closed", None)
        if closed is not None:
            closed.connect(self.controller.stop_requests)

    # -- layout -------------------------------------------------------------------

    def _add_docks(self) -> dict[str, QDockWidget]:
        right = Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        specs = (
            ("paused_job_dock", "Paused Job", self.paused_panel, right),
            ("call_stack_dock", "Call Stack", self.call_stack_panel, right),
            ("watch_dock", "Watch", self.watch_panel, right),
            ("breakpoints_dock", "Breakpoints", self.breakpoints_panel, bottom),
        )
        docks: dict[str, QDockWidget] = {}
        restored = True
        for name, title, widget, area in specs:
            dock = QDockWidget(title, self.window)
            dock.setObjectName(name)
            dock.setWidget(widget)
            # restoreDockWidget puts a dock created after restoreState() where
            # the saved layout had it, and returns False when it has no entry.
            if not self.window.restoreDockWidget(dock):
                self.window.addDockWidget(area, dock)
                restored = False
            docks[name] = dock
        if not restored:
            self._default_layout(docks)
        return docks

    def _default_layout(self, docks: dict[str, QDockWidget]) -> None:
        """Put the paused job beside the job detail, the rest beside the event log."""
        window = self.window
        detail = window.findChild(QDockWidget, "job_detail_dock")
        event_log = window.findChild(QDockWidget, "event_log_dock")
        paused, watch = docks["paused_job_dock"], docks["watch_dock"]
        if detail is not None:
            window.tabifyDockWidget(detail, paused)
            detail.raise_()
        # A dock that is already tabbed cannot be split, so split first.
        if event_log is not None:
            window.splitDockWidget(event_log, watch, Qt.Orientation.Horizontal)
            window.tabifyDockWidget(event_log, docks["breakpoints_dock"])
            event_log.raise_()
            window.resizeDocks(
                [event_log, watch], [720, 540], Qt.Orientation.Horizontal
            )
        window.tabifyDockWidget(watch, docks["call_stack_dock"])
        watch.raise_()

    def _add_view_menu_entries(self) -> None:
        view_menu = next(
            (
                action.menu()
                for action in self.window.menuBar().actions()
                if action.text() == "&View"
            ),
            None,
        )
        if view_menu is None:
            return
        separator = next(
            (action for action in view_menu.actions() if action.isSeparator()), None
        )
        for name in DOCK_NAMES:
            view_menu.insertAction(separator, self.docks[name].toggleViewAction())

    def _handlers(self) -> dict[str, object]:
        controller = self.controller
        return {
            "debug_continue": controller.resume,
            "debug_pause": controller.request_pause,
            "debug_stop": controller.stop,
            "debug_step_over": controller.step_over,
            "debug_step_into": controller.step_into,
            "debug_step_out": controller.step_out,
            "toggle_breakpoint": self.toggle_breakpoint,
            "add_breakpoint": self._on_add_breakpoint_triggered,
        }

    def _connect(self) -> None:
        controller = self.controller
        controller.state_changed.connect(self.paused_panel.set_state)
        controller.state_changed.connect(self._update_actions)
        controller.busy_changed.connect(self._update_actions)
        controller.pause_changed.connect(self._on_controller_pause_changed)
        controller.frame_changed.connect(self.paused_panel.set_frame)
        controller.job_paused.connect(self.notifier.on_job_paused)
        controller.job_paused.connect(self._on_controller_job_paused)
        self.call_stack_panel.frame_selected.connect(controller.select_frame)
        self.watch_panel.refresh_requested.connect(controller.evaluate_watches)

    # -- public API -------------------------------------------------------------------

    def action(self, action_id: str) -> QAction:
        """Return the debugger action ``action_id``."""
        return self.actions[action_id]

    @Slot(object)
    def select_job(self, job_id: str | None) -> None:
        """Debug ``job_id``; connected to the jobs pane's selection."""
        self.controller.select_job(job_id)
        self.breakpoints_panel.set_job(job_id)

    def set_selected_place(self, place: BreakpointPlace | None) -> None:
        """Name the routine and slot or event selected elsewhere (a flow graph), for F9."""
        self._place = place

    def current_place(self) -> BreakpointPlace | None:
        """Return the place F9 toggles.

        The selected frame of a focused call stack comes first, then a place
        set with ``set_selected_place``, then the selected frame, then the
        pause point.
        """
        focus = self.window.focusWidget()
        frame_place = self.call_stack_panel.selected_place()
        if focus is self.call_stack_panel.table and frame_place is not None:
            return frame_place
        if self._place is not None:
            return self._place
        return frame_place or self._pause_place()

    @Slot()
    def toggle_breakpoint(self) -> None:
        """Remove the selected breakpoints, or toggle a flow breakpoint at ``current_place``."""
        focus = self.window.focusWidget()
        selected = self.breakpoints_panel.selected_breakpoints()
        if focus is self.breakpoints_panel.table and selected:
            self.controller.breakpoints.delete_later(selected)
            return
        place = self.current_place()
        if place is None:
            notify.info(
                "Select a call stack frame or a breakpoint first, then press F9 to toggle a breakpoint there."
            )
            return
        self.controller.breakpoints.toggle(place)

    def reset_layout(self) -> None:
        """Put the debugger's docks back where they start, after the window resets its own."""
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self._default_layout(self.docks)

    async def aclose(self) -> None:
        """Cancel the debugger's requests in flight."""
        await self.controller.aclose()

    # -- signal handlers ------------------------------------------------------------

    def _pause_place(self) -> BreakpointPlace | None:
        pause = self.controller.pause
        flow_id = self.controller.flow_id
        if pause is None or pause.frame is None or not flow_id:
            return None
        frame = pause.frame
        return BreakpointPlace(flow_id, frame.routine_id, frame.kind, frame.port)

    @Slot()
    def _on_add_breakpoint_triggered(self) -> None:
        self.docks["breakpoints_dock"].show()
        self.docks["breakpoints_dock"].raise_()
        self.breakpoints_panel.open_add_dialog(
            self._place or self.breakpoints_panel.selected_place()
        )

    @Slot(object)
    def _on_controller_pause_changed(self, pause: PausePoint | None) -> None:
        self.paused_panel.set_pause(pause)
        self.call_stack_panel.set_flow(self.controller.flow_id)
        if pause is not None:
            self.docks["paused_job_dock"].show()
            self.docks["paused_job_dock"].raise_()
        self._update_actions()

    @Slot(str, dict)
    def _on_controller_job_paused(self, job_id: str, _data: dict) -> None:
        # Follow a job that pauses unless the selected job is paused too,
        # so the user does not lose the pause they are looking at.
        if (
            job_id == self.controller.job_id
            or self.controller.state is DebugState.PAUSED
        ):
            return
        self.select_job(job_id)
        jobs_panel = getattr(self.window, "jobs_panel", None)
        if jobs_panel is not None:
            jobs_panel.select_job(job_id)

    @Slot()
    def _update_actions(self, *_args: object) -> None:
        state, busy = self.controller.state, self.controller.busy
        paused = state is DebugState.PAUSED and not busy
        for action_id in debug_actions.STEP_ACTIONS:
            self.actions[action_id].setEnabled(paused)
        self.actions["debug_pause"].setEnabled(state is DebugState.RUNNING and not busy)
        self.actions["debug_stop"].setEnabled(
            state in (DebugState.PAUSED, DebugState.RUNNING) and not busy
        )
