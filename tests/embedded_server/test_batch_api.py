"""POST /api/v1/jobs/batch on a real server: cancel and delete by id or by filter."""

from __future__ import annotations

import sys

import httpx
import pytest

from tests.conftest import FIXTURES

BATCH = FIXTURES / "batch"
WAIT_TIMEOUT_S = 30


@pytest.fixture
def batch_server(make_server):
    """A server with the batch fixtures; its blocking routines are released at the end."""
    server = make_server(
        routines_dirs=[BATCH / "routines"], flows_dirs=[BATCH / "flows"]
    )
    release = next(
        module.RELEASE
        for name, module in list(sys.modules.items())
        if name.startswith("overseer_routines_batch_routines_")
    )
    release.clear()
    yield server
    release.set()


@pytest.fixture
def http(batch_server):
    with httpx.Client(
        base_url=batch_server.url, headers=batch_server.headers, timeout=60
    ) as client:
        yield client


def _start_waiting(server, count: int) -> list[str]:
    engine = server.state.engine
    return [
        engine.submit("batch_wait", "waiter", "input", {"n": n}).job_id
        for n in range(count)
    ]


def _start_quick(http, count: int) -> list[str]:
    ids = []
    for n in range(count):
        body = {
            "flow_id": "batch_quick",
            "routine_id": "quick",
            "slot_name": "input",
            "data": {"n": n},
        }
        job_id = http.post("/api/v1/jobs", json=body).json()["job_id"]
        waited = http.post(f"/api/v1/jobs/{job_id}/wait", params={"timeout": 10})
        assert waited.json()["final_status"] == "completed"
        ids.append(job_id)
    return ids


def _batch(http, **body) -> httpx.Response:
    return http.post("/api/v1/jobs/batch", json=body)


def _total(http, **query) -> int:
    return http.get("/api/v1/jobs", params={**query, "limit": 1}).json()["total"]


def test_cancel_filter_of_thousand_running_jobs(batch_server, http):
    """One request cancels 1,000 running jobs and reports each one as a success."""
    _start_waiting(batch_server, 1000)

    response = _batch(
        http, action="cancel", filter={"flow_id": "batch_wait", "status": "running"}
    )

    assert response.status_code == 200
    assert response.json() == {
        "action": "cancel",
        "matched": 1000,
        "succeeded": 1000,
        "failed": [],
    }
    assert _total(http, flow_id="batch_wait", status="cancelled") == 1000
    assert _total(http, flow_id="batch_wait", status="running") == 0
    assert batch_server.state.engine.active_count() == 0


def test_cancel_by_ids_lists_each_failure(batch_server, http):
    """Ended and unknown jobs are failures with their reason; the rest are cancelled."""
    running = _start_waiting(batch_server, 2)
    [done] = _start_quick(http, 1)

    response = _batch(
        http, action="cancel", job_ids=[*running, done, "no-such-job", running[0]]
    )

    body = response.json()
    assert response.status_code == 200
    assert body["matched"] == 4
    assert body["succeeded"] == 2
    failures = {item["job_id"]: item for item in body["failed"]}
    assert set(failures) == {done, "no-such-job"}
    assert failures[done]["reason"] == "already_finished"
    assert failures[done]["status"] == "completed"
    assert failures["no-such-job"]["reason"] == "not_found"
    assert failures["no-such-job"]["status"] is None
    for job_id in running:
        assert http.get(f"/api/v1/jobs/{job_id}").json()["status"] == "cancelled"


def test_cancel_filter_counts_ended_jobs_as_failures(batch_server, http):
    """A filter that also matches ended jobs reports them as already finished."""
    _start_waiting(batch_server, 3)
    done = _start_quick(http, 2)

    body = _batch(http, action="cancel", filter={}).json()

    assert body["matched"] == 5
    assert body["succeeded"] == 3
    assert sorted(item["job_id"] for item in body["failed"]) == sorted(done)
    assert {item["reason"] for item in body["failed"]} == {"already_finished"}


