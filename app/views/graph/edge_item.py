"""Scene item for a connection: a curve from an event port to a slot port, with an arrow."""

from __future__ import annotations

import html
import logging

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.models.flow_graph import FlowGraph, GraphEdge
from app.views.graph import glyphs

logger = logging.getLogger(__name__)

# The arrow tip stops at the edge of the port's circle.
ARROW_GAP = 5.0


class EdgeItem(QGraphicsItem):
    """A connection drawn as a curve from an event port to a slot port, with an arrow."""

    def __init__(self, graph: FlowGraph, edge: GraphEdge) -> None:
        super().__init__()
        self.graph = graph
        self.edge = edge
        self._path = QPainterPath()
        self._arrow = QPolygonF()
        self._shape = QPainterPath()
        self._bounds = QRectF()
        self.setZValue(-1)
        self.setToolTip(html.escape(edge.label.replace("->", "→")))

    def update_path(self) -> None:
        """Rebuild the curve from the node positions and the layout's bend points."""
        self.prepareGeometryChange()
        graph, edge = self.graph, self.edge

        start = QPointF(*graph.event_anchor(edge.source, edge.event))
        end = QPointF(*graph.slot_anchor(edge.target, edge.slot)) - QPointF(
            ARROW_GAP, 0
        )
        points = [
            start,
            *(QPointF(x, y) for x, y in graph.route(edge)),
            end - QPointF(7, 0),
        ]

        # Each stretch leaves and enters horizontally, as ports face sideways.
        path = QPainterPath(points[0])
        for a, b in zip(points, points[1:], strict=False):
            reach = max(abs(b.x() - a.x()) / 2, 40.0)
            path.cubicTo(
                QPointF(a.x() + reach, a.y()), QPointF(b.x() - reach, b.y()), b
            )
        self._path = path

        self._arrow = QPolygonF(
            [
                end,
                QPointF(end.x() - 9, end.y() - 4.5),
                QPointF(end.x() - 9, end.y() + 4.5),
            ]
        )

        stroker = QPainterPathStroker()
        stroker.setWidth(8)
        self._shape = stroker.createStroke(path)
        self._bounds = (
            path.controlPointRect()
            .united(self._arrow.boundingRect())
            .adjusted(-4, -4, 4, 4)
        )

    def boundingRect(self) -> QRectF:  # noqa: N802
        """Override boundingRect: the curve's control points and the arrow."""
        return self._bounds

    def shape(self) -> QPainterPath:
        """Override shape: a band along the curve, so tool tips follow the line."""
        return self._shape

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        """Override paint to draw the curve and its arrow."""
        on_path = self.graph.on_path(self.edge)
        dimmed = self.graph.dry_run is not None and not on_path
        color = glyphs.PATH if on_path else glyphs.EDGE
        if dimmed:
            color = QColor(color)
            color.setAlphaF(0.45)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color, 2.8 if on_path else 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(color))
        painter.drawPolygon(self._arrow)
