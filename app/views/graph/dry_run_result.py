"""The result half of the dry-run dialog: verdict, estimate, findings, path and outputs."""

from __future__ import annotations

import html
import json
import logging

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.models.dry_run import DryRunResult, Finding, PathStep
from app.models.timeline_model import format_seconds

logger = logging.getLogger(__name__)

ROUTINE_ROLE = Qt.ItemDataRole.UserRole
_ERROR = QColor("#c53030")
_WARNING = QColor("#9a5b00")
_VERDICT_COLORS = {"completed": "#2e7d32", "failed": "#c53030", "timeout": "#9a5b00"}


class DryRunResultView(QWidget):
    """Shows one DryRunResult.

    Signals:
        routine_selected(str): The user clicked a finding or a path step
            that names a routine.
    """

    routine_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("dry_run_result")
        self.verdict_label = _label(self, "dry_run_verdict")
        self.verdict_label.setText(
            "Run the dry run to see the path, the findings and the estimate."
        )
        self.warning_label = _label(self, "dry_run_warning")
        self.estimate_label = _label(self, "dry_run_estimate")
        self.missing_label = _label(self, "dry_run_missing")
        self.findings_list = QListWidget(self)
        self.findings_list.setObjectName("dry_run_findings")
        self.findings_list.setWordWrap(True)
        self.path_list = QListWidget(self)
        self.path_list.setObjectName("dry_run_path")
        self.outputs_view = QPlainTextEdit(self)
        self.outputs_view.setObjectName("dry_run_outputs")
        self.outputs_view.setReadOnly(True)
        self.outputs_view.setFont(
            QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        )
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.findings_list, "Findings")
        self.tabs.addTab(self.path_list, "Path")
        self.tabs.addTab(self.outputs_view, "Outputs")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (
            self.verdict_label,
            self.warning_label,
            self.estimate_label,
            self.missing_label,
        ):
            layout.addWidget(widget)
        layout.addWidget(self.tabs, 1)
        self.warning_label.setVisible(False)
        self.findings_list.itemClicked.connect(self._on_list_item_clicked)
        self.findings_list.itemActivated.connect(self._on_list_item_clicked)
        self.path_list.itemClicked.connect(self._on_list_item_clicked)
        self.path_list.itemActivated.connect(self._on_list_item_clicked)

    def show_result(self, result: DryRunResult) -> None:
        """Show ``result``."""
        self.verdict_label.setText(_verdict(result))
        self.warning_label.setText(html.escape(result.warning or ""))
        self.warning_label.setVisible(bool(result.warning))
        self.estimate_label.setText(_estimate(result))
        self.missing_label.setText(_missing(result))
        self._fill_findings(result)
        self._fill_path(result)
        self.outputs_view.setPlainText(_outputs(result))
        self.tabs.setTabText(
            0,
            f"Findings ({len(result.errors)} errors, {len(result.warnings)} warnings)",
        )
        self.tabs.setTabText(1, f"Path ({len(result.path)})")
        if not result.errors and not result.warnings:
            self.tabs.setCurrentIndex(2 if result.executed else 1)
        else:
            self.tabs.setCurrentIndex(0)

    def _fill_findings(self, result: DryRunResult) -> None:
        self.findings_list.clear()
        for finding in result.findings():
            item = QListWidgetItem(_finding_text(finding))
            item.setForeground(_ERROR if finding.is_error else _WARNING)
            item.setToolTip(finding.message)
            item.setData(ROUTINE_ROLE, finding.routine_id)
            self.findings_list.addItem(item)
        if not result.findings():
            self.findings_list.addItem(QListWidgetItem("No errors or warnings."))

    def _fill_path(self, result: DryRunResult) -> None:
        self.path_list.clear()
        for number, step in enumerate(result.path, start=1):
            item = QListWidgetItem(_step_text(number, step))
            item.setData(ROUTINE_ROLE, step.routine_id)
            if step.via:
                item.setToolTip("\n".join(step.via))
            self.path_list.addItem(item)
        for rid in result.not_reached:
            item = QListWidgetItem(f"–  {rid}: predicted but never started")
            item.setData(ROUTINE_ROLE, rid)
            item.setForeground(_WARNING)
            self.path_list.addItem(item)

    @Slot(QListWidgetItem)
    def _on_list_item_clicked(self, item: QListWidgetItem) -> None:
        rid = item.data(ROUTINE_ROLE)
        if rid:
            self.routine_selected.emit(str(rid))


