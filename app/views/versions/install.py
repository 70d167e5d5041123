"""Adds flow version history to the main window: a menu action, the dialog, the job notice.

Call ``install_versions`` once a session exists::

    self.versions = install_versions(self, session=session)

and close it with the session (``await self.versions.aclose()``). The job
detail then names the flow version each job ran on and offers a diff when
the flow has changed since.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from app.controllers.flow_versions import FlowVersionsController
from app.controllers.tasks import TaskSet
from app.models.records import ServerInfo
from app.services.versions_api import VersionsApi
from app.views.versions.dialog import FlowVersionsDialog

if TYPE_CHECKING:
    from app.controllers.session import Session

logger = logging.getLogger(__name__)

SHORTCUT = "Ctrl+Shift+V"


def install_versions(
    window: QMainWindow,
    *,
    session: Session,
    controller: FlowVersionsController | None = None,
) -> VersionsUi:
    """Add "Flow Versions…" to the View menu and the version notice to the job detail.

    Args:
        window: The main window; its ``detail_panel``, when present, shows
            the version of the selected job.
        session: The connected session.
        controller: Loads the versions; one is made from the session's client.
    """
    ui = VersionsUi(
        window, session, controller or FlowVersionsController(VersionsApi(session.api))
    )
    logger.debug("= flow versions installed")
    return ui


class VersionsUi(QObject):
    """Flow versions in one window.

    Attributes:
        controller: Loads versions and follows the shown job's version.
        action: The "Flow Versions…" action.
    """

    def __init__(
        self, window: QMainWindow, session: Session, controller: FlowVersionsController
    ):
        super().__init__(window)
        self.window = window
        self.session = session
        self.controller = controller
        controller.setParent(self)
        self._tasks = TaskSet()
        self.action = QAction("Flow &Versions…", window)
        self.action.setObjectName("action_flow_versions")
        self.action.setShortcut(QKeySequence(SHORTCUT))
        self.action.setStatusTip("List a flow's versions and compare any two")
        self.action.triggered.connect(self._on_action_triggered)
        self._add_to_menu()

        session.server_info_changed.connect(self._on_session_server_info_changed)
        if session.server_info is not None:
            controller.set_server_info(session.server_info)
        session.flows_changed.connect(controller.record_flows)
        session.job_detail.job_changed.connect(controller.show_job)
        controller.flow_changed.connect(self._on_controller_flow_changed)
        detail_panel = getattr(window, "detail_panel", None)
        if detail_panel is not None and hasattr(detail_panel, "set_flow_version"):
            controller.job_version_changed.connect(detail_panel.set_flow_version)
            detail_panel.compare_versions_requested.connect(self.open_dialog)

    def _add_to_menu(self) -> None:
        bar = self.window.menuBar()
        view = next((a.menu() for a in bar.actions() if a.text() == "&View"), None)
        if isinstance(view, QMenu):
            view.addSeparator()
            view.addAction(self.action)
        else:
            self.window.addAction(self.action)

    @Slot()
    def _on_action_triggered(self) -> None:
        self.open_dialog()

    def open_dialog(
        self, flow_id: str | None = None, old: int | None = None, new: int | None = None
    ) -> FlowVersionsDialog:
        """Open the versions dialog, comparing ``old`` with ``new`` when given."""
        if flow_id is None:
            job = self.session.job_detail.job
            flow_id = job.flow_id if job is not None else None
        dialog = FlowVersionsDialog(
            self.controller,
            self.session.flows,
            self.window,
            flow_id=flow_id or None,
            old=old,
            new=new,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    async def aclose(self) -> None:
        """Cancel requests in flight."""
        await self._tasks.close()
        await self.controller.aclose()

    @Slot(str)
    def _on_controller_flow_changed(self, _flow_id: str) -> None:
        # The new-job dialog and the filters read the session's flow list,
        # which the server's reload of a flow file left out of date.
        self._tasks.spawn(self.session.refresh_flows(), name="refresh flows")

    @Slot(object)
    def _on_session_server_info_changed(self, info: ServerInfo) -> None:
        self.controller.set_server_info(info)
