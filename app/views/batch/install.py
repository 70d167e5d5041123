"""Connects the jobs pane's batch bar to a BatchRunner for one session.

Call ``install_batch`` once a session exists::

    self.batch = install_batch(self, session=session)

and close it with the session (``await self.batch.aclose()``). Every action
is confirmed first, and the table stays usable while a batch runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget

from app.controllers import notify
from app.controllers.batch import BatchRunner
from app.models.batch import BatchAction, BatchResult, BatchSelection
from app.models.records import ServerInfo
from app.services.batch_api import BatchApi
from app.views.batch.results_dialog import BatchResultsDialog

if TYPE_CHECKING:
    from app.controllers.session import Session
    from app.views.jobs_view import JobsPanel

logger = logging.getLogger(__name__)

# Shows a question and calls the second argument when the user agrees.
ConfirmFunction = Callable[[str, str, Callable[[], None]], None]


def install_batch(
    window: QMainWindow,
    *,
    session: Session,
    confirm: ConfirmFunction | None = None,
    runner: BatchRunner | None = None,
) -> BatchUi:
    """Wire ``window.jobs_panel``'s batch bar to a runner on ``session``'s server.

    Args:
        window: The main window; its ``jobs_panel`` has the batch bar.
        session: The connected session (REST client, server info, job list).
        confirm: Asks before a batch starts; defaults to a message box.
        runner: The BatchRunner to use; one is made from the session's client.
    """
    ui = BatchUi(
        window,
        window.jobs_panel,  # type: ignore[attr-defined]
        session,
        runner or BatchRunner(BatchApi(session.api)),
        confirm=confirm,
    )
    logger.debug("= batch actions installed")
    return ui


class BatchUi(QObject):
    """The batch bar of one jobs pane, driving one BatchRunner.

    Attributes:
        runner: The BatchRunner that does the work.
        last_result: The most recent BatchResult, or None.
    """

    def __init__(
        self,
        parent: QWidget,
        panel: JobsPanel,
        session: Session,
        runner: BatchRunner,
        *,
        confirm: ConfirmFunction | None = None,
    ):
        super().__init__(parent)
        self.panel = panel
        self.session = session
        self.runner = runner
        self.runner.setParent(self)
        self.last_result: BatchResult | None = None
        self._confirm = confirm or self._ask
        self._action: BatchAction | None = None

        bar = panel.batch_bar
        bar.action_requested.connect(self.request)
        bar.stop_requested.connect(runner.stop)
        bar.details_requested.connect(self.show_details)
        runner.progress.connect(bar.set_progress)
        runner.running_changed.connect(bar.set_running)
        runner.finished.connect(self._on_runner_finished)
        session.server_info_changed.connect(self._on_session_server_info_changed)
        if session.server_info is not None:
            self._on_session_server_info_changed(session.server_info)

    @Slot(object)
    def request(self, action: BatchAction) -> None:
        """Confirm, then run ``action`` on the jobs the pane has chosen."""
        if self.runner.running:
            return
        selection = self.panel.batch_selection()
        if not selection.expected:
            notify.info("Select jobs first, then choose an action for them.")
            return
        title, text = _question(action, selection)
        self._confirm(title, text, lambda: self._start(action, selection))

    async def aclose(self) -> None:
        """Cancel a running batch."""
        await self.runner.aclose()

    @Slot()
    def show_details(self) -> BatchResultsDialog | None:
        """Open the failures of the last batch."""
        if self.last_result is None:
            return None
        dialog = BatchResultsDialog(self.last_result, self.panel.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _start(self, action: BatchAction, selection: BatchSelection) -> None:
        self._action = action
        if not self.runner.start(action, selection):
            notify.info("A batch action is still running; stop it or wait for it.")

    def _ask(self, title: str, text: str, proceed: Callable[[], None]) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self.panel.window(),
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def on_finished(result: int) -> None:
            if result == QMessageBox.StandardButton.Yes:
                proceed()

        box.finished.connect(on_finished)
        box.open()

    @Slot(object)
    def _on_runner_finished(self, result: BatchResult) -> None:
        self.last_result = result
        self.panel.batch_bar.show_result(result)
        if result.refused:
            notify.error(f"{result.summary()}.")
        elif result.failed:
            notify.warning(f"{result.summary()}. Choose Details to see why.")
        else:
            notify.info(f"{result.summary()}.")
        info = self.session.server_info
        # Deleted rows leave the list only on a reload; a stock server sends
        # no live events for jobs that changed.
        if result.action is BatchAction.DELETE or (info is not None and info.is_stock):
            self.session.job_list.reload()

    @Slot(object)
    def _on_session_server_info_changed(self, info: ServerInfo) -> None:
        self.runner.server_info = info
        bar = self.panel.batch_bar
        if info.is_stock:
            bar.set_action_enabled(
                BatchAction.DELETE,
                False,
                "A stock Routilux server cannot delete jobs from its history",
            )
        else:
            bar.set_action_enabled(BatchAction.DELETE, True)


def _question(action: BatchAction, selection: BatchSelection) -> tuple[str, str]:
    """Return the title and text that confirm ``action`` on ``selection``."""
    what = selection.describe()
    if action is BatchAction.DELETE:
        text = (
            f"Delete {what} from the history? Their trace and output go too, and "
            "this cannot be undone. Jobs still running are left alone."
        )
    elif action is BatchAction.CANCEL:
        text = f"Cancel {what}? Jobs that already ended are left as they are."
    else:
        text = (
            f"Start a new job for each of {what}, with the same entry point and params?"
        )
    return f"{action.title} Jobs", text
