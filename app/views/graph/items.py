"""Scene items of the flow graph: a routine node with its ports, and a connection edge.

A node paints its slots, events, breakpoints, run state and dry-run marks
itself, so a routine costs one item however many ports it has. Nodes cache
their pixels (``DeviceCoordinateCache``) and repaint only when the model
reports a change for them.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app.models.debug_records import EVENT, ROUTINE, SLOT, BreakpointInfo
from app.models.flow_graph import (
    FOOTER_HEIGHT,
    HEADER_HEIGHT,
    PORT_HEIGHT,
    FlowGraph,
    GraphNode,
)
from app.models.run_state import NodeRunState, NodeStatus
from app.views.graph import glyphs, node_text

logger = logging.getLogger(__name__)

Part = tuple[str, str | None]  # (kind, port): what a click on a node hits

MARGIN = 16.0
PORT_RADIUS = 4.5
BREAKPOINT_RADIUS = 6.0
GUTTER = QPointF(13.0, 14.0)
# Below this zoom the port labels are too small to read, so a node shows
# only its name, in a larger font, its status and whether it has breakpoints.
DETAIL_ZOOM = 0.5

_HEADER_TINT = {
    NodeStatus.RUNNING: QColor("#e3eefc"),
    NodeStatus.PAUSED: QColor("#fff1cc"),
    NodeStatus.FAILED: QColor("#fde6e6"),
}
_PAUSED_ROW = QColor("#ffe7a3")
_HOVER_ROW = QColor("#eef3fb")


def _font(pixels: int, *, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(pixels)
    font.setBold(bold)
    return font


_TITLE_FONT = _font(13, bold=True)
_SMALL_FONT = _font(10)
_PORT_FONT = _font(11)
_TAG_FONT = _font(9, bold=True)


class NodeItem(QGraphicsItem):
    """A routine: header with id and class, slots on the left, events on the right."""

    def __init__(self, graph: FlowGraph, node: GraphNode) -> None:
        super().__init__()
        self.graph = graph
        self.node = node
        width, height = node.size
        self._rect = QRectF(0, 0, width, height)
        self._hover: Part | None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setData(0, node.routine_id)

    @property
    def routine_id(self) -> str:
        """The routine the node draws."""
        return self.node.routine_id

    def boundingRect(self) -> QRectF:  # noqa: N802
        """Override boundingRect: the node plus room for badges at its corners."""
        return self._rect.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)

    # -- hit testing ------------------------------------------------------------

    def part_at(self, pos: QPointF) -> Part | None:
        """Return the breakpoint place under ``pos`` (item coordinates), or None.

        The round mark left of the routine's name is its run; each port row
        is its slot (left half) or event (right half).
        """
        if (pos - GUTTER).manhattanLength() <= 12 and pos.y() < HEADER_HEIGHT:
            return ROUTINE, None
        node, half = self.node, self._rect.width() / 2
        for index, slot in enumerate(node.slots):
            if (
                abs(pos.y() - node.port_y(index)) <= PORT_HEIGHT / 2
                and -8 <= pos.x() < half
            ):
                return SLOT, slot
        for index, event in enumerate(node.events):
            right = self._rect.width() + 8
            if (
                abs(pos.y() - node.port_y(index)) <= PORT_HEIGHT / 2
                and half <= pos.x() <= right
            ):
                return EVENT, event
        return None

    def hoverMoveEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # noqa: N802
        """Override hoverMoveEvent to mark the port under the mouse and explain it."""
        part = self.part_at(event.pos())
        if part != self._hover:
            self._hover = part
            self.setToolTip(self._tool_tip(part))
            self.update()
        super().hoverMoveEvent(event)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # noqa: N802
        """Override hoverLeaveEvent to drop the port mark."""
        if self._hover is not None:
            self._hover = None
            self.update()
        super().hoverLeaveEvent(event)

    def _tool_tip(self, part: Part | None) -> str:
        if part is None:
            return node_text.summary_tip(self.graph, self.node)
        return node_text.port_tip(self.graph, self.routine_id, *part)

    def _summary_tip(self) -> str:
        return node_text.summary_tip(self.graph, self.node)

    # -- painting -----------------------------------------------------------------

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        """Override paint to draw the node, its ports and its marks."""
        state = self.graph.state(self.routine_id)
        zoom = option.levelOfDetailFromTransform(painter.worldTransform())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        if (
            self.graph.dry_run is not None
            and self.graph.path_index(self.routine_id) is None
        ):
            painter.setOpacity(0.45)

        self._paint_body(painter, state)
        if zoom < DETAIL_ZOOM:
            self._paint_overview(painter, state, zoom)
        else:
            self._paint_header(painter, state)
            self._paint_ports(painter, state)
            self._paint_footer(painter, state)
        painter.setOpacity(1.0)
        self._paint_badges(painter)
        if self.isSelected():
            pen = QPen(glyphs.SELECTION, 2.5, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(self._rect.adjusted(-6, -6, 6, 6), 9, 9)

    def _paint_body(self, painter: QPainter, state: NodeRunState) -> None:
        status = state.status
        color = glyphs.STATUS_COLORS[status]
        width = {
            NodeStatus.RUNNING: 3.0,
            NodeStatus.PAUSED: 3.0,
            NodeStatus.FAILED: 2.5,
        }
        pen = QPen(color if status is not NodeStatus.IDLE else QColor("#c5cad1"))
        pen.setWidthF(width.get(status, 1.5))
        if status is NodeStatus.PAUSED:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(glyphs.NODE_FILL)
        painter.drawRoundedRect(self._rect, 7, 7)

    def _paint_overview(
        self, painter: QPainter, state: NodeRunState, zoom: float
    ) -> None:
        """Draw the node for a zoomed-out view: a large name, the status and breakpoints."""
        rect = self._rect.adjusted(1, 1, -1, -1)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(_HEADER_TINT.get(state.status, glyphs.HEADER_FILL))
        painter.drawRoundedRect(rect, 6, 6)
        # Keep the name about 10 pixels high on screen, within the node.
        font = _font(min(max(round(10 / max(zoom, 0.01)), 13), 44), bold=True)
        status_size = min(rect.height() / 2, font.pixelSize())
        if state.status is not NodeStatus.IDLE or state.runs:
            glyph = QRectF(
                rect.right() - status_size - 6, rect.top() + 6, status_size, status_size
            )
            glyphs.draw_status_glyph(painter, glyph, state.status)
        if self.graph.breakpoints(self.routine_id):
            radius = status_size / 2
            center = QPointF(rect.left() + radius + 6, rect.top() + radius + 6)
            _paint_breakpoint(painter, center, self.graph.breakpoints(self.routine_id))
        painter.setFont(font)
        painter.setPen(glyphs.TEXT)
        text_rect = rect.adjusted(8, status_size + 8, -8, -4)
        text = QFontMetricsF(font).elidedText(
            self.node.routine_id, Qt.TextElideMode.ElideMiddle, text_rect.width()
        )
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_header(self, painter: QPainter, state: NodeRunState) -> None:
        rect, node = self._rect, self.node
        header = QPainterPath()
        header.addRoundedRect(rect.adjusted(1, 1, -1, 0), 6, 6)
        clip = QPainterPath()
        clip.addRect(QRectF(0, 0, rect.width(), HEADER_HEIGHT))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(_HEADER_TINT.get(state.status, glyphs.HEADER_FILL))
        painter.drawPath(header.intersected(clip))
        painter.setPen(QPen(QColor("#d9dde3"), 1))
        painter.drawLine(
            QPointF(1, HEADER_HEIGHT), QPointF(rect.width() - 1, HEADER_HEIGHT)
        )

        self._paint_gutter(painter)
        right = rect.width() - 8
        if state.status is not NodeStatus.IDLE or state.runs:
            glyphs.draw_status_glyph(
                painter, QRectF(right - 16, 6, 16, 16), state.status
            )
            right -= 22
        if node.is_entry:
            right = self._paint_tag(painter, "ENTRY", right)

        painter.setPen(glyphs.TEXT)
        painter.setFont(_TITLE_FONT)
        title = QRectF(26, 4, right - 30, 19)
        metrics = QFontMetricsF(_TITLE_FONT)
        text = metrics.elidedText(
            node.routine_id, Qt.TextElideMode.ElideRight, title.width()
        )
        painter.drawText(
            title, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text
        )
        painter.setPen(glyphs.MUTED)
        painter.setFont(_SMALL_FONT)
        sub = QRectF(26, 22, rect.width() - 34, 15)
        class_name = QFontMetricsF(_SMALL_FONT).elidedText(
            node.class_name, Qt.TextElideMode.ElideRight, sub.width()
        )
        painter.drawText(
            sub, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, class_name
        )

    def _paint_gutter(self, painter: QPainter) -> None:
        items = self.graph.port_breakpoints(self.routine_id, ROUTINE, None)
        if items:
            _paint_breakpoint(painter, GUTTER, items)
        elif self._hover == (ROUTINE, None):
            painter.setPen(QPen(glyphs.BREAKPOINT, 1.2, Qt.PenStyle.DotLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(GUTTER, BREAKPOINT_RADIUS, BREAKPOINT_RADIUS)
        else:
            painter.setPen(QPen(QColor("#c5cad1"), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(GUTTER, 3, 3)

    def _paint_tag(self, painter: QPainter, text: str, right: float) -> float:
        metrics = QFontMetricsF(_TAG_FONT)
        width = metrics.horizontalAdvance(text) + 10
        tag = QRectF(right - width, 7, width, 14)
        painter.setPen(QPen(glyphs.PATH, 1))
        painter.setBrush(QColor("#ffffff"))
        painter.drawRoundedRect(tag, 7, 7)
        painter.setFont(_TAG_FONT)
        painter.setPen(glyphs.PATH)
        painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, text)
        return tag.left() - 6

    def _paint_ports(self, painter: QPainter, state: NodeRunState) -> None:
        node, width = self.node, self._rect.width()
        painter.setFont(_PORT_FONT)
        metrics = QFontMetricsF(_PORT_FONT)
        half = width / 2 - 14
        for index, slot in enumerate(node.slots):
            y = node.port_y(index)
            self._paint_row_band(
                painter, (SLOT, slot), state, QRectF(2, y - 9, width / 2 - 2, 18)
            )
            self._paint_port(painter, QPointF(0, y), (SLOT, slot))
            label = metrics.elidedText(slot, Qt.TextElideMode.ElideRight, half)
            painter.setPen(glyphs.TEXT)
            painter.drawText(
                QRectF(11, y - 9, half, 18), Qt.AlignmentFlag.AlignVCenter, label
            )
        for index, event in enumerate(node.events):
            y = node.port_y(index)
            band = QRectF(width / 2, y - 9, width / 2 - 2, 18)
            self._paint_row_band(painter, (EVENT, event), state, band)
            self._paint_port(painter, QPointF(width, y), (EVENT, event))
            label = metrics.elidedText(event, Qt.TextElideMode.ElideRight, half)
            painter.setPen(glyphs.TEXT)
            align = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight
            painter.drawText(QRectF(width / 2, y - 9, half + 3, 18), align, label)

    def _paint_row_band(
        self, painter: QPainter, part: Part, state: NodeRunState, band: QRectF
    ) -> None:
        paused = state.paused_at is not None and state.paused_at == part
        if paused:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_PAUSED_ROW)
            painter.drawRect(band)
            glyph_x = band.right() - 14 if part[0] == SLOT else band.left() + 2
            glyphs.draw_status_glyph(
                painter, QRectF(glyph_x, band.top() + 3, 12, 12), NodeStatus.PAUSED
            )
        elif self._hover == part:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_HOVER_ROW)
            painter.drawRect(band)

    def _paint_port(self, painter: QPainter, center: QPointF, part: Part) -> None:
        items = self.graph.port_breakpoints(self.routine_id, *part)
        if items:
            _paint_breakpoint(painter, center, items)
            return
        hovered = self._hover == part
        painter.setPen(QPen(glyphs.BREAKPOINT if hovered else QColor("#8c939d"), 1.3))
        painter.setBrush(QColor("#ffffff"))
        painter.drawEllipse(center, PORT_RADIUS, PORT_RADIUS)

    def _paint_footer(self, painter: QPainter, state: NodeRunState) -> None:
        rect = self._rect
        top = rect.height() - FOOTER_HEIGHT
        painter.setPen(QPen(QColor("#e3e6ea"), 1))
        painter.drawLine(QPointF(1, top), QPointF(rect.width() - 1, top))
        if not self.graph.job_id:
            return
        glyphs.draw_status_glyph(painter, QRectF(8, top + 5, 12, 12), state.status)
        painter.setFont(_SMALL_FONT)
        painter.setPen(glyphs.STATUS_COLORS[state.status].darker(130))
        text_rect = QRectF(25, top, rect.width() - 33, FOOTER_HEIGHT)
        text = QFontMetricsF(_SMALL_FONT).elidedText(
            node_text.state_text(state), Qt.TextElideMode.ElideRight, text_rect.width()
        )
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter, text)

    def _paint_badges(self, painter: QPainter) -> None:
        index = self.graph.path_index(self.routine_id)
        if index is not None:
            center = QPointF(-2, -2)
            painter.setPen(QPen(QColor("#ffffff"), 1.5))
            painter.setBrush(glyphs.PATH)
            painter.drawEllipse(center, 11, 11)
            painter.setFont(_font(11, bold=True))
            painter.setPen(QColor("#ffffff"))
            painter.drawText(
                QRectF(-13, -13, 22, 22), Qt.AlignmentFlag.AlignCenter, str(index + 1)
            )
        findings = self.graph.findings(self.routine_id)
        if findings:
            is_error = any(finding.is_error for finding in findings)
            badge = QRectF(self._rect.width() - 9, -11, 20, 20)
            glyphs.draw_warning_badge(
                painter, badge, is_error=is_error, count=len(findings)
            )


def _paint_breakpoint(
    painter: QPainter, center: QPointF, items: tuple[BreakpointInfo, ...]
) -> None:
    first = items[0]
    glyphs.draw_breakpoint(
        painter,
        center,
        BREAKPOINT_RADIUS,
        enabled=any(item.enabled for item in items),
        conditional=any(item.condition or item.hit_condition for item in items),
        logpoint=all(item.is_logpoint for item in items) and first.is_logpoint,
    )
