"""The flow graph pane: flow picker, job line, zoom and export buttons, the graph and a legend."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QAction, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.controllers import notify
from app.models.flow_graph import FlowGraph
from app.models.records import FlowInfo, JobDetail
from app.models.run_state import NodeStatus
from app.views.graph import glyphs
from app.views.graph.export import ExportError, export_png, export_svg
from app.views.graph.graph_view import FlowGraphScene, FlowGraphView

logger = logging.getLogger(__name__)

_LEGEND = (
    (NodeStatus.RUNNING, "running"),
    (NodeStatus.PAUSED, "paused"),
    (NodeStatus.COMPLETED, "completed"),
    (NodeStatus.FAILED, "failed"),
)


class LegendWidget(QWidget):
    """One line explaining the status glyphs and the breakpoint marks."""

    def sizeHint(self) -> QSize:  # noqa: N802
        """Override sizeHint: one line of small text."""
        return QSize(560, self.fontMetrics().height() + 8)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        """Override paintEvent to draw each glyph followed by its meaning."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = self.fontMetrics()
        x, height = 6.0, float(self.height())
        size = min(12.0, height - 6)
        top = (height - size) / 2
        for status, text in _LEGEND:
            glyphs.draw_status_glyph(painter, QRectF(x, top, size, size), status)
            x = self._label(
                painter, x + size + 4, text, metrics.horizontalAdvance(text)
            )
        center = QRectF(x, top, size, size).center()
        glyphs.draw_breakpoint(painter, center, size / 2)
        x = self._label(painter, x + size + 4, "breakpoint (click a port or ○)", 0)
        glyphs.draw_breakpoint(
            painter, QRectF(x, top, size, size).center(), size / 2, conditional=True
        )
        self._label(painter, x + size + 4, "with a condition", 0)
        painter.end()

    def _label(self, painter: QPainter, x: float, text: str, width: int) -> float:
        width = width or self.fontMetrics().horizontalAdvance(text)
        painter.setPen(self.palette().windowText().color())
        painter.drawText(
            QRectF(x, 0, width + 2, self.height()), Qt.AlignmentFlag.AlignVCenter, text
        )
        return x + width + 14


