"""Adds job templates to the main window: a Templates menu, its actions and dialogs.

Call ``install_templates`` once a session exists::

    self.templates = install_templates(self, session=session)

The menu lists every template. Choosing one starts its job at once, unless
it has ``${ask:NAME}`` placeholders, a placeholder error or a start point
the server lacks: then the new-job dialog opens with it. The job
detail's "Save as template" button and the menu's "Save Job as Template"
save the shown job's start point and params.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from app.controllers import notify
from app.controllers.tasks import TaskSet
from app.controllers.templates import start_from_template, why_not_direct
from app.models import placeholders
from app.models.records import JobDetail
from app.models.templates import (
    JobTemplate,
    TemplateFormatError,
    TemplateLibrary,
    shared_library,
    template_problem,
)
from app.views.new_job_dialog import NewJobDialog
from app.views.templates.picker import TemplatePickerDialog
from app.views.templates.save_dialog import SaveTemplateDialog

if TYPE_CHECKING:
    from app.controllers.session import Session

logger = logging.getLogger(__name__)

START_SHORTCUT = "Ctrl+Shift+N"
EXPORT_FILTER = "Job templates (*.json)"


def install_templates(
    window: QMainWindow, *, session: Session, library: TemplateLibrary | None = None
) -> TemplatesUi:
    """Add the Templates menu to ``window`` and wire the job detail's save button.

    Args:
        window: The main window; it needs ``menuBar()``, and ``jobs_panel``
            and ``detail_panel`` when present are used to show new jobs and
            to offer "Save as template".
        session: The connected session (flows, submit, job detail).
        library: The templates; defaults to the app's shared library.
    """
    ui = TemplatesUi(window, session, library or shared_library())
    detail_panel = getattr(window, "detail_panel", None)
    if detail_panel is not None and hasattr(detail_panel, "save_template_requested"):
        detail_panel.save_template_requested.connect(ui.save_job_as_template)
    logger.debug("= templates installed")
    return ui


class TemplatesUi(QObject):
    """The Templates menu of one window and the dialogs it opens.

    Attributes:
        library: The templates shown.
        menu: The Templates menu.
        actions: The fixed actions by id.
    """

    def __init__(self, window: QMainWindow, session: Session, library: TemplateLibrary):
        super().__init__(window)
        self.window = window
        self.session = session
        self.library = library
        self._tasks = TaskSet()
        self.menu = QMenu("&Templates", window)
        self.menu.setObjectName("templates_menu")
        self.actions = self._build_actions()
        self._entries: list[QAction] = []
        self._insert_menu()
        self.menu.aboutToShow.connect(self._on_menu_about_to_show)
        library.changed.connect(self._rebuild_entries)
        session.flows_changed.connect(self._rebuild_entries)
        self._rebuild_entries()

    # -- layout ---------------------------------------------------------------

    def _build_actions(self) -> dict[str, QAction]:
        specs: tuple[tuple[str, str, str | None, Callable[[], object]], ...] = (
            (
                "start_template",
                "&Start from Template…",
                START_SHORTCUT,
                self.open_picker,
            ),
            (
                "save_job_template",
                "Save &Job as Template…",
                None,
                self.save_job_as_template,
            ),
            ("import_templates", "&Import Templates…", None, self._on_import_triggered),
            ("export_templates", "&Export Templates…", None, self._on_export_triggered),
            ("open_templates_folder", "Open Templates &Folder", None, self.open_folder),
        )
        actions: dict[str, QAction] = {}
        for action_id, text, shortcut, handler in specs:
            action = QAction(text, self.window)
            action.setObjectName(f"action_{action_id}")
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(handler)
            actions[action_id] = action
        self.menu.addAction(actions["start_template"])
        self.menu.addAction(actions["save_job_template"])
        self._entries_separator = self.menu.addSeparator()
        self._tail_separator = self.menu.addSeparator()
        for action_id in (
            "import_templates",
            "export_templates",
            "open_templates_folder",
        ):
            self.menu.addAction(actions[action_id])
        return actions

    def _insert_menu(self) -> None:
        bar = self.window.menuBar()
        before = next(
            (a for a in bar.actions() if a.text() in ("&Help", "&View")), None
        )
        if before is None:
            bar.addMenu(self.menu)
        else:
            bar.insertMenu(before, self.menu)

    @Slot()
    def _rebuild_entries(self, *_args: object) -> None:
        for action in self._entries:
            self.menu.removeAction(action)
            action.deleteLater()
        self._entries = []
        for template in self.library.templates():
            problem = template_problem(template, self.session.flows)
            text = template.name.replace("&", "&&")
            action = QAction(f"{text}  ⚠" if problem else text, self.menu)
            action.setObjectName(f"template_{template.template_id}")
            action.setToolTip(problem or template.description or template.flow_id)
            action.setStatusTip(problem or template.description or "")
            action.triggered.connect(
                lambda _checked=False, t=template: self.start_template(t)
            )
            self.menu.insertAction(self._tail_separator, action)
            self._entries.append(action)
        self._entries_separator.setVisible(bool(self._entries))

    @Slot()
    def _on_menu_about_to_show(self) -> None:
        # Template files may have been edited or copied in by hand.
        self.library.reload()
        self.actions["save_job_template"].setEnabled(
            self.session.job_detail.job is not None
        )

    # -- starting -------------------------------------------------------------

    def template_entries(self) -> list[QAction]:
        """Return the menu's template actions, in order."""
        return list(self._entries)

    @Slot()
    def open_picker(self) -> TemplatePickerDialog:
        """Open the template list; Enter starts the chosen template."""
        self.library.reload()
        picker = TemplatePickerDialog(self.library, self.session.flows, self.window)
        picker.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        picker.start_requested.connect(self.start_template)
        picker.edit_requested.connect(self.open_new_job_dialog)
        picker.open()
        return picker

    @Slot(object)
    def start_template(self, template: JobTemplate) -> None:
        """Start ``template`` now, or open it in the new-job dialog when it needs input."""
        reason = why_not_direct(template, self.session.flows)
        if reason is not None:
            logger.info("Opening template %r in the dialog: %s", template.name, reason)
            self.open_new_job_dialog(template)
            return
        self._tasks.spawn(self._start_now(template), name="start template")

    async def aclose(self) -> None:
        """Cancel template starts in flight."""
        await self._tasks.close()

    async def _start_now(self, template: JobTemplate) -> None:
        try:
            job = await start_from_template(template, self.session.submit_job)
        except placeholders.PlaceholderError as exc:
            notify.error(f"Couldn't start template '{template.name}': {exc}")
            return
        except notify.NETWORK_ERRORS as exc:
            notify.error(
                f"Couldn't start template '{template.name}': {notify.describe(exc)}"
            )
            return
        notify.info(f"Started job {job.job_id} from template '{template.name}'")
        self._show_job(job)

    @Slot(object)
    def open_new_job_dialog(self, template: JobTemplate | None = None) -> NewJobDialog:
        """Open the new-job dialog with the template library, filled from ``template``."""
        dialog = NewJobDialog(
            self.session.flows,
            self.session.submit_job,
            self.window,
            templates=self.library,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.job_submitted.connect(self._show_job)
        if template is not None:
            dialog.apply_template(template)
        dialog.open()
        return dialog

    def _show_job(self, job: JobDetail) -> None:
        jobs_panel = getattr(self.window, "jobs_panel", None)
        if jobs_panel is not None:
            jobs_panel.select_job(job.job_id)
        self.session.job_detail.select_job(job.job_id)

    # -- saving, import and export -----------------------------------------------

    @Slot()
    def save_job_as_template(self) -> SaveTemplateDialog | None:
        """Save the start point and params of the job on display as a template."""
        job = self.session.job_detail.job
        if job is None or not job.routine_id or not job.slot_name:
            notify.warning(
                "Couldn't save the job as a template: select a job whose entry "
                "routine is known first"
            )
            return None
        draft = JobTemplate(
            name=f"{job.flow_id} {job.routine_id}",
            flow_id=job.flow_id,
            routine_id=job.routine_id,
            slot_name=job.slot_name,
            params=dict(job.params),
        )
        dialog = SaveTemplateDialog(self.library, draft, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._on_template_saved)
        dialog.open()
        return dialog

    @Slot(object)
    def _on_template_saved(self, template: JobTemplate) -> None:
        notify.info(f"Saved the job template '{template.name}'")

    @Slot()
    def _on_import_triggered(self) -> None:
        self.import_templates()

    @Slot()
    def _on_export_triggered(self) -> None:
        self.export_templates()

    def import_templates(self, path: Path | None = None) -> None:
        """Import an export file or a template file, asking for it when ``path`` is None."""
        if path is None:
            self._ask_path(QFileDialog.AcceptMode.AcceptOpen, self.import_templates)
            return
        try:
            report = self.library.import_file(Path(path))
        except (TemplateFormatError, OSError) as exc:
            notify.error(f"Couldn't import templates: {exc}")
            return
        parts = [f"Imported {len(report.added)} template(s)"]
        if report.renamed:
            parts.append(
                "renamed "
                + ", ".join(f"'{old}' to '{new}'" for old, new in report.renamed)
            )
        if report.skipped:
            parts.append(f"{len(report.skipped)} already present")
        notify.info("; ".join(parts))
        for error in report.errors:
            notify.warning(f"Skipped a template in {Path(path).name}: {error}")

    def export_templates(self, path: Path | None = None) -> None:
        """Export every template to one file, asking for it when ``path`` is None."""
        if path is None:
            self._ask_path(QFileDialog.AcceptMode.AcceptSave, self.export_templates)
            return
        try:
            count = self.library.export(Path(path))
        except OSError as exc:
            notify.error(f"Couldn't export templates to {path}: {exc}")
            return
        notify.info(f"Exported {count} template(s) to {path}")

    @Slot()
    def open_folder(self) -> None:
        """Show the templates folder in the file manager."""
        os.makedirs(self.library.folder, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.library.folder)))

    def _ask_path(
        self, mode: QFileDialog.AcceptMode, then: Callable[[Path], None]
    ) -> None:
        dialog = QFileDialog(
            self.window, "Job Templates", str(Path.home()), EXPORT_FILTER
        )
        dialog.setAcceptMode(mode)
        dialog.setDefaultSuffix("json")
        if mode == QFileDialog.AcceptMode.AcceptSave:
            dialog.selectFile("overseer-templates.json")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda selected: then(Path(selected)))
        dialog.open()
