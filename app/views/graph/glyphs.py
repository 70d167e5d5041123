"""Colours and status glyphs shared by the flow graph, the timeline and their legends.

Glyphs are drawn as shapes, not font characters, so they look the same on
every platform and in exported SVG files. Each status has a shape as well as
a colour, so it reads without colour vision: a triangle for running, two bars
for paused, a check mark for completed, a cross for failed.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPolygonF

from app.models.run_state import NodeStatus

logger = logging.getLogger(__name__)

CANVAS = QColor("#f4f5f7")
NODE_FILL = QColor("#ffffff")
HEADER_FILL = QColor("#eef1f5")
TEXT = QColor("#1f2328")
MUTED = QColor("#6b717a")
EDGE = QColor("#9aa1ab")
PATH = QColor("#2f7de1")
BREAKPOINT = QColor("#d12f2f")
DISABLED = QColor("#9aa1ab")
WARNING = QColor("#c77700")
SELECTION = QColor("#7b3fe4")

STATUS_COLORS = {
    NodeStatus.IDLE: QColor("#b8bec6"),
    NodeStatus.RUNNING: QColor("#2f7de1"),
    NodeStatus.PAUSED: QColor("#d49a00"),
    NodeStatus.COMPLETED: QColor("#2e9d57"),
    NodeStatus.FAILED: QColor("#d64545"),
    NodeStatus.SKIPPED: QColor("#8a8f98"),
    NodeStatus.INTERRUPTED: QColor("#8a8f98"),
}
STATUS_TEXT = {
    NodeStatus.IDLE: "not run",
    NodeStatus.RUNNING: "running",
    NodeStatus.PAUSED: "paused",
    NodeStatus.COMPLETED: "completed",
    NodeStatus.FAILED: "failed",
    NodeStatus.SKIPPED: "skipped",
    NodeStatus.INTERRUPTED: "interrupted",
}


def draw_status_glyph(
    painter: QPainter, rect: QRectF, status: NodeStatus, color: QColor | None = None
) -> None:
    """Draw the shape for ``status`` inside ``rect``, in ``color`` or the status colour."""
    color = STATUS_COLORS[status] if color is None else color
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if status is NodeStatus.RUNNING:
        _triangle(painter, rect, color)
    elif status is NodeStatus.PAUSED:
        _pause_bars(painter, rect, color)
    elif status is NodeStatus.COMPLETED:
        _check(painter, rect, color)
    elif status is NodeStatus.FAILED:
        _cross(painter, rect, color)
    elif status is NodeStatus.IDLE:
        painter.setPen(QPen(color, 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(rect.adjusted(2, 2, -2, -2))
    else:
        _dash(painter, rect, color)
    painter.restore()


def _triangle(painter: QPainter, rect: QRectF, color: QColor) -> None:
    r = rect.adjusted(2, 1, -1, -1)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawPolygon(
        QPolygonF([r.topLeft(), QPointF(r.right(), r.center().y()), r.bottomLeft()])
    )


def _pause_bars(painter: QPainter, rect: QRectF, color: QColor) -> None:
    r = rect.adjusted(2, 1, -2, -1)
    width = r.width() / 3
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawRect(QRectF(r.left(), r.top(), width, r.height()))
    painter.drawRect(QRectF(r.right() - width, r.top(), width, r.height()))


def _check(painter: QPainter, rect: QRectF, color: QColor) -> None:
    r = rect.adjusted(1.5, 2, -1.5, -2)
    path = QPainterPath(QPointF(r.left(), r.center().y()))
    path.lineTo(r.left() + r.width() * 0.38, r.bottom())
    path.lineTo(r.right(), r.top())
    painter.setPen(QPen(color, 2.2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(path)


def _cross(painter: QPainter, rect: QRectF, color: QColor) -> None:
    r = rect.adjusted(2.5, 2.5, -2.5, -2.5)
    painter.setPen(QPen(color, 2.4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.drawLine(r.topLeft(), r.bottomRight())
    painter.drawLine(r.topRight(), r.bottomLeft())


def _dash(painter: QPainter, rect: QRectF, color: QColor) -> None:
    y = rect.center().y()
    painter.setPen(QPen(color, 2.2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.drawLine(QPointF(rect.left() + 2, y), QPointF(rect.right() - 2, y))


def draw_breakpoint(
    painter: QPainter,
    center: QPointF,
    radius: float,
    *,
    enabled: bool = True,
    conditional: bool = False,
    logpoint: bool = False,
) -> None:
    """Draw a breakpoint mark as debuggers do.

    A filled red dot is a breakpoint, a hollow grey ring a disabled one, a
    diamond a logpoint, and two white bars inside mark a condition.
    """
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    color = BREAKPOINT if enabled else DISABLED
    painter.setPen(QPen(color.darker(125), 1.2))
    painter.setBrush(QBrush(color) if enabled else Qt.BrushStyle.NoBrush)
    if logpoint:
        painter.drawPolygon(
            QPolygonF(
                [
                    QPointF(center.x(), center.y() - radius),
                    QPointF(center.x() + radius, center.y()),
                    QPointF(center.x(), center.y() + radius),
                    QPointF(center.x() - radius, center.y()),
                ]
            )
        )
    else:
        painter.drawEllipse(center, radius, radius)
    if conditional:
        bar = radius * 0.55
        painter.setPen(QPen(QColor("#ffffff") if enabled else color, 1.4))
        for dy in (-radius * 0.25, radius * 0.25):
            y = center.y() + dy
            painter.drawLine(QPointF(center.x() - bar, y), QPointF(center.x() + bar, y))
    painter.restore()


def draw_warning_badge(
    painter: QPainter, rect: QRectF, *, is_error: bool, count: int = 0
) -> None:
    """Draw a validation mark: a red octagon for errors, an amber triangle for warnings."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    color = BREAKPOINT if is_error else WARNING
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    if is_error:
        painter.drawPolygon(_octagon(rect))
    else:
        painter.drawPolygon(
            QPolygonF(
                [
                    QPointF(rect.center().x(), rect.top()),
                    rect.bottomRight(),
                    rect.bottomLeft(),
                ]
            )
        )
    painter.setPen(QColor("#ffffff"))
    font = painter.font()
    font.setBold(True)
    font.setPixelSize(max(int(rect.height() * 0.62), 6))
    painter.setFont(font)
    text_rect = rect.adjusted(0, rect.height() * 0.12 if not is_error else 0, 0, 0)
    label = str(count) if count > 1 else "!"
    painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, label)
    painter.restore()


def _octagon(rect: QRectF) -> QPolygonF:
    inset = rect.width() * 0.29
    left, top, right, bottom = rect.left(), rect.top(), rect.right(), rect.bottom()
    return QPolygonF(
        [
            QPointF(left + inset, top),
            QPointF(right - inset, top),
            QPointF(right, top + inset),
            QPointF(right, bottom - inset),
            QPointF(right - inset, bottom),
            QPointF(left + inset, bottom),
            QPointF(left, bottom - inset),
            QPointF(left, top + inset),
        ]
    )
