"""Job detail pane: status, params, timings, trace timeline, output and error.

It also names the flow version the job ran on, with a notice when that is
no longer the flow's current version, and offers to save the job's start
point and params as a template.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.controllers.flow_versions import JobVersion
from app.controllers.job_detail import JobDetailController
from app.models import formatting
from app.models.jobs_model import STATUS_COLORS
from app.models.records import JobDetail, JobOutput

logger = logging.getLogger(__name__)

_OVERVIEW_FIELDS = (
    ("status", "Status"),
    ("job_id", "Job ID"),
    ("flow", "Flow"),
    ("flow_version", "Flow version"),
    ("entry", "Entry routine"),
    ("worker", "Worker"),
    ("created", "Created"),
    ("started", "Started"),
    ("completed", "Completed"),
    ("duration", "Duration"),
    ("failed_routine", "Failed routine"),
    ("error", "Error"),
)


def _text_view(name: str) -> QPlainTextEdit:
    view = QPlainTextEdit()
    view.setObjectName(name)
    view.setReadOnly(True)
    view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    return view


class JobDetailPanel(QWidget):
    """Shows the selected job of a JobDetailController and offers its actions.

    The window enables the cancel and re-run buttons together with the
    matching actions, so the buttons and the menu always agree.

    Signals:
        cancel_requested: The user asked to cancel the shown job.
        rerun_requested: The user asked to start the shown job again.
        save_template_requested: The user asked to save the job as a template.
        compare_versions_requested(str, int, int): The user asked to compare
            the flow version the job ran on (second) with the current (third).
    """

    cancel_requested = Signal()
    rerun_requested = Signal()
    save_template_requested = Signal()
    compare_versions_requested = Signal(str, int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._job: JobDetail | None = None
        self._version: JobVersion | None = None
        self._stack = QStackedWidget(self)
        self._empty = QLabel("Select a job to see its details.", self)
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setObjectName("detail_empty")
        self._stack.addWidget(self._empty)
        self._stack.addWidget(self._build_detail_page())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)

    def _build_detail_page(self) -> QWidget:
        page = QWidget(self)
        self._title = QLabel(page)
        self._title.setObjectName("detail_title")
        self._title.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self._state_label = QLabel(page)
        self._state_label.setObjectName("detail_state")
        self.cancel_button = QPushButton("Cancel job", page)
        self.cancel_button.setObjectName("cancel_button")
        self.rerun_button = QPushButton("Re-run", page)
        self.rerun_button.setObjectName("rerun_button")
        self.rerun_button.setToolTip(
            "Start a new job with the same entry point and params"
        )
        self.save_template_button = QPushButton("Save as Template…", page)
        self.save_template_button.setObjectName("save_template_button")
        self.save_template_button.setToolTip(
            "Save this job's entry point and params as a job template"
        )
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.rerun_button.clicked.connect(self.rerun_requested)
        self.save_template_button.clicked.connect(self.save_template_requested)

        header = QHBoxLayout()
        header.addWidget(self._title, 1)
        header.addWidget(self._state_label)
        header.addWidget(self.cancel_button)
        header.addWidget(self.rerun_button)
        header.addWidget(self.save_template_button)

        self.tabs = QTabWidget(page)
        self.tabs.setObjectName("detail_tabs")
        self.tabs.addTab(self._build_overview(), "Overview")
        self.params_view = _text_view("params_view")
        self.tabs.addTab(self.params_view, "Params")
        self.trace_view = self._build_trace_view()
        self.tabs.addTab(self.trace_view, "Trace")
        self.output_view = _text_view("output_view")
        self.tabs.addTab(self.output_view, "Output")
        self.error_view = _text_view("error_view")
        self.tabs.addTab(self.error_view, "Error")
        self.data_view = _text_view("data_view")
        self.tabs.addTab(self.data_view, "Data")

        layout = QVBoxLayout(page)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(header)
        layout.addWidget(self._build_version_notice(page))
        layout.addWidget(self.tabs, 1)
        return page

    def _build_version_notice(self, page: QWidget) -> QWidget:
        self.version_notice = QWidget(page)
        self.version_notice.setObjectName("version_notice")
        self.version_notice.setStyleSheet(
            "#version_notice { background: #fff8c5; border: 1px solid #d4a72c; "
            "border-radius: 4px; }"
        )
        self.version_notice_label = QLabel(self.version_notice)
        self.version_notice_label.setObjectName("version_notice_label")
        self.version_notice_label.setWordWrap(True)
        self.compare_button = QPushButton("Compare…", self.version_notice)
        self.compare_button.setObjectName("compare_versions_button")
        self.compare_button.clicked.connect(self._on_compare_button_clicked)
        row = QHBoxLayout(self.version_notice)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.version_notice_label, 1)
        row.addWidget(self.compare_button)
        self.version_notice.hide()
        return self.version_notice

    def _build_overview(self) -> QWidget:
        widget = QWidget(self)
        form = QFormLayout(widget)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._fields: dict[str, QLabel] = {}
        for key, title in _OVERVIEW_FIELDS:
            label = QLabel(widget)
            label.setObjectName(f"field_{key}")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            form.addRow(f"{title}:", label)
            self._fields[key] = label
        return widget

    def _build_trace_view(self) -> QTableView:
        view = QTableView(self)
        view.setObjectName("trace_view")
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setWordWrap(False)
        view.setShowGrid(False)
        view.verticalHeader().setVisible(False)
        view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
        view.horizontalHeader().setStretchLastSection(True)
        view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        return view

    # Public API

    def set_controller(self, controller: JobDetailController) -> None:
        """Follow ``controller``; call once per window."""
        self.trace_view.setModel(controller.trace_model)
        for column, width in enumerate((90, 120, 150)):
            self.trace_view.setColumnWidth(column, width)
        controller.job_changed.connect(self._on_controller_job_changed)
        controller.output_changed.connect(self._on_controller_output_changed)
        controller.loading_changed.connect(self._on_controller_loading_changed)
        controller.load_failed.connect(self._on_controller_load_failed)

    @property
    def job(self) -> JobDetail | None:
        """Job on display."""
        return self._job

    def field_text(self, key: str) -> str:
        """Return the text of one overview field, by key."""
        return self._fields[key].text()

    @Slot(object)
    def set_flow_version(self, info: JobVersion | None) -> None:
        """Name the flow version the shown job ran on; warn when it is not current."""
        if info is not None and (self._job is None or info.job_id != self._job.job_id):
            return
        self._version = info
        self._show_flow_version()

    # Slots

    @Slot(object)
    def _on_controller_job_changed(self, job: JobDetail | None) -> None:
        previous = self._job
        self._job = job
        if job is None:
            self._stack.setCurrentIndex(0)
            return
        self._stack.setCurrentIndex(1)
        self._state_label.clear()
        self._show_header(job)
        self._show_overview(job)
        self._set_text(self.params_view, formatting.pretty_json(job.params))
        self._set_text(self.data_view, formatting.pretty_json(job.data))
        self._set_text(self.error_view, self._error_text(job))
        error_tab = self.tabs.indexOf(self.error_view)
        self.tabs.setTabText(
            error_tab, "Error ●" if job.error or job.traceback else "Error"
        )
        if previous is None or previous.job_id != job.job_id:
            self.output_view.clear()
            self._version = None
            self._show_flow_version()

    @Slot(object)
    def _on_controller_output_changed(self, output: JobOutput | None) -> None:
        if output is None:
            self.output_view.clear()
            return
        text = output.output
        if output.truncated:
            text = "[The oldest part of the output was dropped by the server.]\n" + text
        self._set_text(self.output_view, text)

    @Slot(bool)
    def _on_controller_loading_changed(self, loading: bool) -> None:
        if loading:
            self._state_label.setText("Refreshing…")
        elif self._state_label.text() == "Refreshing…":
            self._state_label.clear()

    @Slot(str)
    def _on_controller_load_failed(self, text: str) -> None:
        self._state_label.setText("Refresh failed")
        self._state_label.setToolTip(text)

    @Slot()
    def _on_compare_button_clicked(self) -> None:
        info = self._version
        if info is not None and info.version is not None and info.current is not None:
            self.compare_versions_requested.emit(
                info.flow_id, info.version, info.current
            )

    # Helpers

    def _show_flow_version(self) -> None:
        info = self._version
        label = self._fields["flow_version"]
        if info is None:
            label.setText("")
        elif not info.recorded:
            label.setText("not recorded by this server")
        elif info.version is None:
            label.setText("not recorded (the job predates version history)")
        elif info.current is None:
            label.setText(f"v{info.version} (the flow is no longer loaded)")
        elif info.outdated:
            label.setText(f"v{info.version} (current: v{info.current})")
        else:
            label.setText(f"v{info.version} (current)")
        self.version_notice.setVisible(info is not None and info.outdated)
        if info is not None and info.outdated:
            self.version_notice_label.setText(
                f"This job ran on version {info.version} of {info.flow_id}; the "
                f"flow has changed since and now runs version {info.current}."
            )

    def _show_header(self, job: JobDetail) -> None:
        color = STATUS_COLORS.get(job.status)
        chip = f"<span style='color:{color.name()}'>●</span> " if color else ""
        self._title.setText(f"{chip}<b>{job.status}</b> &nbsp; {_escape(job.job_id)}")

    def _show_overview(self, job: JobDetail) -> None:
        entry = job.routine_id or ""
        if job.slot_name:
            entry = f"{entry}.{job.slot_name}"
        values = {
            "status": job.status,
            "job_id": job.job_id,
            "flow": job.flow_id,
            "entry": entry,
            "worker": job.worker_id or "",
            "created": formatting.format_datetime(job.created_at),
            "started": formatting.format_datetime(job.started_at),
            "completed": formatting.format_datetime(job.completed_at),
            "duration": formatting.format_duration(job.duration_ms),
            "failed_routine": job.failed_routine or "",
            "error": job.error or "",
        }
        for key, value in values.items():
            self._fields[key].setText(value)

    @staticmethod
    def _error_text(job: JobDetail) -> str:
        parts = []
        if job.failed_routine:
            parts.append(f"Failed in routine: {job.failed_routine}")
        if job.error:
            parts.append(job.error)
        if job.traceback:
            parts.append(job.traceback.rstrip())
        return "\n\n".join(parts) if parts else "No error."

    @staticmethod
    def _set_text(view: QPlainTextEdit, text: str) -> None:
        # Replacing identical text would reset the user's scroll position on
        # every live refresh.
        if view.toPlainText() != text:
            view.setPlainText(text)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
