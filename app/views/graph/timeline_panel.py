"""The timeline pane: a line about the job, zoom buttons and the timeline itself."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.models.records import JobDetail
from app.models.timeline_model import ExecutionStatus, TimelineModel
from app.views.graph.timeline_view import TimelineView

logger = logging.getLogger(__name__)


class TimelinePanel(QWidget):
    """The selected job's timeline with a summary line and zoom buttons.

    Attributes:
        view: The TimelineView; its ``execution_selected`` and
            ``entries_selected`` signals report clicks on bars.
    """

    def __init__(self, model: TimelineModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("timeline_panel")
        self.model = model
        self.view = TimelineView(model, self)
        self._job: JobDetail | None = None
        self.summary_label = QLabel(self)
        self.summary_label.setObjectName("timeline_summary")
        self.summary_label.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred
        )
        self.empty_label = QLabel("Select a job to see when each routine ran.", self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setObjectName("timeline_empty")
        self._stack = QStackedWidget(self)
        self._stack.addWidget(self.empty_label)
        self._stack.addWidget(self.view)

        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 2)
        bar.addWidget(self.summary_label, 1)
        for text, tip, slot in (
            ("−", "Zoom out (-; Ctrl+wheel zooms at the mouse)", self.view.zoom_out),
            ("+", "Zoom in (+)", self.view.zoom_in),
            ("Fit", "Show the whole job (F)", self.view.fit),
        ):
            button = QToolButton(self)
            button.setText(text)
            button.setToolTip(tip)
            button.setAutoRaise(True)
            button.clicked.connect(slot)
            bar.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self._stack, 1)

        model.timeline_changed.connect(self._update_summary)
        self._update_summary()

    @Slot(object)
    def set_job(self, job: JobDetail | None) -> None:
        """Name the job the timeline shows."""
        self._job = job
        self._update_summary()

    @Slot()
    def _update_summary(self) -> None:
        model, job = self.model, self._job
        has_runs = bool(model.executions)
        self._stack.setCurrentWidget(self.view if has_runs else self.empty_label)
        if job is None:
            self.summary_label.setText("No job selected")
            self.empty_label.setText("Select a job to see when each routine ran.")
            return
        if not has_runs:
            self.empty_label.setText(
                f"Job {job.job_id} has no routine runs in its trace yet."
            )
        failed = sum(1 for e in model.executions if e.status is ExecutionStatus.FAILED)
        parts = [
            f"Job {job.job_id} · {job.status}",
            f"{len(model.executions):,} runs of {len(model.routines)} routines",
            f"{model.entry_count:,} trace entries",
        ]
        if failed:
            parts.append(f"{failed} failed")
        if model.pauses:
            parts.append(f"paused {len(model.pauses)}×")
        text = " · ".join(parts)
        self.summary_label.setText(text)
        self.summary_label.setToolTip(text)