def _label(parent: QWidget, name: str) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _verdict(result: DryRunResult) -> str:
    color = _VERDICT_COLORS.get(result.status, "#1f2328")
    problems = []
    if result.errors:
        problems.append(
            f"{len(result.errors)} validation error{'s' if len(result.errors) != 1 else ''}"
        )
    if result.missing_inputs:
        problems.append(
            f"{len(result.missing_inputs)} missing input{'s' if len(result.missing_inputs) != 1 else ''}"
        )
    if result.executed:
        took = (
            f" in {format_seconds(result.duration_ms / 1000)}"
            if result.duration_ms is not None
            else ""
        )
        text = f"Ran for real: <b style='color:{color}'>{html.escape(result.status)}</b>{took}"
        if result.error and result.error.get("message"):
            text += f"<br>{html.escape(str(result.error['message']))}"
    elif result.status == "completed":
        text = (
            f"<b style='color:{color}'>✓ The flow would run</b>: no blocking findings"
        )
    else:
        text = f"<b style='color:{color}'>✗ The flow would fail</b>"
        if problems:
            text += ": " + ", ".join(problems)
    return text


def _estimate(result: DryRunResult) -> str:
    if result.estimated_duration_ms is None:
        reason = result.estimate_reason or "the server gave no reason"
        return f"Estimated duration: none. {html.escape(reason)}"
    text = f"Estimated duration: <b>{format_seconds(result.estimated_duration_ms / 1000)}</b> of routine time"
    if result.median_job_duration_ms is not None:
        text += f" (earlier jobs took {format_seconds(result.median_job_duration_ms / 1000)} wall-clock, median)"
    return text


def _missing(result: DryRunResult) -> str:
    if result.missing_inputs:
        names = ", ".join(
            f"<code>{html.escape(name)}</code>" for name in result.missing_inputs
        )
        return f"<span style='color:#c53030'>Missing inputs: {names}</span>"
    if not result.inputs_declared:
        return (
            "Missing inputs: none known (the entry routine declares no required params)"
        )
    return "Missing inputs: none"


def _finding_text(finding: Finding) -> str:
    mark = "✗" if finding.is_error else "⚠"
    place = f" · {finding.place}" if finding.place else ""
    return f"{mark} {finding.code}{place}\n{finding.message}"


def _step_text(number: int, step: PathStep) -> str:
    text = f"{number}. {step.routine_id}  (depth {step.depth})"
    if step.status is not None:
        runs = (
            f"{step.runs} run{'s' if step.runs != 1 else ''}"
            if step.runs is not None
            else ""
        )
        took = (
            f", {format_seconds(step.duration_ms / 1000)}"
            if step.duration_ms is not None
            else ""
        )
        text += f"  {step.status}, {runs}{took}"
    return text


def _outputs(result: DryRunResult) -> str:
    if not result.executed:
        return "Outputs appear when the flow is run for real (tick “Run for real”)."
    sections = []
    if result.error:
        sections.append(
            "Error:\n"
            + json.dumps(result.error, indent=2, ensure_ascii=False, default=str)
        )
    if result.outputs is not None:
        outputs = dict(result.outputs)
        printed = outputs.pop("printed", None)
        sections.append(json.dumps(outputs, indent=2, ensure_ascii=False, default=str))
        if printed:
            sections.append(f"Printed:\n{printed}")
    return "\n\n".join(sections) or "The run produced no outputs."
