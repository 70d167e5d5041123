"""Breakpoints that pause jobs, stepping, variables, call stack and evaluate."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.sync.client import connect

from tests.embedded_server.test_jobs_api import submit, wait_done

SOURCE_IN = {"routine_id": "source", "slot_name": "input"}
MIDDLE_IN = {"routine_id": "middle", "slot_name": "input"}
SINK_IN = {"routine_id": "sink", "slot_name": "input"}


@pytest.fixture
def debug_server(make_server):
    return make_server(allow_evaluate=True)


@pytest.fixture
def http(debug_server):
    with httpx.Client(
        base_url=debug_server.url, headers=debug_server.headers, timeout=10
    ) as client:
        yield client


def add_breakpoint(http, flow_id="pipeline", **body):
    response = http.post(f"/api/v1/flows/{flow_id}/breakpoints", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def wait_paused(debug_server, job_id, timeout=10.0):
    """Block until the job pauses, on the run's own state condition."""
    run = debug_server.state.engine.active_run(job_id)
    assert run is not None, "the job ended before it paused"
    run.wait_state(lambda: run.debug.pause is not None or run.terminal, timeout)
    assert run.debug.pause is not None, (
        f"the job ended as {run.record.status} without pausing"
    )
    return run


def pause_point(http, job_id):
    session = http.get(f"/api/v1/jobs/{job_id}/debug/session").json()
    point = session["pause_point"]
    return (point["kind"], point["routine_id"], point["slot"] or point["event"])


def test_conditional_breakpoint_pauses_only_matching_job(debug_server, http):
    add_breakpoint(http, kind="slot", condition="value > 5", **MIDDLE_IN)

    small = submit(http, {"value": 3})
    big = submit(http, {"value": 9})
    wait_paused(debug_server, big["job_id"])

    assert wait_done(http, small["job_id"])["status"] == "completed"
    assert http.get(f"/api/v1/jobs/{big['job_id']}").json()["status"] == "paused"
    assert pause_point(http, big["job_id"]) == ("slot", "middle", "input")


def test_other_jobs_complete_while_one_is_paused(debug_server, http):
    add_breakpoint(http, kind="slot", condition="value == 1", **SINK_IN)
    paused = submit(http, {"value": 1})
    wait_paused(debug_server, paused["job_id"])

    others = [submit(http, {"value": i})["job_id"] for i in range(2, 7)]

    assert all(wait_done(http, job_id)["status"] == "completed" for job_id in others)
    assert http.get(f"/api/v1/jobs/{paused['job_id']}").json()["status"] == "paused"


def test_entry_slot_breakpoint_stops_fast_job(debug_server, http):
    add_breakpoint(http, **SOURCE_IN)

    job = submit(http, {"value": 1})
    wait_paused(debug_server, job["job_id"])

    assert pause_point(http, job["job_id"]) == ("slot", "source", "input")


def test_edit_variable_then_resume_changes_result(debug_server, http):
    add_breakpoint(http, **SINK_IN)
    job = submit(http, {"value": 4})
    wait_paused(debug_server, job["job_id"])

    edited = http.put(
        f"/api/v1/jobs/{job['job_id']}/debug/variables/value", json={"value": 400}
    )
    resumed = http.post(f"/api/v1/jobs/{job['job_id']}/debug/resume")
    done = wait_done(http, job["job_id"])

    assert edited.status_code == 200, edited.text
    assert resumed.status_code == 200
    assert done["data"]["received"] == {"value": 400}


def test_step_into_visits_every_pause_point_in_order(debug_server, http):
    add_breakpoint(http, **SOURCE_IN)
    job = submit(http, {"value": 2})
    job_id = job["job_id"]
    wait_paused(debug_server, job_id)

    points = [pause_point(http, job_id)]
    while True:
        http.post(f"/api/v1/jobs/{job_id}/debug/step-into")
        run = debug_server.state.engine.active_run(job_id)
        if run is None:
            break
        run.wait_state(lambda run=run: run.debug.pause is not None or run.terminal, 10)
        if run.debug.pause is None:
            break
        points.append(pause_point(http, job_id))

    assert points == [
        ("slot", "source", "input"),
        ("routine", "source", None),
        ("event", "source", "output"),
        ("slot", "middle", "input"),
        ("routine", "middle", None),
        ("event", "middle", "output"),
        ("slot", "sink", "input"),
        ("routine", "sink", None),
    ]
    assert wait_done(http, job_id)["status"] == "completed"


