"""The flow graph pane: layout of large flows, clicks, zoom, export and live marks."""

from __future__ import annotations

import random

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage

from app.controllers.breakpoints import BreakpointsController
from app.controllers.flow_views import FlowViewsController
from app.models.records import FlowInfo
from app.models.run_state import NodeRunState
from app.services.debug_api import DebugApi
from app.services.flow_api import FlowApi
from app.views.graph.edge_item import EdgeItem
from app.views.graph.graph_panel import FlowGraphPanel
from app.views.graph.items import GUTTER, NodeItem


def big_flow(count=300, seed=3):
    rng = random.Random(seed)
    routines = {
        f"r{i:03}": {
            "class_name": "Step",
            "slots": ["input", "extra"][: 1 + i % 2],
            "events": ["out", "err"],
        }
        for i in range(count)
    }
    connections = []
    for i in range(1, count):
        source = f"r{rng.randrange(max(0, i - 10), i):03}"
        connections.append(
            {
                "source_routine": source,
                "source_event": "out",
                "target_routine": f"r{i:03}",
                "target_slot": "input",
            }
        )
    for _ in range(count // 6):
        a, b = rng.randrange(count), rng.randrange(count)
        connections.append(
            {
                "source_routine": f"r{a:03}",
                "source_event": "err",
                "target_routine": f"r{b:03}",
                "target_slot": "input",
            }
        )
    return FlowInfo.from_json(
        {
            "flow_id": "big",
            "routines": routines,
            "connections": connections,
            "entry_routines": ["r000"],
        }
    )


SMALL = FlowInfo.from_json(
    {
        "flow_id": "small",
        "routines": {
            "reader": {
                "class_name": "Reader",
                "slots": ["input"],
                "events": ["record"],
            },
            "writer": {
                "class_name": "Writer",
                "slots": ["input", "flush"],
                "events": ["done"],
            },
        },
        "connections": [
            {
                "source_routine": "reader",
                "source_event": "record",
                "target_routine": "writer",
                "target_slot": "input",
            }
        ],
        "entry_routines": ["reader"],
    }
)


@pytest.fixture
def make_panel(api, qtbot, run_async):
    made = []

    def make(flows):
        controller = FlowViewsController(
            FlowApi(api), BreakpointsController(DebugApi(api))
        )
        panel = FlowGraphPanel(controller.graph)
        qtbot.addWidget(panel)
        panel.resize(1000, 700)
        panel.show()
        controller.layout_busy_changed.connect(panel.set_layout_busy)
        made.append(controller)
        with qtbot.waitSignal(controller.graph.layout_changed, timeout=20_000):
            controller.set_flows(flows)
        return controller, panel

    yield make
    for controller in made:
        run_async(controller.aclose())


def scene_point(panel, routine_id, local):
    item = panel.scene.node_item(routine_id)
    return panel.view.mapFromScene(item.mapToScene(local))


def test_three_hundred_routines_are_laid_out_off_the_qt_thread(make_panel, qtbot):
    flow = big_flow()

    controller, panel = make_panel([flow])

    nodes = panel.scene.node_items
    assert len(nodes) == 300
    assert all(item.isVisible() for item in nodes.values())
    assert len({(item.pos().x(), item.pos().y()) for item in nodes.values()}) == 300
    # One item per routine and per connection, nothing else.
    edges = [item for item in panel.scene.items() if isinstance(item, EdgeItem)]
    assert len(edges) == len(flow.connections)
    assert len(panel.scene.items()) == 300 + len(flow.connections)
    assert not panel.busy_label.isVisible()
    assert not panel.view.grab().isNull()


def test_large_layout_reports_busy_while_it_runs(api, qtbot, run_async):
    controller = FlowViewsController(FlowApi(api), BreakpointsController(DebugApi(api)))
    busy = []
    controller.layout_busy_changed.connect(busy.append)

    with qtbot.waitSignal(controller.graph.layout_changed, timeout=20_000):
        controller.set_flows([big_flow(120)])

    assert busy == [True, False]
    run_async(controller.aclose())


def test_click_on_a_slot_requests_a_breakpoint_there(make_panel, qtbot):
    controller, panel = make_panel([SMALL])
    writer = controller.graph.nodes["writer"]

    slot = scene_point(panel, "writer", QPointF(20, writer.port_y(1)))
    with qtbot.waitSignal(panel.view.breakpoint_toggle_requested) as blocker:
        qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=slot)

    assert blocker.args == ["writer", "slot", "flush"]
    assert panel.view.selected_routine() == "writer"


