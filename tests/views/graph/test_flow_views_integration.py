"""The flow graph, timeline and dry run in the main window, against a real embedded server."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt

from app.controllers import notify
from app.controllers.breakpoints import BreakpointsController
from app.controllers.session import Session
from app.models import ui_state
from app.models.debug_records import BreakpointSpec
from app.models.records import ServerInfo
from app.models.run_state import NodeStatus
from app.models.timeline_model import ExecutionStatus
from app.services.api import ApiClient
from app.services.debug_api import DebugApi
from app.services.stream import ConnectionState, EventStream
from app.views.graph.install import GRAPH_DOCK, TIMELINE_DOCK, install_flow_views
from app.views.graph.items import GUTTER
from app.views.main_window import MainWindow
from tests.views.graph.conftest import API_KEY, http

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    # The offscreen platform warns whenever a top-level window is shown.
    pytest.mark.qt_log_ignore("propagateSizeHints"),
]


@pytest.fixture
def make_app(demo_server, qtbot, run_async, tmp_path):
    """Return a function that builds a main window with a live session and the flow views."""

    def make(*, shared_breakpoints: bool = False):
        window = MainWindow(ui_state.UiState(), state_path=tmp_path / "ui-state.json")
        api = ApiClient(demo_server.url, API_KEY)
        stream = EventStream(demo_server.url, API_KEY)
        session = Session(api, stream)
        window.attach_session(session)
        breakpoints = (
            BreakpointsController(DebugApi(api)) if shared_breakpoints else None
        )
        ui = install_flow_views(
            window,
            api=api,
            stream=stream,
            job_selected=window.jobs_panel.job_selected,
            flows_changed=session.flows_changed,
            flows=session.flows,
            breakpoints=breakpoints,
        )

        async def close_all():
            await ui.aclose()
            if breakpoints is not None:
                await breakpoints.aclose()
            await session.aclose()

        qtbot.addWidget(
            window, before_close_func=lambda _w: run_async(close_all(), timeout=10_000)
        )
        window.resize(1500, 950)
        window.show()
        run_async(session.start(window.current_filters().to_query()), timeout=10_000)
        qtbot.waitUntil(
            lambda: stream.status.state is ConnectionState.CONNECTED, timeout=10_000
        )
        qtbot.waitUntil(lambda: ui.controller.graph.layout is not None, timeout=10_000)
        return window, session, ui, breakpoints

    return make


def flow_breakpoints(server, flow_id="etl_orders"):
    with http(server) as client:
        return client.get(f"/api/v1/flows/{flow_id}/breakpoints").json()["breakpoints"]


def click_node(ui, qtbot, routine_id, local):
    panel = ui.graph_panel
    item = panel.scene.node_item(routine_id)
    panel.view.centerOn(item)
    pos = panel.view.mapFromScene(item.mapToScene(local))
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_docks_and_action_are_added(make_app):
    window, _session, ui, _ = make_app()

    assert ui.docks[GRAPH_DOCK].isVisible()
    assert ui.docks[TIMELINE_DOCK].widget() is ui.timeline_panel
    jobs_menu = next(
        a.menu() for a in window.menuBar().actions() if a.text() == "&Jobs"
    )
    names = [a.objectName() for a in jobs_menu.actions()]
    assert names.index("action_dry_run") == names.index("action_new_job") + 1
    assert ui.controller.graph.flow_id == "etl_orders"
    assert ui.graph_panel.flow_box.count() == 3


def test_clicking_a_slot_toggles_a_flow_breakpoint(make_app, demo_server, qtbot):
    _window, _session, ui, _ = make_app()
    graph = ui.controller.graph
    transformer = graph.nodes["transformer"]
    slot = QPointF(20, transformer.port_y(0))

    with qtbot.waitSignal(graph.breakpoints_changed, timeout=10_000):
        click_node(ui, qtbot, "transformer", slot)

    (stored,) = flow_breakpoints(demo_server)
    assert (stored["routine_id"], stored["kind"], stored["slot_name"]) == (
        "transformer",
        "slot",
        "input",
    )
    assert len(graph.port_breakpoints("transformer", "slot", "input")) == 1

    with qtbot.waitSignal(graph.breakpoints_changed, timeout=10_000):
        click_node(ui, qtbot, "transformer", slot)

    assert flow_breakpoints(demo_server) == []
    assert graph.port_breakpoints("transformer", "slot", "input") == ()


def test_clicking_the_routine_mark_sets_a_run_breakpoint(make_app, demo_server, qtbot):
    _window, _session, ui, _ = make_app()
    places = []
    ui.place_selected.connect(places.append)

    with qtbot.waitSignal(ui.controller.graph.breakpoints_changed, timeout=10_000):
        click_node(ui, qtbot, "validator", GUTTER)

    (stored,) = flow_breakpoints(demo_server)
    assert (stored["routine_id"], stored["kind"]) == ("validator", "routine")
    assert places[-1].routine_id == "validator"
    assert places[-1].kind == "routine"


def test_live_state_follows_a_paused_and_resumed_job(
    make_app, demo_server, qtbot, run_async
):
    window, session, ui, _ = make_app()
    graph = ui.controller.graph
    with http(demo_server) as client:
        body = {
            "routine_id": "transformer",
            "kind": "slot",
            "slot_name": "input",
            "condition": "record['id'] == 2",
        }
        assert (
            client.post("/api/v1/flows/etl_orders/breakpoints", json=body).status_code
            == 201
        )

    job = run_async(
        session.submit_job("etl_orders", "reader", "input", {"records": 4, "seed": 1})
    )
    window.jobs_panel.select_job(job.job_id)
    qtbot.waitUntil(
        lambda: graph.state("transformer").status is NodeStatus.PAUSED, timeout=15_000
    )

    assert graph.job_id == job.job_id
    assert graph.state("transformer").paused_at == ("slot", "input")
    assert graph.state("reader").status is NodeStatus.COMPLETED
    qtbot.waitUntil(lambda: len(ui.controller.timeline.executions) > 0, timeout=10_000)

    with http(demo_server) as client:
        client.post(f"/api/v1/jobs/{job.job_id}/debug/resume").raise_for_status()
    qtbot.waitUntil(
        lambda: (
            ui.controller.job is not None and ui.controller.job.status == "completed"
        ),
        timeout=15_000,
    )
    qtbot.waitUntil(
        lambda: (
            graph.state("aggregator").status is NodeStatus.COMPLETED
            and graph.state("transformer").paused_at is None
        ),
        timeout=15_000,
    )

    # Counts match the stored trace once every entry has arrived.
    with http(demo_server) as client:
        trace = client.get(f"/api/v1/jobs/{job.job_id}/trace").json()["trace_log"]
    started = {}
    for entry in trace:
        if entry["action"] == "routine_started":
            started[entry["routine_id"]] = started.get(entry["routine_id"], 0) + 1
    qtbot.waitUntil(
        lambda: ui.controller.timeline.entry_count == len(trace), timeout=10_000
    )
    assert {rid: graph.state(rid).runs for rid in started} == started
    assert len(ui.controller.timeline.executions) == sum(started.values())
    assert len(ui.controller.timeline.pauses) == 1
    assert "completed" in ui.graph_panel.job_label.text()


def test_failed_job_marks_the_failed_routine(make_app, qtbot, run_async):
    window, session, ui, _ = make_app()
    graph = ui.controller.graph

    job = run_async(
        session.submit_job(
            "etl_orders", "reader", "input", {"records": 5, "raise_at": 3, "seed": 1}
        )
    )
    window.jobs_panel.select_job(job.job_id)

    qtbot.waitUntil(
        lambda: graph.state("transformer").status is NodeStatus.FAILED, timeout=15_000
    )
    assert "raise_at=3" in graph.state("transformer").last_error
    timeline = ui.controller.timeline
    qtbot.waitUntil(
        lambda: any(e.status is ExecutionStatus.FAILED for e in timeline.executions),
        timeout=10_000,
    )
    (failed,) = [e for e in timeline.executions if e.status is ExecutionStatus.FAILED]
    assert failed.routine_id == "transformer"


def test_dry_run_action_marks_the_path_and_selects_findings(make_app, qtbot):
    _window, _session, ui, _ = make_app()

    ui.dry_run_action.trigger()
    dialog = ui.dry_run_dialog
    assert dialog is not None
    assert dialog.routine_box.currentData() == "reader"
    with qtbot.waitSignal(dialog.result_ready, timeout=20_000):
        dialog.run()

    graph = ui.controller.graph
    assert graph.dry_run is not None
    assert graph.path_index("reader") == 0
    assert ui.graph_panel.clear_dry_run_button.isVisible()
    assert [f.code for f in graph.findings("aggregator")] == ["EVENT_NOT_CONNECTED"]

    dialog.finding_selected.emit("aggregator")
    assert ui.graph_panel.view.selected_routine() == "aggregator"

    qtbot.mouseClick(ui.graph_panel.clear_dry_run_button, Qt.MouseButton.LeftButton)
    assert graph.dry_run is None
    dialog.close()


def test_shared_breakpoints_controller_shows_its_breakpoints(
    make_app, qtbot, run_async
):
    _window, _session, ui, breakpoints = make_app(shared_breakpoints=True)
    breakpoints.set_flows(list(ui.controller.flows.values()))
    graph = ui.controller.graph

    with qtbot.waitSignal(graph.breakpoints_changed, timeout=10_000):
        run_async(
            breakpoints.create(
                BreakpointSpec("aggregator", "slot", "input", condition="True"),
                flow_id="etl_orders",
            )
        )

    (item,) = graph.port_breakpoints("aggregator", "slot", "input")
    assert item.condition == "True"


def test_stock_server_turns_off_dry_run_and_graph_breakpoints(
    make_app, demo_server, qtbot
):
    _window, _session, ui, _ = make_app()
    stock = ServerInfo(name="routilux", version="1.1.0", is_stock=True)

    ui.set_server_info(stock)

    assert not ui.dry_run_action.isEnabled()
    assert ui.open_dry_run_dialog() is None
    slot = QPointF(20, ui.controller.graph.nodes["transformer"].port_y(0))
    with qtbot.waitSignal(
        notify.bridge().message_posted,
        check_params_cb=lambda message: "no flow breakpoints" in message.text,
    ):
        click_node(ui, qtbot, "transformer", slot)

    assert flow_breakpoints(demo_server) == []