class FlowGraphPanel(QWidget):
    """The graph of one flow with its controls.

    Signals:
        flow_requested(str): The user picked a flow to show.
        clear_dry_run_requested: The user asked to remove the dry-run marks.
    """

    flow_requested = Signal(str)
    clear_dry_run_requested = Signal()

    def __init__(self, graph: FlowGraph, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("flow_graph_panel")
        self.graph = graph
        self.scene = FlowGraphScene(graph)
        self.view = FlowGraphView(self.scene, self)
        # Owned by the view, the scene outlives the view's connections to it,
        # so the selection changes of its teardown reach no deleted view.
        self.scene.setParent(self.view)
        self._fit_pending = True
        self._export_dialog: QFileDialog | None = None

        self.flow_box = QComboBox(self)
        self.flow_box.setObjectName("graph_flow_box")
        self.flow_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.flow_box.setToolTip(
            "The flow the graph shows; selecting a job shows its flow"
        )
        self.job_label = QLabel(self)
        self.job_label.setObjectName("graph_job_label")
        self.job_label.setTextFormat(Qt.TextFormat.PlainText)
        self.busy_label = QLabel("Laying out…", self)
        self.busy_label.setVisible(False)
        self.clear_dry_run_button = QToolButton(self)
        self.clear_dry_run_button.setText("Clear Dry Run")
        self.clear_dry_run_button.setToolTip(
            "Remove the dry run's path and findings from the graph"
        )
        self.clear_dry_run_button.setVisible(False)
        self.dry_run_button = QToolButton(self)
        self.dry_run_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)

        self.legend = LegendWidget(self)
        self.empty_label = QLabel("No flows on the server.", self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setObjectName("graph_empty")
        self._stack = QStackedWidget(self)
        self._stack.addWidget(self.empty_label)
        self._stack.addWidget(self.view)

        self._build_layout()
        self._connect()
        self._on_graph_flow_changed()

    def _build_layout(self) -> None:
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 2)
        bar.addWidget(QLabel("Flow:", self))
        bar.addWidget(self.flow_box)
        bar.addSpacing(8)
        bar.addWidget(self.job_label, 1)
        self.job_label.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred
        )
        bar.addWidget(self.busy_label)
        bar.addWidget(self.clear_dry_run_button)
        bar.addWidget(self.dry_run_button)
        for text, tip, slot in (
            ("−", "Zoom out (-)", self.view.zoom_out),
            ("+", "Zoom in (+)", self.view.zoom_in),
            ("Fit", "Fit the graph to the window (F)", self.view.fit_to_window),
        ):
            bar.addWidget(self._tool_button(text, tip, slot))
        bar.addWidget(self._export_button())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self.legend)

    def _tool_button(self, text: str, tip: str, slot: object) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    def _export_button(self) -> QToolButton:
        button = QToolButton(self)
        button.setText("Export")
        button.setToolTip("Save the graph as a PNG image or an SVG drawing")
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(button)
        self.export_png_action = QAction("As PNG Image…", menu)
        self.export_svg_action = QAction("As SVG Drawing…", menu)
        self.export_png_action.triggered.connect(self._on_export_png_triggered)
        self.export_svg_action.triggered.connect(self._on_export_svg_triggered)
        menu.addAction(self.export_png_action)
        menu.addAction(self.export_svg_action)
        button.setMenu(menu)
        return button

    def _connect(self) -> None:
        self.flow_box.activated.connect(self._on_flow_box_activated)
        self.clear_dry_run_button.clicked.connect(self.clear_dry_run_requested)
        self.scene.layout_applied.connect(self._on_scene_layout_applied)
        self.graph.flow_changed.connect(self._on_graph_flow_changed)
        self.graph.dry_run_changed.connect(self._on_graph_dry_run_changed)

    # -- public slots -------------------------------------------------------------

    def set_dry_run_action(self, action: QAction) -> None:
        """Offer ``action`` (Dry Run…) as a button on the bar."""
        self.dry_run_button.setDefaultAction(action)

    @Slot(list)
    def set_flows(self, flows: list[FlowInfo]) -> None:
        """Offer ``flows`` in the flow picker."""
        current = self.graph.flow_id
        self.flow_box.blockSignals(True)
        self.flow_box.clear()
        for flow in flows:
            self.flow_box.addItem(flow.flow_id, flow.flow_id)
            if flow.description:
                self.flow_box.setItemData(
                    self.flow_box.count() - 1,
                    flow.description,
                    Qt.ItemDataRole.ToolTipRole,
                )
        self.flow_box.setCurrentIndex(self.flow_box.findData(current))
        self.flow_box.blockSignals(False)
        self.empty_label.setText("No flows on the server." if not flows else "")

    @Slot(object)
    def set_job(self, job: JobDetail | None) -> None:
        """Name the job whose state the graph shows."""
        if job is None:
            self.job_label.setText("No job selected: nodes show breakpoints only")
            return
        same_flow = job.flow_id == self.graph.flow_id
        text = f"Job {job.job_id} · {job.status}"
        if not same_flow:
            text += f" (a job of {job.flow_id})"
        self.job_label.setText(text)
        self.job_label.setToolTip(text)

    @Slot(bool)
    def set_layout_busy(self, busy: bool) -> None:
        """Show that the layout is being computed."""
        self.busy_label.setVisible(busy)

    # -- handlers -------------------------------------------------------------------

    @Slot(int)
    def _on_flow_box_activated(self, index: int) -> None:
        flow_id = self.flow_box.itemData(index)
        if flow_id:
            self.flow_requested.emit(flow_id)

    @Slot()
    def _on_graph_flow_changed(self) -> None:
        self._fit_pending = True
        self.flow_box.setCurrentIndex(self.flow_box.findData(self.graph.flow_id))
        self._stack.setCurrentWidget(
            self.view if self.graph.flow is not None else self.empty_label
        )

    @Slot()
    def _on_scene_layout_applied(self) -> None:
        if self._fit_pending:
            self._fit_pending = False
            self.view.fit_to_window()

    @Slot()
    def _on_graph_dry_run_changed(self) -> None:
        self.clear_dry_run_button.setVisible(self.graph.dry_run is not None)

    @Slot()
    def _on_export_png_triggered(self) -> None:
        self._ask_export_path("PNG image (*.png)", ".png")

    @Slot()
    def _on_export_svg_triggered(self) -> None:
        self._ask_export_path("SVG drawing (*.svg)", ".svg")

    def _ask_export_path(self, name_filter: str, suffix: str) -> None:
        if self.graph.flow is None:
            notify.info("There is no graph to export: pick a flow first.")
            return
        dialog = QFileDialog(
            self, "Export Flow Graph", f"{self.graph.flow_id}{suffix}", name_filter
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(suffix.lstrip("."))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.export_to)
        self._export_dialog = dialog
        dialog.open()

    @Slot(str)
    def export_to(self, filename: str) -> bool:
        """Write the graph to ``filename``: SVG for a .svg name, else PNG."""
        path = Path(filename)
        rect = self.view.export_rect()
        try:
            if path.suffix.lower() == ".svg":
                export_svg(self.scene, rect, path, title=f"Flow {self.graph.flow_id}")
            else:
                export_png(self.scene, rect, path)
        except ExportError as exc:
            notify.error(
                f"Couldn't export the graph: {exc}. Choose another file name, then retry."
            )
            return False
        notify.info(f"Saved the graph of {self.graph.flow_id} to {path}")
        return True
