"""Adds the flow graph, the job timeline and the Dry Run action to an existing main window.

Call ``install_flow_views`` once a session exists, because the views need
the session's REST client and event stream::

    self.flow_views = install_flow_views(
        window, api=session.api, stream=session.stream,
        job_selected=window.jobs_panel.job_selected,
        flows_changed=session.flows_changed, flows=session.flows,
        breakpoints=debugger.controller.breakpoints,  # optional
    )

and close it with the session (``await flow_views.aclose()``). Passing the
debugger's breakpoints controller makes the graph and the breakpoints pane
share one list; without it the views keep their own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal, SignalInstance, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

from app.controllers import notify
from app.controllers.breakpoints import BreakpointsController
from app.controllers.flow_views import FlowViewsController
from app.models.debug_records import ROUTINE, BreakpointPlace
from app.models.dry_run import DryRunResult
from app.models.records import FlowInfo, ServerInfo
from app.services.api import ApiClient
from app.services.debug_api import DebugApi
from app.services.flow_api import FlowApi
from app.views.graph.dry_run_dialog import DryRunDialog
from app.views.graph.graph_panel import FlowGraphPanel
from app.views.graph.timeline_panel import TimelinePanel

if TYPE_CHECKING:
    from app.services.stream import EventStream

logger = logging.getLogger(__name__)

GRAPH_DOCK = "flow_graph_dock"
TIMELINE_DOCK = "timeline_dock"


def install_flow_views(
    window: QMainWindow,
    *,
    api: ApiClient,
    stream: EventStream,
    job_selected: SignalInstance,
    flows_changed: SignalInstance,
    flows: Sequence[FlowInfo] = (),
    breakpoints: BreakpointsController | None = None,
) -> FlowViewsUi:
    """Add the Flow Graph and Timeline docks and the Dry Run action to ``window``.

    Args:
        window: The main window; the views become its children.
        api: The session's REST client.
        stream: The session's event stream; the selected job's events update
            the graph at once.
        job_selected: Emits the selected job id or None (the jobs pane's
            ``job_selected``).
        flows_changed: Emits the list of FlowInfo (the session's
            ``flows_changed``).
        flows: The flows already loaded, if any.
        breakpoints: The debugger's breakpoints controller, to share its
            breakpoint list; None makes one for the views alone.
    """
    owns = breakpoints is None
    if breakpoints is None:
        breakpoints = BreakpointsController(DebugApi(api))
    controller = FlowViewsController(FlowApi(api), breakpoints, owns_breakpoints=owns)
    if owns:
        breakpoints.setParent(controller)
    ui = FlowViewsUi(window, controller)
    stream.event_received.connect(controller.handle_event)
    stream.resync_needed.connect(controller.resync)
    job_selected.connect(controller.select_job)
    flows_changed.connect(controller.set_flows)
    if flows:
        controller.set_flows(list(flows))
    logger.debug("= flow views installed")
    return ui


class FlowViewsUi(QObject):
    """The flow graph and timeline docks and the Dry Run action of one main window.

    Attributes:
        controller: The FlowViewsController behind both views.
        graph_panel: The flow graph pane.
        timeline_panel: The timeline pane.
        docks: The dock widgets by object name.
        dry_run_action: Opens the dry-run dialog (Ctrl+Shift+D).

    Signals:
        place_selected(object): The BreakpointPlace the user last clicked on
            the graph, or None; the debugger's F9 can use it.
        execution_selected(str, float): Routine id and start time (epoch
            seconds) of the execution clicked on the timeline.
        entries_selected(list): That execution's TraceEntry list.
    """

    place_selected = Signal(object)
    execution_selected = Signal(str, float)
    entries_selected = Signal(list)

    def __init__(self, window: QMainWindow, controller: FlowViewsController):
        super().__init__(window)
        self.window = window
        self.controller = controller
        controller.setParent(self)
        self.graph_panel = FlowGraphPanel(controller.graph, window)
        self.timeline_panel = TimelinePanel(controller.timeline, window)
        self._dialog: DryRunDialog | None = None
        self._dry_run_supported = True
        self._breakpoints_supported = True

        self.dry_run_action = QAction("&Dry Run…", window)
        self.dry_run_action.setObjectName("action_dry_run")
        self.dry_run_action.setShortcut(QKeySequence("Ctrl+Shift+D"))
        tip = "Check a flow from an entry routine without starting a job, or run it for real"
        self.dry_run_action.setStatusTip(tip)
        self.dry_run_action.setToolTip(f"{tip} (Ctrl+Shift+D)")
        self.dry_run_action.triggered.connect(self.open_dry_run_dialog)
        self.graph_panel.set_dry_run_action(self.dry_run_action)

        self.docks = self._add_docks()
        self._add_menu_entries()
        self._connect()

    # -- layout ---------------------------------------------------------------------

    def _add_docks(self) -> dict[str, QDockWidget]:
        window = self.window
        docks = {
            GRAPH_DOCK: self._dock(GRAPH_DOCK, "Flow Graph", self.graph_panel),
            TIMELINE_DOCK: self._dock(TIMELINE_DOCK, "Timeline", self.timeline_panel),
        }
        # restoreDockWidget puts a dock created after restoreState() where
        # the saved layout had it, and returns False when it has no entry.
        new = [dock for dock in docks.values() if not window.restoreDockWidget(dock)]
        if new:
            self._default_layout(docks, new)
        return docks

    def _dock(self, name: str, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self.window)
        dock.setObjectName(name)
        dock.setWidget(widget)
        return dock

    def _default_layout(
        self, docks: dict[str, QDockWidget], new: list[QDockWidget]
    ) -> None:
        """Put the graph at the bottom right and the timeline behind the event log.

        A flow graph runs left to right, so it gets the wide bottom area, beside
        the event log, instead of the narrow column of the job detail.
        """
        window, bottom = self.window, Qt.DockWidgetArea.BottomDockWidgetArea
        graph, timeline = docks[GRAPH_DOCK], docks[TIMELINE_DOCK]
        event_log = window.findChild(QDockWidget, "event_log_dock")
        if graph in new:
            window.addDockWidget(bottom, graph, Qt.Orientation.Horizontal)
        if timeline in new:
            if event_log is not None and not event_log.isFloating():
                window.tabifyDockWidget(event_log, timeline)
                timeline.raise_()
            else:
                window.addDockWidget(bottom, timeline, Qt.Orientation.Horizontal)
        width = window.width()
        window.resizeDocks(
            [timeline, graph],
            [width * 2 // 5, width * 3 // 5],
            Qt.Orientation.Horizontal,
        )
        window.resizeDocks(
            [graph], [max(window.height() * 2 // 5, 300)], Qt.Orientation.Vertical
        )

    def _add_menu_entries(self) -> None:
        jobs_menu = _menu(self.window, "&Jobs")
        if jobs_menu is not None:
            actions = jobs_menu.actions()
            after_new_job = next(
                (
                    i + 1
                    for i, a in enumerate(actions)
                    if a.objectName() == "action_new_job"
                ),
                0,
            )
            before = actions[after_new_job] if after_new_job < len(actions) else None
            jobs_menu.insertAction(before, self.dry_run_action)
        else:
            self.window.addAction(self.dry_run_action)
        view_menu = _menu(self.window, "&View")
        if view_menu is not None:
            separator = next((a for a in view_menu.actions() if a.isSeparator()), None)
            for dock in self.docks.values():
                view_menu.insertAction(separator, dock.toggleViewAction())

    def _connect(self) -> None:
        controller, panel = self.controller, self.graph_panel
        controller.flows_changed.connect(panel.set_flows)
        controller.job_changed.connect(panel.set_job)
        controller.job_changed.connect(self.timeline_panel.set_job)
        controller.layout_busy_changed.connect(panel.set_layout_busy)
        panel.flow_requested.connect(controller.show_flow)
        panel.clear_dry_run_requested.connect(self._on_clear_dry_run_requested)
        panel.view.breakpoint_toggle_requested.connect(
            self._on_view_breakpoint_toggle_requested
        )
        panel.view.node_selected.connect(self._on_view_node_selected)
        self.timeline_panel.view.execution_selected.connect(self.execution_selected)
        self.timeline_panel.view.entries_selected.connect(self.entries_selected)
        panel.set_flows(list(controller.flows.values()))
        panel.set_job(None)

    # -- actions ----------------------------------------------------------------------

    @Slot(object)
    def set_server_info(self, info: ServerInfo) -> None:
        """Turn off what the server lacks: dry runs, and flow breakpoints on the graph.

        A stock Routilux server advertises no capabilities, so both go off.
        """
        self._dry_run_supported = info.supports("dry_run")
        self._breakpoints_supported = info.supports("debug")
        self.dry_run_action.setEnabled(self._dry_run_supported)
        if not self._dry_run_supported:
            self.dry_run_action.setToolTip(
                f"{info.name} {info.version} has no dry-run API; connect to an "
                "Overseer embedded server to check flows without running them"
            )

    @property
    def dry_run_dialog(self) -> DryRunDialog | None:
        """The open dry-run dialog, if any."""
        return self._dialog

    @Slot()
    def open_dry_run_dialog(self) -> DryRunDialog | None:
        """Open the dry-run dialog for the flow the graph shows, or raise the open one."""
        if not self._dry_run_supported:
            notify.info("This server has no dry-run API.")
            return None
        if self._dialog is not None:
            self._dialog.raise_()
            self._dialog.activateWindow()
            return self._dialog
        flows = list(self.controller.flows.values())
        if not flows:
            notify.info("There is no flow to check: the server has no flows.")
            return None
        dialog = DryRunDialog(
            flows,
            self.controller.dry_run,
            self.window,
            flow_id=self.controller.graph.flow_id,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.result_ready.connect(self._on_dialog_result_ready)
        dialog.finding_selected.connect(self.select_routine)
        dialog.finished.connect(self._on_dialog_finished)
        self._dialog = dialog
        # Modeless, so the graph stays usable while the result is read.
        dialog.show()
        return dialog

    @Slot(str)
    def select_routine(self, routine_id: str) -> None:
        """Show the graph with ``routine_id`` selected and in view."""
        self.show_graph()
        if not self.graph_panel.view.select_routine(routine_id):
            notify.info(f"Routine {routine_id} is not in the flow the graph shows.")

    def show_graph(self) -> None:
        """Show and raise the Flow Graph dock."""
        dock = self.docks[GRAPH_DOCK]
        dock.show()
        dock.raise_()

    async def aclose(self) -> None:
        """Cancel requests and layouts in flight."""
        if self._dialog is not None:
            self._dialog.close()
        await self.controller.aclose()
        if self.controller.owns_breakpoints:
            await self.controller.breakpoints.aclose()

    # -- signal handlers ---------------------------------------------------------------

    @Slot(str, object)
    def _on_dialog_result_ready(self, _flow_id: str, _result: DryRunResult) -> None:
        self.show_graph()

    @Slot(int)
    def _on_dialog_finished(self, _result: int) -> None:
        self._dialog = None

    @Slot()
    def _on_clear_dry_run_requested(self) -> None:
        self.controller.graph.set_dry_run(None)

    @Slot(str, str, object)
    def _on_view_breakpoint_toggle_requested(
        self, routine_id: str, kind: str, port: object
    ) -> None:
        flow_id = self.controller.graph.flow_id
        if flow_id is None:
            return
        if not self._breakpoints_supported:
            notify.info(
                "This server has no flow breakpoints, so the graph cannot set one. "
                "Connect to an Overseer embedded server to debug flows."
            )
            return
        place = BreakpointPlace(
            flow_id, routine_id, kind, None if port is None else str(port)
        )
        self.controller.toggle_breakpoint(place)
        self.place_selected.emit(place)

    @Slot(object)
    def _on_view_node_selected(self, routine_id: str | None) -> None:
        flow_id = self.controller.graph.flow_id
        if routine_id is None or flow_id is None:
            self.place_selected.emit(None)
            return
        self.place_selected.emit(BreakpointPlace(flow_id, routine_id, ROUTINE, None))


def _menu(window: QMainWindow, title: str) -> QMenu | None:
    return next(
        (
            action.menu()
            for action in window.menuBar().actions()
            if action.text() == title
        ),
        None,
    )
