"""DebugController against a real embedded server and its live event stream."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.controllers import notify
from app.controllers.debugger import DebugController, DebugState
from app.models.debug_records import BreakpointSpec
from app.models.watch_model import WatchColumn, WatchModel
from app.services.debug_api import DebugApi
from tests.support.debug_env import debug_env_fixture, debug_server_fixture  # noqa: F401

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


@pytest.fixture
def controller(debug_env, run_async, tmp_path):
    controller = DebugController(
        DebugApi(debug_env.api),
        watch_model=WatchModel(path=tmp_path / "watches.json"),
        refresh_delay_ms=10,
    )
    debug_env.stream.event_received.connect(controller.handle_event)
    flows, _errors = run_async(debug_env.api.list_flows())
    controller.breakpoints.set_flows(flows)
    yield controller
    run_async(controller.aclose())


def submit(env, params):
    body = {
        "flow_id": "pipeline",
        "routine_id": "source",
        "slot_name": "input",
        "data": params,
    }
    return env.post("/api/v1/jobs", body)["job_id"]


def add_breakpoint(controller, run_async, spec, flow_id="pipeline"):
    return run_async(controller.breakpoints.create(spec, flow_id=flow_id))


def variable_value(controller, name):
    index = controller.variables_model.find(name)
    return index.data() if index.isValid() else None


def watch_value(controller, row):
    return controller.watch_model.index(row, WatchColumn.VALUE).data()


def wait_state(qtbot, controller, state, timeout=10_000):
    qtbot.waitUntil(lambda: controller.state is state, timeout=timeout)


def test_pause_loads_variables_stack_and_watches(
    debug_env, controller, qtbot, run_async
):
    """When the selected job pauses, its frames, variables and watches appear."""
    add_breakpoint(controller, run_async, BreakpointSpec("sink", "slot", "input"))
    controller.watch_model.add_expression("value * 10")
    controller.watch_model.add_expression("nope")
    job_id = submit(debug_env, {"value": 4})
    controller.select_job(job_id)

    wait_state(qtbot, controller, DebugState.PAUSED)
    qtbot.waitUntil(lambda: watch_value(controller, 0) == "40", timeout=10_000)

    assert controller.pause.frame.describe() == "slot sink.input"
    assert controller.flow_id == "pipeline"
    assert variable_value(controller, "value") == "4"
    assert controller.call_stack_model.rowCount() > 3
    assert watch_value(controller, 1) == "NameError: name 'nope' is not defined"


def test_frame_choice_reloads_variables_and_watches(
    debug_env, controller, qtbot, run_async
):
    """Choosing an older frame shows that frame's names and watch values."""
    add_breakpoint(controller, run_async, BreakpointSpec("sink", "slot", "input"))
    controller.watch_model.add_expression("routine_id")
    controller.select_job(submit(debug_env, {"value": 4}))
    wait_state(qtbot, controller, DebugState.PAUSED)
    qtbot.waitUntil(lambda: watch_value(controller, 0) == "'sink'", timeout=10_000)

    oldest = controller.call_stack_model.rowCount() - 1
    with qtbot.waitSignal(controller.variables_model.modelReset, timeout=10_000):
        controller.select_frame(oldest)
    qtbot.waitUntil(lambda: watch_value(controller, 0) == "'source'", timeout=10_000)

    assert controller.variables_model.frame_index == oldest
    assert variable_value(controller, "routine_id") == "'source'"


def test_edit_step_and_continue(debug_env, controller, qtbot, run_async):
    """An edited value goes on with the job through a step and a continue."""
    add_breakpoint(controller, run_async, BreakpointSpec("sink", "slot", "input"))
    job_id = submit(debug_env, {"value": 4})
    controller.select_job(job_id)
    wait_state(qtbot, controller, DebugState.PAUSED)

    model = controller.variables_model
    assert model.setData(model.find("value"), "400", Qt.ItemDataRole.EditRole)
    qtbot.waitUntil(
        lambda: variable_value(controller, "value") == "400", timeout=10_000
    )

    controller.step_over()
    qtbot.waitUntil(
        lambda: (
            controller.pause is not None and controller.pause.frame.kind == "routine"
        ),
        timeout=10_000,
    )
    controller.resume()
    wait_state(qtbot, controller, DebugState.ENDED)

    job = run_async(debug_env.api.get_job(job_id))
    assert job.status == "completed"
    assert job.data["received"] == {"value": 400}


def test_rejected_edit_is_reported(debug_env, controller, qtbot, run_async):
    """A value the server refuses is reported with its reason."""
    add_breakpoint(controller, run_async, BreakpointSpec("sink", "routine"))
    controller.select_job(submit(debug_env, {"value": 4}))
    wait_state(qtbot, controller, DebugState.PAUSED)

    model = controller.variables_model
    with qtbot.waitSignal(controller.variable_edit_failed, timeout=10_000) as blocker:
        model.setData(
            model.find("input"), '{"not": "a list"}', Qt.ItemDataRole.EditRole
        )

    assert blocker.args[0] == "input"
    assert "list" in blocker.args[1]


def test_stop_cancels_paused_job(debug_env, controller, qtbot, run_async):
    """Stop cancels the paused job and clears the panes."""
    add_breakpoint(controller, run_async, BreakpointSpec("middle", "slot", "input"))
    job_id = submit(debug_env, {"value": 1})
    controller.select_job(job_id)
    wait_state(qtbot, controller, DebugState.PAUSED)

    controller.stop()
    wait_state(qtbot, controller, DebugState.ENDED)

    assert controller.variables_model.rowCount() == 0
    assert run_async(debug_env.api.get_job(job_id)).status == "cancelled"


def test_any_paused_job_is_announced(debug_env, controller, qtbot, run_async):
    """A job that pauses while another is selected is announced with its place."""
    add_breakpoint(controller, run_async, BreakpointSpec("middle", "slot", "input"))

    with qtbot.waitSignal(controller.job_paused, timeout=10_000) as blocker:
        job_id = submit(debug_env, {"value": 1})

    assert blocker.args[0] == job_id
    assert blocker.args[1]["routine_id"] == "middle"
    assert controller.state is DebugState.NONE
    debug_env.post(f"/api/v1/jobs/{job_id}/cancel")


def test_condition_error_is_shown(debug_env, controller, qtbot, run_async):
    """A failing condition is reported and its error appears on the breakpoint."""
    item = add_breakpoint(
        controller,
        run_async,
        BreakpointSpec("middle", "slot", "input", condition="missing > 1"),
    )
    with qtbot.waitSignal(notify.bridge().message_posted, timeout=10_000) as blocker:
        submit(debug_env, {"value": 1})

    assert "missing" in blocker.args[0].text
    model = controller.breakpoints.model
    qtbot.waitUntil(
        lambda: (
            model.breakpoint_at(model.row_of(item.breakpoint_id)).last_error is not None
        ),
        timeout=10_000,
    )
    assert "NameError" in model.breakpoint_at(0).last_error


def test_watch_added_while_paused_is_evaluated(debug_env, controller, qtbot, run_async):
    """A watch typed during a pause is evaluated at once."""
    add_breakpoint(controller, run_async, BreakpointSpec("sink", "slot", "input"))
    controller.select_job(submit(debug_env, {"value": 3}))
    wait_state(qtbot, controller, DebugState.PAUSED)

    model = controller.watch_model
    model.setData(
        model.index(model.rowCount() - 1, WatchColumn.EXPRESSION), "value + 1"
    )

    qtbot.waitUntil(lambda: watch_value(controller, 0) == "4", timeout=10_000)
    assert model.index(0, WatchColumn.TYPE).data() == "int"
