"""FlowViewsController: the selected job's flow, trace and live events on the graph."""

from __future__ import annotations

import pytest

from app.controllers.breakpoints import BreakpointsController
from app.controllers.flow_views import FlowViewsController
from app.models.run_state import NodeStatus
from app.services.debug_api import DebugApi
from app.services.flow_api import FlowApi

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


@pytest.fixture
def controller(api, run_async, qtbot):
    controller = FlowViewsController(
        FlowApi(api), BreakpointsController(DebugApi(api)), refresh_delay_ms=5
    )
    flows, _errors = run_async(api.list_flows())
    with qtbot.waitSignal(controller.graph.layout_changed):
        controller.set_flows(flows)
    yield controller
    run_async(controller.aclose())


def event(for_job, event_type, **data):
    return {
        "type": event_type,
        "job_id": for_job["job_id"],
        "flow_id": for_job["flow_id"],
        "data": data,
    }


def select(controller, job, qtbot):
    with qtbot.waitSignal(
        controller.job_changed, check_params_cb=lambda j: j is not None
    ):
        controller.select_job(job["job_id"])
    qtbot.waitUntil(lambda: controller.timeline.entry_count > 0)


def test_first_flow_is_shown(controller):
    assert controller.graph.flow_id == "demo_flow"
    assert set(controller.graph.nodes) == {"reader", "writer"}


def test_selected_job_shows_its_trace_state(fake_server, controller, qtbot):
    job = fake_server.add_job(status="running")

    select(controller, job, qtbot)

    graph = controller.graph
    assert graph.job_id == job["job_id"]
    assert graph.state("reader").status is NodeStatus.COMPLETED
    assert graph.state("reader").runs == 1
    assert controller.timeline.executions[0].routine_id == "reader"


def test_events_update_the_graph_at_once(fake_server, controller, qtbot):
    job = fake_server.add_job(status="running")
    select(controller, job, qtbot)

    with qtbot.waitSignal(controller.graph.states_changed) as blocker:
        controller.handle_event(event(job, "routine_started", routine_id="writer"))

    assert blocker.args == [["writer"]]
    assert controller.graph.state("writer").status is NodeStatus.RUNNING


def test_refresh_from_a_server_without_offsets_adds_nothing(
    fake_server, controller, qtbot
):
    # The fake server sends its whole trace whatever the offset, as the
    # stock server does; the refresh after an event must add nothing.
    job = fake_server.add_job(status="running")
    select(controller, job, qtbot)
    controller.handle_event(event(job, "routine_started", routine_id="writer"))

    with qtbot.waitSignal(
        controller.trace_loading_changed, check_params_cb=lambda busy: not busy
    ):
        pass

    assert controller.timeline.entry_count == 2
    assert len(controller.timeline.executions) == 1
    assert controller.graph.state("reader").runs == 1


def test_pause_and_end_of_job(fake_server, controller, qtbot):
    job = fake_server.add_job(status="running")
    select(controller, job, qtbot)
    controller.handle_event(event(job, "routine_started", routine_id="writer"))

    controller.handle_event(
        event(
            job,
            "job_paused",
            routine_id="writer",
            kind="slot",
            slot="input",
            job={**fake_server.summary(job["job_id"]), "status": "paused"},
        )
    )
    assert controller.graph.state("writer").paused_at == ("slot", "input")
    assert controller.job.status == "paused"

    controller.handle_event(
        event(
            job,
            "job_cancelled",
            job={**fake_server.summary(job["job_id"]), "status": "cancelled"},
        )
    )
    assert controller.graph.state("writer").status is NodeStatus.INTERRUPTED
    assert controller.job.status == "cancelled"


def test_events_of_other_jobs_are_ignored(fake_server, controller, qtbot):
    job = fake_server.add_job(status="running")
    other = fake_server.add_job(status="running")
    select(controller, job, qtbot)

    with qtbot.assertNotEmitted(controller.graph.states_changed):
        controller.handle_event(event(other, "routine_started", routine_id="writer"))


def test_job_of_another_flow_switches_the_graph(fake_server, controller, qtbot):
    job = fake_server.add_job(flow_id="other_flow")

    with qtbot.waitSignal(controller.flow_shown) as blocker:
        controller.select_job(job["job_id"])

    assert blocker.args == ["other_flow"]
    assert set(controller.graph.nodes) == {"start"}


def test_no_job_clears_the_state(fake_server, controller, qtbot):
    job = fake_server.add_job()
    select(controller, job, qtbot)

    controller.select_job(None)

    assert controller.graph.job_id is None
    assert controller.graph.state("reader").runs == 0
    assert controller.timeline.rowCount() == 0