def step_and_wait(debug_server, http, job_id, command):
    response = http.post(f"/api/v1/jobs/{job_id}/debug/{command}")
    assert response.status_code == 200, response.text
    run = debug_server.state.engine.active_run(job_id)
    if run is None:
        return None
    run.wait_state(lambda: run.debug.pause is not None or run.terminal, 10)
    return pause_point(http, job_id) if run.debug.pause else None


def test_step_over_and_out_skip_emits_and_routines(debug_server, http):
    add_breakpoint(http, **SOURCE_IN)
    job_id = submit(http, {"value": 2})["job_id"]
    wait_paused(debug_server, job_id)

    after_over = step_and_wait(debug_server, http, job_id, "step-over")
    after_second_over = step_and_wait(debug_server, http, job_id, "step-over")
    after_out = step_and_wait(debug_server, http, job_id, "step-out")
    after_into = step_and_wait(debug_server, http, job_id, "step-into")
    final = step_and_wait(debug_server, http, job_id, "step-into")

    assert after_over == ("routine", "source", None)
    assert after_second_over == ("slot", "middle", "input")
    assert after_out == ("slot", "sink", "input")
    assert after_into == ("routine", "sink", None)
    assert final is None
    assert wait_done(http, job_id)["status"] == "completed"


def test_step_out_of_emit_stops_after_logic(debug_server, http):
    add_breakpoint(http, kind="event", routine_id="source", event_name="output")
    job_id = submit(http, {"value": 2})["job_id"]
    wait_paused(debug_server, job_id)

    after_out = step_and_wait(debug_server, http, job_id, "step-out")

    assert after_out == ("slot", "middle", "input")


def test_call_stack_is_the_causal_chain(debug_server, http):
    add_breakpoint(http, **SINK_IN)
    job_id = submit(http, {"value": 5})["job_id"]
    wait_paused(debug_server, job_id)

    frames = http.get(f"/api/v1/jobs/{job_id}/debug/call-stack").json()["frames"]

    assert [(f["kind"], f["routine_id"]) for f in frames] == [
        ("slot", "sink"),
        ("event", "middle"),
        ("routine", "middle"),
        ("slot", "middle"),
        ("event", "source"),
        ("routine", "source"),
        ("slot", "source"),
    ]
    assert frames[1]["event"] == "output"


def test_evaluate_in_frames(debug_server, http):
    add_breakpoint(http, **SINK_IN)
    job_id = submit(http, {"value": 5, "label": "x"})["job_id"]
    wait_paused(debug_server, job_id)

    top = http.post(
        f"/api/v1/jobs/{job_id}/debug/evaluate",
        json={"expression": "value * 2 + len(label)"},
    ).json()
    missing = http.post(
        f"/api/v1/jobs/{job_id}/debug/evaluate", json={"expression": "nothing"}
    ).json()
    routine_frame = http.post(
        f"/api/v1/jobs/{job_id}/debug/evaluate",
        json={"expression": "routine_id", "frame_index": 2},
    ).json()

    assert top["error"] is None
    assert top["type"] == "int"
    assert "11" in json.dumps(top["result"])
    assert missing["result"] is None
    assert missing["error"].startswith("NameError")
    assert "middle" in json.dumps(routine_frame["result"])


def test_evaluate_needs_pause_and_the_switch(make_server, debug_server, http):
    job_id = submit(http, {"value": 1})["job_id"]
    wait_done(http, job_id)
    closed = make_server(db_path=debug_server.settings.db_path.with_name("other.db"))

    not_paused = http.post(
        f"/api/v1/jobs/{job_id}/debug/evaluate", json={"expression": "1"}
    )
    with httpx.Client(base_url=closed.url, headers=closed.headers) as other:
        disabled = other.post(
            f"/api/v1/jobs/{job_id}/debug/evaluate", json={"expression": "1"}
        )

    assert not_paused.status_code == 409
    assert disabled.status_code == 403
    assert "--allow-evaluate" in disabled.json()["message"]


