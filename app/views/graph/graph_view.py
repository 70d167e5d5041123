"""The flow graph's scene and view: items kept in step with a FlowGraph, zoom and pan.

The scene makes one item per routine and per connection when a flow is
shown, positions them when the layout arrives, and repaints only the nodes
whose state, breakpoints or marks changed. The view zooms with the wheel or
the keys + - 0 and F (fit), pans by dragging, and turns a click on a port
or on a routine's round mark into a breakpoint toggle request.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QWidget

from app.models.flow_graph import FlowGraph
from app.views.graph import glyphs
from app.views.graph.edge_item import EdgeItem
from app.views.graph.items import NodeItem

logger = logging.getLogger(__name__)

MIN_ZOOM = 0.02
MAX_ZOOM = 3.0
ZOOM_STEP = 1.2
SCENE_MARGIN = 60.0


class FlowGraphScene(QGraphicsScene):
    """Nodes and edges of the graph's flow.

    Signals:
        layout_applied: The items have their positions; views may fit them.
    """

    layout_applied = Signal()

    def __init__(self, graph: FlowGraph, parent: QWidget | None = None):
        super().__init__(parent)
        self.graph = graph
        self._nodes: dict[str, NodeItem] = {}
        self._edges: list[EdgeItem] = []
        self.setBackgroundBrush(glyphs.CANVAS)
        graph.flow_changed.connect(self._on_graph_flow_changed)
        graph.layout_changed.connect(self._on_graph_layout_changed)
        graph.states_changed.connect(self._on_graph_nodes_changed)
        graph.breakpoints_changed.connect(self._on_graph_nodes_changed)
        graph.dry_run_changed.connect(self._on_graph_dry_run_changed)
        self._on_graph_flow_changed()

    @property
    def node_items(self) -> dict[str, NodeItem]:
        """The node items by routine id."""
        return self._nodes

    @property
    def edge_items(self) -> list[EdgeItem]:
        """The edge items in connection order."""
        return self._edges

    def node_item(self, routine_id: str) -> NodeItem | None:
        """Return the item of ``routine_id``, or None."""
        return self._nodes.get(routine_id)

    @Slot()
    def _on_graph_flow_changed(self) -> None:
        self.clear()
        graph = self.graph
        self._nodes = {rid: NodeItem(graph, node) for rid, node in graph.nodes.items()}
        self._edges = [EdgeItem(graph, edge) for edge in graph.edges]
        # Items stay hidden until the layout gives them their places.
        for item in (*self._nodes.values(), *self._edges):
            item.setVisible(False)
            self.addItem(item)
        if graph.layout is not None:
            self._on_graph_layout_changed()

    @Slot()
    def _on_graph_layout_changed(self) -> None:
        for rid, item in self._nodes.items():
            item.setPos(QPointF(*self.graph.position(rid)))
            item.setVisible(True)
        for edge in self._edges:
            edge.update_path()
            edge.setVisible(True)
        bounds = self.itemsBoundingRect()
        margin = SCENE_MARGIN
        self.setSceneRect(bounds.adjusted(-margin, -margin, margin, margin))
        self.layout_applied.emit()

    @Slot(list)
    def _on_graph_nodes_changed(self, routine_ids: list[str]) -> None:
        for rid in routine_ids:
            item = self._nodes.get(rid)
            if item is not None:
                item.update()

    @Slot()
    def _on_graph_dry_run_changed(self) -> None:
        for item in (*self._nodes.values(), *self._edges):
            item.update()


class FlowGraphView(QGraphicsView):
    """Shows a FlowGraphScene with zoom, pan and breakpoint clicks.

    Signals:
        breakpoint_toggle_requested(str, str, object): Routine id, kind
            (slot, event or routine) and port name (None for a routine run).
        node_selected(object): The selected routine id, or None.
        zoom_changed(float): The new zoom factor, 1.0 being 100 %.
    """

    breakpoint_toggle_requested = Signal(str, str, object)
    node_selected = Signal(object)
    zoom_changed = Signal(float)

    def __init__(self, scene: FlowGraphScene, parent: QWidget | None = None):
        super().__init__(scene, parent)
        self.setObjectName("flow_graph_view")
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
        )
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._scene = scene
        self._auto_fit = True
        self._port_pressed = False
        scene.selectionChanged.connect(self._on_scene_selection_changed)

    @property
    def zoom(self) -> float:
        """The current zoom factor."""
        return self.transform().m11()

    # -- zoom and pan -------------------------------------------------------------

    def set_zoom(self, factor: float) -> None:
        """Zoom to ``factor`` (clamped), keeping the point under the anchor in place.

        After a zoom the view no longer fits the graph to its size on resize.
        """
        self._auto_fit = False
        factor = min(max(factor, MIN_ZOOM), MAX_ZOOM)
        current = self.zoom
        if current <= 0 or abs(factor - current) < 1e-9:
            return
        self.scale(factor / current, factor / current)
        self.zoom_changed.emit(self.zoom)

    @Slot()
    def zoom_in(self) -> None:
        """Zoom in one step."""
        self.set_zoom(self.zoom * ZOOM_STEP)

    @Slot()
    def zoom_out(self) -> None:
        """Zoom out one step."""
        self.set_zoom(self.zoom / ZOOM_STEP)

    @Slot()
    def reset_zoom(self) -> None:
        """Show the graph at 100 %."""
        self.set_zoom(1.0)

    @Slot()
    def fit_to_window(self) -> None:
        """Zoom so the whole graph fits, at most to 100 %, and keep it fitted on resize."""
        rect = self.sceneRect()
        if self._scene.itemsBoundingRect().isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom > 1.0 or self.zoom < MIN_ZOOM:
            self.set_zoom(min(max(self.zoom, MIN_ZOOM), 1.0))
            self.centerOn(rect.center())
        self._auto_fit = True
        self.zoom_changed.emit(self.zoom)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        """Extend resizeEvent to fit the graph again until the user zooms."""
        super().resizeEvent(event)
        if self._auto_fit:
            self.fit_to_window()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        """Override wheelEvent: the wheel zooms around the mouse; Shift+wheel scrolls."""
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            super().wheelEvent(event)
            return
        steps = event.angleDelta().y() / 120
        if steps:
            self.set_zoom(self.zoom * ZOOM_STEP**steps)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        """Override keyPressEvent: + and - zoom, 0 shows 100 %, F fits the graph."""
        actions = {
            Qt.Key.Key_Plus: self.zoom_in,
            Qt.Key.Key_Equal: self.zoom_in,
            Qt.Key.Key_Minus: self.zoom_out,
            Qt.Key.Key_0: self.reset_zoom,
            Qt.Key.Key_F: self.fit_to_window,
        }
        action = actions.get(Qt.Key(event.key()))
        if action is None or event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().keyPressEvent(event)
            return
        action()
        event.accept()

    # -- clicks and selection -------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        """Override mousePressEvent: a click on a port or a routine mark toggles a breakpoint."""
        if event.button() == Qt.MouseButton.LeftButton:
            item = self.itemAt(event.position().toPoint())
            if isinstance(item, NodeItem):
                scene_pos = self.mapToScene(event.position().toPoint())
                part = item.part_at(item.mapFromScene(scene_pos))
                if part is not None:
                    self._port_pressed = True
                    self.select_routine(item.routine_id, center=False)
                    kind, port = part
                    self.breakpoint_toggle_requested.emit(item.routine_id, kind, port)
                    event.accept()
                    return
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        """Override mouseReleaseEvent to swallow the release of a port click.

        Passed on, a release without its press makes the hand-drag mode
        treat it as a click on empty space, which clears the selection.
        """
        if self._port_pressed and event.button() == Qt.MouseButton.LeftButton:
            self._port_pressed = False
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def select_routine(self, routine_id: str | None, *, center: bool = True) -> bool:
        """Select the node of ``routine_id`` and scroll it into view; return whether it exists."""
        item = self._scene.node_item(routine_id) if routine_id else None
        self._scene.clearSelection()
        if item is None:
            return False
        item.setSelected(True)
        if center:
            self.centerOn(item)
        return True

    def selected_routine(self) -> str | None:
        """Return the selected routine id, or None."""
        for item in self._scene.selectedItems():
            if isinstance(item, NodeItem):
                return item.routine_id
        return None

    @Slot()
    def _on_scene_selection_changed(self) -> None:
        self.node_selected.emit(self.selected_routine())

    def export_rect(self) -> QRectF:
        """Return the scene area an export covers: every item with a margin."""
        return self._scene.itemsBoundingRect().adjusted(-24, -24, 24, 24)
