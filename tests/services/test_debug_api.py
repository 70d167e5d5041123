"""The debugger client against a real embedded server on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from app.models.debug_records import BreakpointSpec
from app.services.api import ApiClient, ApiError
from app.services.debug_api import DebugApi
from embedded_server.settings import Settings
from tests.conftest import FIXTURES
from tests.serverutil import start_server
from tests.support.debug_env import collect_on_main_thread

API_KEY = "debug-api-test-key"


@pytest.fixture
def make_server(request, tmp_path):
    with collect_on_main_thread(request):
        yield from _servers(tmp_path)


def _servers(tmp_path):
    started = []

    def make(**overrides):
        options = {
            "routines_dirs": [FIXTURES / "routines"],
            "flows_dirs": [FIXTURES / "flows"],
            "db_path": tmp_path / f"history-{len(started)}.db",
            "api_key": API_KEY,
            "allow_evaluate": True,
            "rate_limit_per_minute": 0,
        }
        options.update(overrides)
        running = start_server(Settings(**options))
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def debug(server, run):
    client = ApiClient(server.url, API_KEY)
    yield DebugApi(client)
    run(client.aclose())


def submit(server, params):
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=10) as http:
        body = {
            "flow_id": "pipeline",
            "routine_id": "source",
            "slot_name": "input",
            "data": params,
        }
        response = http.post("/api/v1/jobs", json=body)
        assert response.status_code == 201, response.text
        return response.json()["job_id"]


def wait_paused(server, job_id):
    run = server.state.engine.active_run(job_id)
    assert run is not None, "the job ended before it paused"
    run.wait_state(lambda: run.debug.pause is not None or run.terminal, 10)
    assert run.debug.pause is not None, f"the job ended as {run.record.status}"


def wait_done(server, job_id):
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as http:
        http.post(f"/api/v1/jobs/{job_id}/wait", params={"timeout": 20})
        return http.get(f"/api/v1/jobs/{job_id}").json()


def test_flow_breakpoint_lifecycle(debug, run):
    """A flow breakpoint can be created, listed, edited, disabled and removed."""
    created = run(debug.create_flow_breakpoint(
        "pipeline", BreakpointSpec("middle", "slot", "input", condition="value > 5")
    ))  # fmt: skip
    listed = run(debug.list_flow_breakpoints("pipeline"))
    edited = run(debug.update_breakpoint(created, condition="value > 6", enabled=False))
    run(debug.delete_breakpoint(created))

    assert created.flow_id == "pipeline"
    assert created.slot_name == "input"
    assert [item.breakpoint_id for item in listed] == [created.breakpoint_id]
    assert (edited.condition, edited.enabled) == ("value > 6", False)
    assert run(debug.list_flow_breakpoints("pipeline")) == []


def test_invalid_condition_gives_column(debug, run):
    """A condition that does not parse is rejected with 422 and its column."""
    with pytest.raises(ApiError) as caught:
        run(debug.create_flow_breakpoint(
            "pipeline", BreakpointSpec("middle", condition="value >> == 😀")
        ))  # fmt: skip

    assert caught.value.status == 422
    assert caught.value.code == "INVALID_EXPRESSION"
    assert caught.value.details["field"] == "condition"
    assert isinstance(caught.value.details["column"], int)


def test_job_breakpoint_lifecycle(server, debug, run):
    """Breakpoints of one job are listed, edited and removed on the job's routes."""
    job_id = submit(server, {"value": 1})
    created = run(
        debug.create_job_breakpoint(job_id, BreakpointSpec("sink", "slot", "input"))
    )
    edited = run(debug.update_breakpoint(created, hit_condition=">= 2"))

    assert created.job_id == job_id
    assert created.scope == "job"
    assert edited.hit_condition == ">= 2"
    assert [item.breakpoint_id for item in run(debug.list_job_breakpoints(job_id))] == [
        created.breakpoint_id
    ]
    run(debug.delete_breakpoint(created))
    assert run(debug.list_job_breakpoints(job_id)) == []


def test_inspect_edit_step_and_resume(server, debug, run):
    """A paused job can be inspected, changed, stepped and continued."""
    run(
        debug.create_flow_breakpoint(
            "pipeline", BreakpointSpec("sink", "slot", "input")
        )
    )
    job_id = submit(server, {"value": 4})
    wait_paused(server, job_id)

    session = run(debug.session(job_id))
    frames = run(debug.call_stack(job_id))
    names = {variable.name: variable for variable in run(debug.variables(job_id, 0))}
    evaluated = run(debug.evaluate(job_id, "value * 10"))
    missing = run(debug.evaluate(job_id, "nope"))
    changed = run(debug.set_variable(job_id, "value", 400))
    stepped = run(debug.step_over(job_id))

    assert session.paused
    assert session.frame.describe() == "slot sink.input"
    assert frames[0].routine_id == "sink"
    assert len(frames) > 3
    assert names["value"].editable
    assert not names["routine_id"].editable
    assert (evaluated.type, evaluated.result["repr"]) == ("int", "40")
    assert missing.error == "NameError: name 'nope' is not defined"
    assert changed.preview["repr"] == "400"
    assert not stepped.paused

    wait_paused(server, job_id)
    assert run(debug.session(job_id)).frame.kind == "routine"
    assert not run(debug.resume(job_id)).paused
    done = wait_done(server, job_id)
    assert done["status"] == "completed"
    assert done["data"]["received"] == {"value": 400}


def test_state_errors_map_to_api_error(server, debug, run):
    """Calls that need another state raise ApiError with the server's code."""
    with pytest.raises(ApiError) as unknown:
        run(debug.session("no-such-job"))
    job_id = submit(server, {"value": 1})
    wait_done(server, job_id)
    with pytest.raises(ApiError) as ended:
        run(debug.resume(job_id))

    assert (unknown.value.status, unknown.value.code) == (404, "JOB_NOT_FOUND")
    assert (ended.value.status, ended.value.code) == (409, "JOB_NOT_RUNNING")


def test_evaluate_turned_off(make_server, run):
    """A server without --allow-evaluate refuses evaluate with 403."""
    server = make_server(allow_evaluate=False)
    client = ApiClient(server.url, API_KEY)
    debug = DebugApi(client)
    try:
        run(
            debug.create_flow_breakpoint(
                "pipeline", BreakpointSpec("sink", "slot", "input")
            )
        )
        job_id = submit(server, {"value": 1})
        wait_paused(server, job_id)
        with pytest.raises(ApiError) as caught:
            run(debug.evaluate(job_id, "value"))
        run(debug.api.cancel_job(job_id))
    finally:
        run(client.aclose())

    assert (caught.value.status, caught.value.code) == (403, "EVALUATE_DISABLED")


def test_unknown_update_field_is_a_type_error(debug, run):
    """Only the editable breakpoint fields can be sent in an update."""
    created = run(debug.create_flow_breakpoint("pipeline", BreakpointSpec("sink")))
    with pytest.raises(TypeError, match="routine_id"):
        run(debug.update_breakpoint(created, routine_id="source"))
