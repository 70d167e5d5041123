"""Main window: composes the jobs table, detail and event log docks and wires them."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget
from qasync import asyncSlot

from app.controllers import notify
from app.controllers.session import Session
from app.models import app_info, ui_state
from app.models.job_filter import FilterState
from app.models.records import JobDetail, ServerInfo
from app.views import about_dialog, open_paths
from app.views import actions as action_specs
from app.views.batch.install import install_batch
from app.views.debug.install import DebuggerUi, install_debugger
from app.views.event_log import EventLogPanel
from app.views.graph.install import install_flow_views
from app.views.job_detail import JobDetailPanel
from app.views.jobs_view import JobsPanel
from app.views.message_view import MessageView
from app.views.new_job_dialog import NewJobDialog
from app.views.status_bar import ConnectionIndicator
from app.views.templates.install import install_templates
from app.views.versions.install import install_versions

logger = logging.getLogger(__name__)

APP_TITLE = app_info.APP_NAME
SESSION_ACTIONS = ("new_job", "refresh_jobs", "reconnect")


class MainWindow(QMainWindow):
    """Jobs table in the centre, job detail and event log in docks.

    The window only composes widgets and wires signals; the session owns the
    data and the network. Layout and filters are saved to the state file when
    the window closes.

    Signals:
        closed: The window has closed and saved its state.
    """

    closed = Signal()

    def __init__(
        self,
        state: ui_state.UiState | None = None,
        parent: QWidget | None = None,
        *,
        state_path: Path | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("main_window")
        self.setWindowTitle(APP_TITLE)
        self._state = state or ui_state.UiState()
        self._state_path = state_path
        self._filters = self._state.filters
        self._event_types = self._state.event_types
        self.session: Session | None = None
        self._dialog: NewJobDialog | None = None
        self.templates = None
        self.batch = None
        self.versions = None
        self.debugger: DebuggerUi | None = None
        self.flow_views = None

        self.jobs_panel = JobsPanel(self)
        self.setCentralWidget(self.jobs_panel)
        self.detail_panel = JobDetailPanel(self)
        self.detail_dock = self._add_dock(
            "job_detail_dock",
            "Job Detail",
            self.detail_panel,
            Qt.DockWidgetArea.RightDockWidgetArea,
        )
        self.event_panel = EventLogPanel(self)
        self.event_dock = self._add_dock(
            "event_log_dock",
            "Event Log",
            self.event_panel,
            Qt.DockWidgetArea.BottomDockWidgetArea,
        )

        self.message_view = MessageView(self)
        self.connection_indicator = ConnectionIndicator(self)
        self.statusBar().addWidget(self.message_view, 1)
        self.statusBar().addPermanentWidget(self.connection_indicator)

        self.actions = action_specs.build_actions(self, self._action_handlers())
        action_specs.build_menus(self.menuBar(), self.actions)
        self._view_menu_add_docks()
        action_specs.build_toolbar(self, self.actions)
        self.resizeDocks([self.detail_dock], [460], Qt.Orientation.Horizontal)
        self.resizeDocks([self.event_dock], [230], Qt.Orientation.Vertical)
        self._default_layout = self.saveState()

        self._restore_layout()
        self.jobs_panel.filter_bar.set_state(self._filters)
        self.event_panel.set_event_types(self._event_types)
        self._connect_signals()
        self._update_actions()

    def _add_dock(
        self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea
    ) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _view_menu_add_docks(self) -> None:
        view_menu = next(
            action.menu()
            for action in self.menuBar().actions()
            if action.text() == "&View"
        )
        first = view_menu.actions()[0] if view_menu.actions() else None
        for dock in (self.detail_dock, self.event_dock):
            view_menu.insertAction(first, dock.toggleViewAction())
        view_menu.insertSeparator(first)

    def _action_handlers(self) -> dict[str, object]:
        return {
            "new_job": self._on_new_job_triggered,
            "cancel_job": self._on_cancel_job_triggered,
            "rerun_job": self._on_rerun_job_triggered,
            "refresh_jobs": self._on_refresh_triggered,
            "reconnect": self._on_reconnect_triggered,
            "quit": self.close,
            "focus_filter": self.jobs_panel.filter_bar.focus_first,
            "reset_layout": self._on_reset_layout_triggered,
            "open_log_folder": open_paths.open_log_folder,
            "about": self._on_about_triggered,
        }

    def _connect_signals(self) -> None:
        # Notifications from every layer
        notify.bridge().message_posted.connect(self.message_view.show_message)

        # Jobs pane
        self.jobs_panel.filter_changed.connect(self._on_filter_changed)
        self.jobs_panel.job_selected.connect(self._on_job_selected)

        # Detail pane
        cancel, rerun = self.actions["cancel_job"], self.actions["rerun_job"]
        self.detail_panel.cancel_requested.connect(cancel.trigger)
        self.detail_panel.rerun_requested.connect(rerun.trigger)
        cancel.enabledChanged.connect(self.detail_panel.cancel_button.setEnabled)
        rerun.enabledChanged.connect(self.detail_panel.rerun_button.setEnabled)

        # Event log
        self.event_panel.event_types_changed.connect(self._on_event_types_changed)

    # Session

    def attach_session(self, session: Session, *, features: bool = True) -> None:
        """Show ``session``'s data; call once, when the connection is set up.

        With ``features`` (the default) the templates, batch actions, flow
        versions, debugger and flow views are installed as well.
        """
        self.session = session
        self.jobs_panel.set_model(session.jobs_model)
        self.detail_panel.set_controller(session.job_detail)
        self.event_panel.set_model(session.event_log)

        session.flows_changed.connect(self.jobs_panel.filter_bar.set_flows)
        session.server_info_changed.connect(self._on_session_server_info_changed)
        session.job_detail.job_changed.connect(self._update_actions)
        session.job_detail.job_submitted.connect(self._on_job_submitted)
        session.stream.status_changed.connect(self.connection_indicator.set_status)
        self.connection_indicator.set_status_source(lambda: session.stream.status)
        self.connection_indicator.reconnect_requested.connect(
            session.stream.reconnect_now
        )
        if features:
            self.templates = install_templates(self, session=session)
            self.batch = install_batch(self, session=session)
            self.versions = install_versions(self, session=session)
            self._install_debugging(session)
            for extension in self.extensions():
                session.add_closer(extension.aclose)
        self._update_actions()

    def _install_debugging(self, session: Session) -> None:
        self.debugger = install_debugger(
            self,
            api=session.api,
            stream=session.stream,
            job_selected=self.jobs_panel.job_selected,
            flows_changed=session.flows_changed,
            flows=session.flows,
        )
        self.flow_views = install_flow_views(
            self,
            api=session.api,
            stream=session.stream,
            job_selected=self.jobs_panel.job_selected,
            flows_changed=session.flows_changed,
            flows=session.flows,
            breakpoints=self.debugger.controller.breakpoints,
        )
        session.server_info_changed.connect(self.flow_views.set_server_info)
        session.server_info_changed.connect(self.debugger.controller.breakpoints.set_server_info)
        self.flow_views.place_selected.connect(self.debugger.set_selected_place)

    def extensions(self) -> list:
        """Return the installed feature sets that need closing on shutdown."""
        # The debugger and the graph go first: they use the other parts' data.
        parts = (self.debugger, self.flow_views, self.templates, self.batch, self.versions)
        return [ui for ui in parts if ui is not None]

    def current_filters(self) -> FilterState:
        """Return the filter the jobs pane shows."""
        return self._filters

    def show_startup_step(self, text: str) -> None:
        """Show what start-up is doing, before a session exists."""
        self.connection_indicator.set_starting(text)

    # Action handlers

    @Slot()
    def _on_new_job_triggered(self) -> None:
        if self.session is None:
            return
        if self._dialog is not None:
            self._dialog.raise_()
            self._dialog.activateWindow()
            return
        dialog = NewJobDialog(
            self.session.flows,
            self.session.submit_job,
            self,
            templates=self.templates.library if self.templates is not None else None,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.job_submitted.connect(self._on_job_submitted)
        dialog.finished.connect(self._on_dialog_finished)
        job = self.session.job_detail.job
        if job is not None and job.routine_id and job.slot_name:
            dialog.prefill(job.flow_id, job.routine_id, job.slot_name, job.params)
        self._dialog = dialog
        dialog.open()

    @Slot(int)
    def _on_dialog_finished(self, _result: int) -> None:
        self._dialog = None

    @property
    def new_job_dialog(self) -> NewJobDialog | None:
        """The open new-job dialog, if any."""
        return self._dialog

    @asyncSlot()
    async def _on_cancel_job_triggered(self) -> None:
        await self._run_job_action("cancel_job")

    @asyncSlot()
    async def _on_rerun_job_triggered(self) -> None:
        await self._run_job_action("rerun_job")

    async def _run_job_action(self, name: str) -> None:
        """Run the job detail's ``name`` action with its button off until it ends."""
        if self.session is None:
            return
        self.actions[name].setEnabled(False)
        try:
            await getattr(self.session.job_detail, name)()
        finally:
            self._update_actions()

    @Slot()
    def _on_refresh_triggered(self) -> None:
        if self.session is None:
            return
        self.session.set_query(self._filters.to_query())
        self.session.job_detail.refresh()

    @Slot()
    def _on_reconnect_triggered(self) -> None:
        if self.session is not None:
            self.session.stream.reconnect_now()

    @Slot()
    def _on_reset_layout_triggered(self) -> None:
        self.restoreState(self._default_layout)
        if self.debugger is not None:
            self.debugger.reset_layout()
        for dock in (self.detail_dock, self.event_dock):
            dock.show()

    @Slot()
    def _on_about_triggered(self) -> None:
        server = None
        if self.session is not None and self.session.server_info is not None:
            info = self.session.server_info
            server = f"{info.name} {info.version} at {self.session.api.base_url}"
        about_dialog.show_about_dialog(self, server=server)

    # Signal handlers

    @Slot(object)
    def _on_filter_changed(self, filters: FilterState) -> None:
        self._filters = filters
        if self.session is not None:
            self.session.set_query(filters.to_query())

    @Slot(object)
    def _on_job_selected(self, job_id: str | None) -> None:
        if self.session is not None and job_id is not None:
            self.session.job_detail.select_job(job_id)
        self.event_panel.set_selected_job(job_id)
        self._update_actions()

    @Slot(object)
    def _on_job_submitted(self, job: JobDetail) -> None:
        self.jobs_panel.select_job(job.job_id)
        if self.session is not None:
            self.session.job_detail.select_job(job.job_id)

    @Slot(object)
    def _on_event_types_changed(self, types: frozenset[str] | None) -> None:
        self._event_types = types

    @Slot(object)
    def _on_session_server_info_changed(self, info: ServerInfo) -> None:
        self.connection_indicator.set_server_info(info)
        self.jobs_panel.filter_bar.set_time_filter_supported(
            info.supports("time_filter")
        )
        self._update_actions()
        if self.session is not None:
            self.setWindowTitle(f"{APP_TITLE} — {self.session.api.base_url}")

    @Slot()
    def _update_actions(self, *_args: object) -> None:
        has_session = self.session is not None
        for action_id in SESSION_ACTIONS:
            self.actions[action_id].setEnabled(has_session)
        detail = self.session.job_detail if has_session else None
        job = detail.job if detail is not None else None
        info = self.session.server_info if has_session else None
        can_cancel = info is None or info.supports("cancel")
        self.actions["cancel_job"].setEnabled(
            bool(can_cancel and detail and detail.can_cancel)
        )
        self.actions["rerun_job"].setEnabled(
            bool(job and job.routine_id and job.slot_name)
        )

    # Layout persistence

    def _restore_layout(self) -> None:
        state = self._state
        if state.window_geometry and not self.restoreGeometry(
            QByteArray(state.window_geometry)
        ):
            logger.warning("Couldn't restore the window geometry; using the default")
        if not state.window_geometry:
            # First run: use most of the screen, since the debugger, graph and
            # timeline docks all share the window.
            available = self.screen().availableGeometry()
            width = min(1680, max(1280, int(available.width() * 0.9)))
            height = min(1050, max(800, int(available.height() * 0.9)))
            self.resize(min(width, available.width()), min(height, available.height()))
        if state.window_state and not self.restoreState(QByteArray(state.window_state)):
            logger.warning("Couldn't restore the dock layout; using the default")

    def save_ui_state(self) -> ui_state.UiState:
        """Write layout and filters to the state file and return what was saved."""
        state = self._state.with_changes(
            window_geometry=bytes(self.saveGeometry().data()),
            window_state=bytes(self.saveState().data()),
            filters=self._filters,
            event_types=self._event_types,
        )
        ui_state.save_state(state, self._state_path)
        self._state = state
        return state

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Extend closeEvent to save the layout and announce the close."""
        self.save_ui_state()
        super().closeEvent(event)
        self.closed.emit()