def test_invalid_condition_is_rejected_with_column(http):
    response = http.post(
        "/api/v1/flows/pipeline/breakpoints", json={**MIDDLE_IN, "condition": "value >"}
    )

    assert response.status_code == 422
    assert response.json()["error"]["details"]["column"] >= 1


def test_condition_error_reported_once_and_job_completes(debug_server, http):
    item = add_breakpoint(http, condition="missing_name > 1", **MIDDLE_IN)
    ws_url = debug_server.url.replace("http", "ws") + "/api/v1/websocket?after_seq=0"

    jobs = [submit(http, {"value": i})["job_id"] for i in range(3)]
    statuses = [wait_done(http, job_id)["status"] for job_id in jobs]
    stored = http.get("/api/v1/flows/pipeline/breakpoints").json()["breakpoints"][0]
    errors = []
    with connect(ws_url, additional_headers=debug_server.headers) as ws:
        completed = 0
        while completed < 3:
            message = json.loads(ws.recv(timeout=10))
            if message.get("type") == "condition_error":
                errors.append(message)
            if message.get("type") == "job_completed":
                completed += 1

    assert statuses == ["completed"] * 3
    assert stored["error_count"] == 3
    assert stored["last_error"].startswith("NameError")
    assert len(errors) == 1
    assert errors[0]["data"]["breakpoint_id"] == item["breakpoint_id"]
    assert errors[0]["data"]["routine_id"] == "middle"


def test_hit_condition_and_logpoint(debug_server, http):
    add_breakpoint(http, hit_condition=">= 2", **SINK_IN)
    add_breakpoint(http, log_message="middle got {value}", **MIDDLE_IN)

    first = submit(http, {"value": 10})["job_id"]
    first_done = wait_done(http, first)
    second = submit(http, {"value": 20})["job_id"]
    wait_paused(debug_server, second)
    trace = http.get(f"/api/v1/jobs/{first}/trace").json()["trace_log"]

    assert first_done["status"] == "completed"
    logpoints = [e for e in trace if e["action"] == "logpoint"]
    assert [e["details"]["message"] for e in logpoints] == ["middle got 10"]


def test_disabled_breakpoint_does_not_pause(debug_server, http):
    item = add_breakpoint(http, **MIDDLE_IN)
    patched = http.patch(
        f"/api/v1/flows/pipeline/breakpoints/{item['breakpoint_id']}",
        json={"enabled": False},
    )

    job_id = submit(http, {"value": 1})["job_id"]

    assert patched.json()["enabled"] is False
    assert wait_done(http, job_id)["status"] == "completed"


def test_cancel_paused_job(debug_server, http):
    add_breakpoint(http, kind="event", event_name="output", routine_id="source")
    job_id = submit(http, {"value": 1})["job_id"]
    wait_paused(debug_server, job_id)

    cancelled = http.post(f"/api/v1/jobs/{job_id}/cancel")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert http.get(f"/api/v1/jobs/{job_id}").json()["status"] == "cancelled"


def test_job_breakpoint_stock_shape(debug_server, http):
    add_breakpoint(http, **SINK_IN)
    job_id = submit(http, {"value": 1})["job_id"]
    wait_paused(debug_server, job_id)

    created = http.post(
        f"/api/v1/jobs/{job_id}/breakpoints",
        json={"routine_id": "middle", "slot_name": "input", "condition": "1 == 1"},
    )
    listed = http.get(f"/api/v1/jobs/{job_id}/breakpoints").json()

    assert created.status_code == 201
    assert created.json()["job_id"] == job_id
    assert created.json()["hit_count"] == 0
    assert listed["total"] == 1


def test_evaluate_has_its_own_rate_limit(make_server):
    limited = make_server(allow_evaluate=True, evaluate_rate_per_minute=60)
    with httpx.Client(base_url=limited.url, headers=limited.headers) as http:
        add_breakpoint(http, **SINK_IN)
        job_id = submit(http, {"value": 1})["job_id"]
        wait_paused(limited, job_id)

        statuses = [
            http.post(f"/api/v1/jobs/{job_id}/debug/evaluate", json={"expression": "1"})
            for _ in range(15)
        ]

    rejected = [response for response in statuses if response.status_code == 429]
    assert rejected, "no evaluation was rate limited"
    assert rejected[0].headers["Retry-After"].isdigit()
    assert rejected[0].json()["error"]["code"] == "RATE_LIMITED"
