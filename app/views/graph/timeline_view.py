"""The job timeline: a Gantt chart of routine executions, one row per routine.

The view paints only what is on screen. For each visible row it queries the
model for the executions in the visible time window (a bisection), and
executions narrower than a pixel merge into one mark, so a trace of tens of
thousands of entries scrolls and zooms as fast as a short one.
"""

from __future__ import annotations

import logging
import math

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, Signal, Slot
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFontMetrics,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QToolTip, QWidget

from app.models.run_state import NodeStatus
from app.models.timeline_model import (
    Execution,
    ExecutionStatus,
    TimelineModel,
    format_seconds,
)
from app.views.graph import glyphs

logger = logging.getLogger(__name__)

ROW_HEIGHT = 22
BAR_HEIGHT = 14
RULER_HEIGHT = 24
MIN_SCALE = 1e-3  # pixels per second
MAX_SCALE = 1e7
HIT_SLOP_PX = 3

_STATUS = {
    ExecutionStatus.RUNNING: NodeStatus.RUNNING,
    ExecutionStatus.COMPLETED: NodeStatus.COMPLETED,
    ExecutionStatus.FAILED: NodeStatus.FAILED,
    ExecutionStatus.INTERRUPTED: NodeStatus.INTERRUPTED,
}
_STRIPE = QColor("#f6f7f9")
_PAUSE = QColor(212, 154, 0, 70)