def test_click_on_an_event_and_on_the_routine_mark(make_panel, qtbot):
    controller, panel = make_panel([SMALL])
    reader = controller.graph.nodes["reader"]

    event = scene_point(panel, "reader", QPointF(reader.size[0] - 20, reader.port_y(0)))
    with qtbot.waitSignal(panel.view.breakpoint_toggle_requested) as blocker:
        qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=event)
    assert blocker.args == ["reader", "event", "record"]

    mark = scene_point(panel, "reader", GUTTER)
    with qtbot.waitSignal(panel.view.breakpoint_toggle_requested) as blocker:
        qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=mark)
    assert blocker.args == ["reader", "routine", None]


def test_click_on_the_body_selects_without_a_breakpoint(make_panel, qtbot):
    controller, panel = make_panel([SMALL])
    footer = scene_point(
        panel, "writer", QPointF(100, controller.graph.nodes["writer"].size[1] - 8)
    )

    with qtbot.assertNotEmitted(panel.view.breakpoint_toggle_requested):
        with qtbot.waitSignal(panel.view.node_selected) as blocker:
            qtbot.mouseClick(
                panel.view.viewport(), Qt.MouseButton.LeftButton, pos=footer
            )

    assert blocker.args == ["writer"]


def test_zoom_keys_wheel_and_fit(make_panel, qtbot):
    controller, panel = make_panel([big_flow(60)])
    view = panel.view
    view.setFocus()
    fitted = view.zoom
    scene_rect = view.sceneRect()
    assert (
        view.mapToScene(view.viewport().rect())
        .boundingRect()
        .contains(scene_rect.adjusted(2, 2, -2, -2))
    )

    qtbot.keyClick(view, Qt.Key.Key_Plus)
    assert view.zoom == pytest.approx(fitted * 1.2)
    qtbot.keyClick(view, Qt.Key.Key_Minus)
    qtbot.keyClick(view, Qt.Key.Key_Minus)
    assert view.zoom == pytest.approx(fitted / 1.2)
    qtbot.keyClick(view, Qt.Key.Key_0)
    assert view.zoom == pytest.approx(1.0)
    qtbot.keyClick(view, Qt.Key.Key_F)
    assert view.zoom == pytest.approx(fitted)


def test_export_png_and_svg(make_panel, tmp_path, qtbot):
    controller, panel = make_panel([SMALL])

    assert panel.export_to(str(tmp_path / "graph.png"))
    assert panel.export_to(str(tmp_path / "graph.svg"))

    image = QImage(str(tmp_path / "graph.png"))
    assert not image.isNull()
    assert image.width() > image.height() > 0
    svg = (tmp_path / "graph.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml")
    assert "<svg" in svg
    assert "reader" in svg and "writer" in svg
    # The node items keep their pixel cache after the export.
    item = panel.scene.node_item("reader")
    assert item.cacheMode() is NodeItem.CacheMode.DeviceCoordinateCache


def test_node_tool_tip_reads_the_live_state(make_panel, qtbot):
    controller, panel = make_panel([SMALL])
    graph = controller.graph
    graph.set_job("job-1")
    graph.set_states(
        {
            "writer": NodeRunState(
                runs=3, running=1, completed=1, failed=1, last_error="boom"
            )
        }
    )

    tip = panel.scene.node_item("writer")._summary_tip()

    assert "running · 3 runs · 1 failed" in tip
    assert "Last error: boom" in tip