def test_delete_refuses_running_jobs_only(batch_server, http):
    """A delete removes ended jobs with their trace and refuses running ones, per job."""
    running = _start_waiting(batch_server, 2)
    done = _start_quick(http, 3)
    assert http.get(f"/api/v1/jobs/{done[0]}/trace").json()["total_entries"] > 0

    body = _batch(http, action="delete", filter={}).json()

    assert body["matched"] == 5
    assert body["succeeded"] == 3
    assert sorted(item["job_id"] for item in body["failed"]) == sorted(running)
    assert {item["reason"] for item in body["failed"]} == {"not_finished"}
    assert {item["status"] for item in body["failed"]} == {"running"}
    for job_id in done:
        assert http.get(f"/api/v1/jobs/{job_id}").status_code == 404
    for job_id in running:
        assert http.get(f"/api/v1/jobs/{job_id}").json()["status"] == "running"
    reader = batch_server.state.jobs.db.reader()
    placeholders = ", ".join("?" * len(done))
    trace_rows = reader.execute(
        f"SELECT COUNT(*) FROM trace WHERE job_id IN ({placeholders})", done
    ).fetchone()[0]
    assert trace_rows == 0


def test_delete_keeps_hourly_counts_exact(batch_server, http):
    """After a delete, list totals (read from the hourly counts) match the rows left."""
    done = _start_quick(http, 4)
    _batch(http, action="delete", job_ids=done[:3])

    reader = batch_server.state.jobs.db.reader()
    rows = reader.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
    assert rows == 1
    assert _total(http) == 1
    assert _total(http, flow_id="batch_quick", status="completed") == 1


def test_delete_by_ids_reports_unknown_ids(batch_server, http):
    """Unknown ids are not_found failures, and repeated ids count once."""
    done = _start_quick(http, 2)

    body = _batch(http, action="delete", job_ids=[done[0], done[0], "gone"]).json()

    assert body == {
        "action": "delete",
        "matched": 2,
        "succeeded": 1,
        "failed": [
            {
                "job_id": "gone",
                "reason": "not_found",
                "status": None,
                "message": "Job 'gone' not found",
            }
        ],
    }
    assert http.get(f"/api/v1/jobs/{done[1]}").status_code == 200


def test_delete_filter_by_time_and_status(batch_server, http):
    """The filter has the jobs list's fields, with the same half-open time range."""
    done = _start_quick(http, 2)
    created = http.get(f"/api/v1/jobs/{done[1]}").json()["created_at"]

    body = _batch(
        http,
        action="delete",
        filter={"status": "completed", "from": created, "to": "2999-01-01T00:00:00Z"},
    ).json()

    assert body["matched"] == 1
    assert body["succeeded"] == 1
    assert http.get(f"/api/v1/jobs/{done[0]}").status_code == 200


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"action": "rerun", "job_ids": ["a"]}, ["body", "action"]),
        ({"action": "cancel"}, ["body"]),
        ({"action": "cancel", "job_ids": ["a"], "filter": {}}, ["body"]),
        ({"action": "delete", "job_ids": []}, ["body", "job_ids"]),
        ({"action": "delete", "job_ids": "a"}, ["body", "job_ids"]),
        ({"action": "delete", "filter": {"state": "x"}}, ["body", "filter", "state"]),
        (
            {"action": "delete", "filter": {"status": "done"}},
            ["body", "filter", "status"],
        ),
        (
            {"action": "delete", "filter": {"from": "yesterday"}},
            ["body", "filter", "from"],
        ),
        (
            {
                "action": "delete",
                "filter": {
                    "from": "2026-01-02T00:00:00Z",
                    "to": "2026-01-01T00:00:00Z",
                },
            },
            ["body", "filter", "from"],
        ),
        ({"action": "delete", "job_ids": ["a"], "extra": 1}, ["body", "extra"]),
    ],
    ids=[
        "unknown-action",
        "no-selection",
        "both-selections",
        "empty-ids",
        "ids-not-a-list",
        "unknown-filter-field",
        "unknown-status",
        "bad-time",
        "from-after-to",
        "unknown-field",
    ],
)
def test_bad_batch_request_is_422(http, body, location):
    """Malformed batch requests get a 422 that names the field."""
    response = _batch(http, **body)

    assert response.status_code == 422
    error = response.json()
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["errors"][0]["loc"] == location


def test_batch_body_not_json_is_422(http):
    """A body that is not JSON is rejected before anything runs."""
    response = http.post(
        "/api/v1/jobs/batch",
        content=b"action=delete",
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 422