class TimelineView(QAbstractScrollArea):
    """Executions of a TimelineModel on a time axis.

    Ctrl+wheel or + and - zoom around the mouse, F fits the whole job, the
    wheel scrolls the rows and Shift+wheel the time. Until the user zooms,
    the view keeps the whole job in view as it grows.

    Signals:
        execution_selected(str, float): Routine id and the epoch time its
            execution started, for the clicked bar.
        entries_selected(list): The TraceEntry list of the clicked execution.
    """

    execution_selected = Signal(str, float)
    entries_selected = Signal(list)

    def __init__(self, model: TimelineModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("timeline_view")
        self.model = model
        self._scale = 100.0
        self._auto_fit = True
        self._selected: Execution | None = None
        self._gutter = 120
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.horizontalScrollBar().valueChanged.connect(self.viewport().update)
        self.verticalScrollBar().valueChanged.connect(self.viewport().update)
        model.timeline_changed.connect(self._on_model_timeline_changed)
        model.modelReset.connect(self._on_model_reset)

    # -- geometry -----------------------------------------------------------------

    @property
    def scale(self) -> float:
        """Pixels per second."""
        return self._scale

    @property
    def selected(self) -> Execution | None:
        """The selected execution, or None."""
        return self._selected

    def _body_width(self) -> int:
        return max(self.viewport().width() - self._gutter - 12, 10)

    def _x_of(self, seconds: float) -> float:
        return self._gutter + seconds * self._scale - self.horizontalScrollBar().value()

    def _time_at(self, x: float) -> float:
        return (x - self._gutter + self.horizontalScrollBar().value()) / self._scale

    def _row_at(self, y: float) -> int | None:
        if y < RULER_HEIGHT:
            return None
        row = int((y - RULER_HEIGHT + self.verticalScrollBar().value()) // ROW_HEIGHT)
        return row if 0 <= row < len(self.model.routines) else None

    def _update_ranges(self) -> None:
        width = math.ceil(self.model.span * self._scale)
        self.horizontalScrollBar().setRange(0, max(width - self._body_width(), 0))
        self.horizontalScrollBar().setPageStep(self._body_width())
        rows_height = len(self.model.routines) * ROW_HEIGHT
        visible = self.viewport().height() - RULER_HEIGHT
        self.verticalScrollBar().setRange(0, max(rows_height - visible, 0))
        self.verticalScrollBar().setPageStep(max(visible, 1))
        self.verticalScrollBar().setSingleStep(ROW_HEIGHT)

    def _measure_gutter(self) -> None:
        metrics = QFontMetrics(self.font())
        widest = max(
            (metrics.horizontalAdvance(rid) for rid in self.model.routines), default=60
        )
        self._gutter = min(max(widest + 16, 80), 220)

    # -- zoom -------------------------------------------------------------------------

    def set_scale(self, scale: float, anchor_x: float | None = None) -> None:
        """Zoom to ``scale`` pixels per second, keeping the time under ``anchor_x`` in place."""
        scale = min(max(scale, MIN_SCALE), MAX_SCALE)
        anchor_x = self._gutter if anchor_x is None else anchor_x
        anchor_time = self._time_at(anchor_x)
        self._scale = scale
        self._update_ranges()
        offset = anchor_time * scale - (anchor_x - self._gutter)
        self.horizontalScrollBar().setValue(round(offset))
        self.viewport().update()

    @Slot()
    def zoom_in(self) -> None:
        """Zoom in around the middle."""
        self._auto_fit = False
        self.set_scale(self._scale * 1.5, self._gutter + self._body_width() / 2)

    @Slot()
    def zoom_out(self) -> None:
        """Zoom out around the middle."""
        self._auto_fit = False
        self.set_scale(self._scale / 1.5, self._gutter + self._body_width() / 2)

    @Slot()
    def fit(self) -> None:
        """Show the whole job, and keep it whole as it grows."""
        self._auto_fit = True
        self.set_scale(self._body_width() / max(self.model.span, 1e-3))
        self.horizontalScrollBar().setValue(0)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        """Override wheelEvent: Ctrl+wheel zooms around the mouse."""
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            self._auto_fit = False
            self.set_scale(self._scale * 1.25**steps, event.position().x())
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        """Override keyPressEvent: + - F zoom; Left and Right step through a row."""
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif key == Qt.Key.Key_Minus:
            self.zoom_out()
        elif key == Qt.Key.Key_F:
            self.fit()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and self._selected is not None:
            self._step_selection(-1 if key == Qt.Key.Key_Left else 1)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        """Override resizeEvent to keep the scroll ranges and the fit right."""
        super().resizeEvent(event)
        if self._auto_fit:
            self.fit()
        else:
            self._update_ranges()

    # -- model changes ---------------------------------------------------------------

    @Slot()
    def _on_model_reset(self) -> None:
        self._selected = None
        self._auto_fit = True

    @Slot()
    def _on_model_timeline_changed(self) -> None:
        self._measure_gutter()
        if self._selected is not None and self._selected.position < len(
            self.model.executions
        ):
            self._selected = self.model.executions[self._selected.position]
        if self._auto_fit:
            self.fit()
        else:
            self._update_ranges()
        self.viewport().update()

    # -- selection ---------------------------------------------------------------------

    def execution_at(self, pos: QPointF) -> Execution | None:
        """Return the execution drawn at ``pos`` (viewport coordinates), or None."""
        row = self._row_at(pos.y())
        if row is None or pos.x() < self._gutter:
            return None
        slop = HIT_SLOP_PX / self._scale
        t = self._time_at(pos.x())
        found = self.model.executions_between(row, t - slop, t + slop)
        if not found:
            return None
        return min(found, key=lambda e: abs((e.start + self._end(e)) / 2 - t))

    def select_execution(self, execution: Execution | None) -> None:
        """Select ``execution`` and announce it with its trace entries."""
        self._selected = execution
        self.viewport().update()
        if execution is None:
            return
        self.execution_selected.emit(execution.routine_id, execution.start_ts)
        self.entries_selected.emit(self.model.entries_of(execution))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        """Override mousePressEvent: a click on a bar selects its execution."""
        if event.button() == Qt.MouseButton.LeftButton:
            self.select_execution(self.execution_at(event.position()))
            event.accept()
            return
        super().mousePressEvent(event)

    def _step_selection(self, step: int) -> None:
        current = self._selected
        if current is None:
            return
        positions = self.model.row_executions(current.row)
        index = positions.index(current.position) + step
        if 0 <= index < len(positions):
            execution = self.model.executions[positions[index]]
            self.select_execution(execution)
            x = self._x_of(execution.start)
            if not self._gutter <= x <= self._gutter + self._body_width():
                self._auto_fit = False
                bar = self.horizontalScrollBar()
                bar.setValue(
                    round(bar.value() + x - self._gutter - self._body_width() / 2)
                )

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802
        """Override viewportEvent to show a tool tip for the bar under the mouse."""
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            execution = self.execution_at(QPointF(event.pos()))
            if execution is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(
                    event.globalPos(), _tool_tip(execution), self.viewport()
                )
            return True
        return super().viewportEvent(event)

    def _end(self, execution: Execution) -> float:
        return self.model.span if execution.end is None else execution.end

    # -- painting --------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        """Override paintEvent to draw the visible rows, bars, pauses and the ruler."""
        painter = QPainter(self.viewport())
        painter.fillRect(self.viewport().rect(), QColor("#ffffff"))
        rows = self._visible_rows()
        t0, t1 = (
            self._time_at(self._gutter),
            self._time_at(self._gutter + self._body_width() + 12),
        )
        painter.setClipRect(
            QRect(
                self._gutter,
                RULER_HEIGHT,
                self.viewport().width(),
                self.viewport().height(),
            )
        )
        self._paint_stripes(painter, rows)
        for row in rows:
            self._paint_row(painter, row, t0, t1)
        self._paint_pauses(painter, t0, t1)
        painter.setClipping(False)
        self._paint_gutter(painter, rows)
        self._paint_ruler(painter, t0, t1)
        painter.end()

    def _visible_rows(self) -> range:
        first = self.verticalScrollBar().value() // ROW_HEIGHT
        count = (self.viewport().height() - RULER_HEIGHT) // ROW_HEIGHT + 2
        return range(first, min(first + count, len(self.model.routines)))

    def _row_top(self, row: int) -> int:
        return RULER_HEIGHT + row * ROW_HEIGHT - self.verticalScrollBar().value()

    def _paint_stripes(self, painter: QPainter, rows: range) -> None:
        width = self.viewport().width()
        for row in rows:
            if row % 2:
                painter.fillRect(
                    QRect(0, self._row_top(row), width, ROW_HEIGHT), _STRIPE
                )

    def _paint_row(self, painter: QPainter, row: int, t0: float, t1: float) -> None:
        top = self._row_top(row) + (ROW_HEIGHT - BAR_HEIGHT) / 2
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        run: list[float] = []  # [x0, x1] of merged sub-pixel bars of one status
        run_status: ExecutionStatus | None = None
        for execution in self.model.executions_between(row, t0, t1):
            x0, x1 = self._x_of(execution.start), self._x_of(self._end(execution))
            if (
                x1 - x0 < 3
                and run
                and run_status is execution.status
                and x0 - run[1] < 1.5
            ):
                run[1] = max(run[1], x1)
                continue
            if run and run_status is not None:
                self._paint_bar(
                    painter,
                    QRectF(run[0], top, max(run[1] - run[0], 2), BAR_HEIGHT),
                    run_status,
                )
            if x1 - x0 < 3:
                run, run_status = [x0, x1], execution.status
                continue
            run, run_status = [], None
            self._paint_bar(
                painter, QRectF(x0, top, x1 - x0, BAR_HEIGHT), execution.status
            )
        if run and run_status is not None:
            self._paint_bar(
                painter,
                QRectF(run[0], top, max(run[1] - run[0], 2), BAR_HEIGHT),
                run_status,
            )
        selected = self._selected
        if selected is not None and selected.row == row:
            x0, x1 = self._x_of(selected.start), self._x_of(self._end(selected))
            painter.setPen(QPen(glyphs.SELECTION, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(
                QRectF(x0 - 2, top - 2, max(x1 - x0, 2) + 4, BAR_HEIGHT + 4)
            )

    def _paint_bar(
        self, painter: QPainter, rect: QRectF, status: ExecutionStatus
    ) -> None:
        node_status = _STATUS[status]
        color = glyphs.STATUS_COLORS[node_status]
        painter.setPen(Qt.PenStyle.NoPen)
        painter.fillRect(rect, color)
        if status is ExecutionStatus.FAILED:
            # A failed run also differs in shape: a cross-hatched bar with a
            # notch above it, visible however narrow the bar is.
            painter.fillRect(
                rect, QBrush(QColor("#ffffff"), Qt.BrushStyle.DiagCrossPattern)
            )
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setBrush(color)
            x = rect.center().x()
            painter.drawPolygon(
                QPolygonF(
                    [
                        QPointF(x - 4, rect.top() - 4),
                        QPointF(x + 4, rect.top() - 4),
                        QPointF(x, rect.top()),
                    ]
                )
            )
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        elif status is ExecutionStatus.RUNNING:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setBrush(color)
            right, mid = rect.right(), rect.center().y()
            painter.drawPolygon(
                QPolygonF(
                    [
                        QPointF(right, rect.top() - 2),
                        QPointF(right + 7, mid),
                        QPointF(right, rect.bottom() + 2),
                    ]
                )
            )
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        elif status is ExecutionStatus.INTERRUPTED:
            painter.setPen(QPen(QColor("#4a4f57"), 1, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect)
        if rect.width() >= 18 and status is not ExecutionStatus.INTERRUPTED:
            glyph = QRectF(
                rect.left() + 3, rect.top() + 2, rect.height() - 4, rect.height() - 4
            )
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            glyphs.draw_status_glyph(painter, glyph, node_status, QColor("#ffffff"))
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    def _paint_pauses(self, painter: QPainter, t0: float, t1: float) -> None:
        height = self.viewport().height()
        for pause in self.model.pauses:
            end = self.model.span if pause.end is None else pause.end
            if end < t0 or pause.start > t1:
                continue
            x0, x1 = self._x_of(pause.start), self._x_of(end)
            band = QRectF(x0, RULER_HEIGHT, max(x1 - x0, 3), height - RULER_HEIGHT)
            # The band is the gap: bars that span the pause are covered.
            painter.fillRect(band, QColor("#ffffff"))
            painter.fillRect(band, _PAUSE)
            painter.fillRect(
                band,
                QBrush(
                    glyphs.STATUS_COLORS[NodeStatus.PAUSED], Qt.BrushStyle.BDiagPattern
                ),
            )

    def _paint_gutter(self, painter: QPainter, rows: range) -> None:
        painter.fillRect(
            QRect(0, RULER_HEIGHT, self._gutter, self.viewport().height()),
            QColor("#f0f2f5"),
        )
        painter.setPen(QColor("#d0d4da"))
        painter.drawLine(
            self._gutter, RULER_HEIGHT, self._gutter, self.viewport().height()
        )
        metrics = QFontMetrics(self.font())
        painter.setPen(glyphs.TEXT)
        for row in rows:
            name = metrics.elidedText(
                self.model.routines[row],
                Qt.TextElideMode.ElideMiddle,
                self._gutter - 12,
            )
            rect = QRect(6, self._row_top(row), self._gutter - 12, ROW_HEIGHT)
            if rect.bottom() > RULER_HEIGHT:
                painter.drawText(
                    rect,
                    Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                    name,
                )

    def _paint_ruler(self, painter: QPainter, t0: float, t1: float) -> None:
        width = self.viewport().width()
        painter.fillRect(QRect(0, 0, width, RULER_HEIGHT), QColor("#f0f2f5"))
        painter.setPen(QColor("#d0d4da"))
        painter.drawLine(0, RULER_HEIGHT - 1, width, RULER_HEIGHT - 1)
        step = _tick_step(90 / self._scale)
        painter.setPen(glyphs.MUTED)
        tick = math.floor(max(t0, 0) / step) * step
        while tick <= t1:
            x = self._x_of(tick)
            if x >= self._gutter:
                painter.drawLine(round(x), RULER_HEIGHT - 6, round(x), RULER_HEIGHT - 1)
                painter.drawText(
                    QRectF(x + 3, 0, 90, RULER_HEIGHT - 4),
                    Qt.AlignmentFlag.AlignVCenter,
                    f"+{format_seconds(tick)}" if tick else "0",
                )
            tick += step
        for pause in self.model.pauses:
            x = self._x_of(pause.start)
            if self._gutter <= x <= width:
                glyphs.draw_status_glyph(
                    painter, QRectF(x - 5, 3, 10, 10), NodeStatus.PAUSED
                )
        painter.setPen(glyphs.MUTED)
        painter.drawText(
            QRect(6, 0, self._gutter - 12, RULER_HEIGHT),
            Qt.AlignmentFlag.AlignVCenter,
            "Routine",
        )


def _tick_step(minimum: float) -> float:
    """Return the smallest 1-2-5 step of seconds that is at least ``minimum``."""
    if minimum <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(minimum))
    for factor in (1, 2, 5, 10):
        if factor * power >= minimum:
            return factor * power
    return 10 * power


def _tool_tip(execution: Execution) -> str:
    end = (
        "still running"
        if execution.end is None
        else format_seconds(execution.end - execution.start)
    )
    lines = [
        f"{execution.routine_id}: {execution.status.value}",
        f"started at +{format_seconds(execution.start)}, took {end}",
    ]
    if execution.error:
        lines.append(execution.error)
    return "\n".join(lines)
