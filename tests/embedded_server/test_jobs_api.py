"""The jobs REST API on a real server with a real SQLite file."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest


def submit(
    client, data, *, flow_id="pipeline", routine_id="source", slot_name="input", **extra
):
    body = {
        "flow_id": flow_id,
        "routine_id": routine_id,
        "slot_name": slot_name,
        "data": data,
    }
    response = client.post("/api/v1/jobs", json={**body, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def wait_done(client, job_id):
    response = client.post(f"/api/v1/jobs/{job_id}/wait", params={"timeout": 20})
    assert response.status_code == 200, response.text
    assert response.json()["status"] in ("completed", "already_complete"), response.text
    return client.get(f"/api/v1/jobs/{job_id}").json()


def test_job_completes_with_trace_and_data(client):
    job = submit(client, {"value": 7})
    assert job["status"] in ("running", "completed")

    done = wait_done(client, job["job_id"])

    assert done["status"] == "completed"
    assert done["data"] == {"received": {"value": 7}}
    assert done["params"] == {"value": 7}
    assert done["duration_ms"] is not None
    trace = client.get(f"/api/v1/jobs/{job['job_id']}/trace").json()
    actions = [(e["routine_id"], e["action"]) for e in trace["trace_log"]]
    for routine in ("source", "middle", "sink"):
        assert (routine, "routine_started") in actions
        assert (routine, "routine_completed") in actions
    assert ("sink", "stored") in actions
    assert trace["total_entries"] == len(trace["trace_log"])


def test_routine_exception_fails_job_with_traceback(client):
    job = submit(client, {"value": 3, "raise": True})

    done = wait_done(client, job["job_id"])

    assert done["status"] == "failed"
    assert "ValueError: boom on 3" in done["error"]
    assert done["failed_routine"] == "middle"
    assert "Traceback" in done["traceback"]
    assert "raise ValueError" in done["traceback"]


def test_output_is_captured_per_job_and_kept(client):
    first = submit(client, {"value": "alpha"})
    second = submit(client, {"value": "beta"})
    wait_done(client, first["job_id"])
    wait_done(client, second["job_id"])

    output = client.get(f"/api/v1/jobs/{first['job_id']}/output").json()

    assert "alpha" in output["output"]
    assert "beta" not in output["output"]
    assert output["is_complete"] is True
    assert output["truncated"] is False


@pytest.mark.parametrize(
    "value",
    [
        "\U0001f680 rocket \u2764\ufe0f",
        "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
        "x" * 1_000_000,
    ],
    ids=["emoji", "right-to-left", "one-megabyte"],
)
def test_params_are_stored_exactly(client, value):
    job = submit(client, {"text": value})

    done = wait_done(client, job["job_id"])

    assert done["params"] == {"text": value}
    assert done["data"]["received"] == {"text": value}


def test_unknown_flow_routine_slot_give_404_and_no_job(client):
    before = client.get("/api/v1/jobs").json()["total"]
    cases = [
        (
            {"flow_id": "nope", "routine_id": "source", "slot_name": "input"},
            "FLOW_NOT_FOUND",
        ),
        (
            {"flow_id": "pipeline", "routine_id": "nope", "slot_name": "input"},
            "ROUTINE_NOT_FOUND",
        ),
        (
            {"flow_id": "pipeline", "routine_id": "source", "slot_name": "nope"},
            "SLOT_NOT_FOUND",
        ),
    ]
    for body, code in cases:
        response = client.post("/api/v1/jobs", json={**body, "data": {}})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == code
        assert response.json()["code"] == code
    assert client.get("/api/v1/jobs").json()["total"] == before


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "bogus"}, "status"),
        ({"from": "yesterday"}, "from"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"fields": "job_id,secret"}, "fields"),
        ({"stauts": "failed"}, "stauts"),
    ],
)
def test_bad_list_parameters_give_422_naming_them(client, params, name):
    response = client.get("/api/v1/jobs", params=params)

    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "VALIDATION_ERROR"
    locations = [error["loc"] for error in body["error"]["details"]["errors"]]
    assert ["query", name] in locations


def test_bad_status_lists_allowed_values(client):
    response = client.get("/api/v1/jobs", params={"status": "bogus"})

    assert (
        "pending, running, paused, completed, failed, cancelled"
        in response.json()["message"]
    )


def test_from_after_to_is_422(client):
    response = client.get(
        "/api/v1/jobs",
        params={"from": "2025-01-02T00:00:00Z", "to": "2025-01-01T00:00:00Z"},
    )

    assert response.status_code == 422


def test_unencoded_plus_in_offset_is_read_as_intended(server, client):
    job = submit(client, {"value": 1})
    wait_done(client, job["job_id"])
    created = datetime.fromisoformat(job["created_at"])
    local = (created - timedelta(seconds=1)).astimezone(
        __import__("datetime").timezone(timedelta(hours=8))
    )
    raw = local.strftime("%Y-%m-%dT%H:%M:%S+08:00")

    # httpx would encode '+'; send the raw query the way a careless client does.
    response = httpx.get(f"{server.url}/api/v1/jobs?from={raw}", headers=server.headers)

    assert response.status_code == 200, response.text
    assert job["job_id"] in [row["job_id"] for row in response.json()["jobs"]]


def test_time_range_is_half_open_and_naive_means_utc(client):
    job = submit(client, {"value": 1})
    wait_done(client, job["job_id"])
    created = job["created_at"]
    naive = created.removesuffix("Z")

    included = client.get("/api/v1/jobs", params={"from": naive}).json()
    excluded = client.get("/api/v1/jobs", params={"to": created}).json()

    assert job["job_id"] in [row["job_id"] for row in included["jobs"]]
    assert job["job_id"] not in [row["job_id"] for row in excluded["jobs"]]


def test_list_filters_pages_and_counts(client):
    ids = [
        submit(client, {"value": i, "raise": i % 3 == 0})["job_id"] for i in range(12)
    ]
    for job_id in ids:
        wait_done(client, job_id)

    failed = client.get(
        "/api/v1/jobs", params={"status": "failed", "flow_id": "pipeline"}
    ).json()
    first = client.get("/api/v1/jobs", params={"limit": 5}).json()
    second = client.get("/api/v1/jobs", params={"limit": 5, "offset": 5}).json()
    past_end = client.get("/api/v1/jobs", params={"offset": 500}).json()

    assert failed["total"] == 4
    assert all(row["status"] == "failed" for row in failed["jobs"])
    assert first["total"] == 12
    assert len(first["jobs"]) == 5
    seen = [row["job_id"] for row in first["jobs"] + second["jobs"]]
    assert len(set(seen)) == 10
    assert past_end["jobs"] == []
    assert past_end["total"] == 12


def test_cursor_paging_is_stable_while_jobs_arrive(client):
    ids = [submit(client, {"value": i})["job_id"] for i in range(9)]
    page = client.get("/api/v1/jobs", params={"limit": 4}).json()
    collected = [row["job_id"] for row in page["jobs"]]

    submit(client, {"value": "newcomer"})
    while page["next_cursor"]:
        page = client.get(
            "/api/v1/jobs", params={"limit": 4, "cursor": page["next_cursor"]}
        ).json()
        collected += [row["job_id"] for row in page["jobs"]]

    assert sorted(collected) == sorted(ids)
    assert len(collected) == len(set(collected))


def test_order_is_newest_first(client):
    ids = [submit(client, {"value": i})["job_id"] for i in range(5)]

    rows = client.get("/api/v1/jobs").json()["jobs"]

    assert [row["job_id"] for row in rows] == list(reversed(ids))


def test_fields_trim_list_and_detail(client):
    job = submit(client, {"value": 1})

    listed = client.get("/api/v1/jobs", params={"fields": "job_id,status"}).json()
    detail = client.get(
        f"/api/v1/jobs/{job['job_id']}", params={"fields": "job_id,params"}
    ).json()

    assert set(listed["jobs"][0]) == {"job_id", "status"}
    assert detail == {"job_id": job["job_id"], "params": {"value": 1}}


def test_cancel_running_and_finished_jobs(client):
    job = submit(client, {"value": 1})
    wait_done(client, job["job_id"])

    again = client.post(f"/api/v1/jobs/{job['job_id']}/cancel")
    missing = client.post("/api/v1/jobs/missing/cancel")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "JOB_NOT_CANCELLABLE"
    assert missing.status_code == 404


def test_missing_and_wrong_api_key(server):
    missing = httpx.get(f"{server.url}/api/v1/jobs")
    wrong = httpx.get(f"{server.url}/api/v1/jobs", headers={"X-API-Key": "wrong"})
    health = httpx.get(f"{server.url}/api/v1/health/live")

    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "UNAUTHORIZED"
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "FORBIDDEN"
    assert health.status_code == 200


def test_malformed_json_is_422_not_500(client):
    response = client.post(
        "/api/v1/jobs",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_data_must_be_an_object(client):
    response = client.post(
        "/api/v1/jobs",
        json={
            "flow_id": "pipeline",
            "routine_id": "source",
            "slot_name": "input",
            "data": [1],
        },
    )

    assert response.status_code == 422


def test_unknown_route_and_method_use_error_shape(client):
    route = client.get("/api/v1/nothing-here")
    method = client.delete("/api/v1/jobs")

    assert route.status_code == 404
    assert route.json()["error"]["code"] == "NOT_FOUND"
    assert method.status_code == 405
    assert method.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_history_survives_restart_and_running_jobs_fail(make_server, tmp_path):
    first = make_server()
    with httpx.Client(base_url=first.url, headers=first.headers) as http:
        done = submit(http, {"value": 1})
        wait_done(http, done["job_id"])
    # A job left running by a crash: write it the way the engine does.
    from embedded_server.store.records import JobRecord

    first.state.jobs.insert(
        JobRecord(
            "ghost",
            "pipeline",
            "w",
            "source",
            "input",
            "running",
            time.time(),
            {"value": 2},
        )
    )
    first.stop()

    second = make_server()
    with httpx.Client(base_url=second.url, headers=second.headers) as http:
        kept = http.get(f"/api/v1/jobs/{done['job_id']}").json()
        ghost = http.get("/api/v1/jobs/ghost").json()

    assert kept["status"] == "completed"
    assert ghost["status"] == "failed"
    assert "stopped while the job was running" in ghost["error"]


def test_created_at_is_iso_utc(client):
    job = submit(client, {"value": 1})

    created = datetime.fromisoformat(job["created_at"])

    assert job["created_at"].endswith("Z")
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=1)


def test_jobs_without_worker_share_the_flow_default_worker(client):
    first = submit(client, {"value": 1})
    second = submit(client, {"value": 2})

    workers = client.get("/api/v1/workers", params={"flow_id": "pipeline"}).json()

    assert first["worker_id"] == second["worker_id"]
    assert [w["worker_id"] for w in workers["workers"]] == [first["worker_id"]]


def test_named_worker_must_exist_and_match_the_flow(client):
    created = client.post(
        "/api/v1/workers", json={"flow_id": "pipeline", "worker_id": "w1"}
    )
    job = submit(client, {"value": 1}, worker_id="w1")
    unknown = client.post(
        "/api/v1/jobs",
        json={
            "flow_id": "pipeline",
            "routine_id": "source",
            "slot_name": "input",
            "worker_id": "nope",
        },
    )

    assert created.status_code == 201
    assert job["worker_id"] == "w1"
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "WORKER_NOT_FOUND"


def test_nan_in_params_is_422(client):
    response = client.post(
        "/api/v1/jobs",
        content=b'{"flow_id": "pipeline", "routine_id": "source", "slot_name": "input",'
        b' "data": {"x": NaN}}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert "NaN" in response.json()["message"]
