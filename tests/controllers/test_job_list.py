"""Tests for JobListController: pages from the server and live job events."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import QModelIndex

from app.controllers import notify
from app.controllers.job_list import JobListController
from app.models.job_store import JobStore
from app.models.jobs_model import JobColumn, JobsModel
from app.models.records import JobQuery

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


@pytest.fixture
def store(qloop):
    return JobStore()


@pytest.fixture
def model(store):
    return JobsModel(store)


@pytest.fixture
def controller(api, store, run_async):
    controller = JobListController(api, store, page_size=10)
    yield controller
    run_async(controller.aclose())


def job_ids(model):
    return [
        model.index(row, JobColumn.JOB_ID).data() for row in range(model.rowCount())
    ]


def test_first_page_loads_newest_first(fake_server, controller, model, store, qtbot):
    """A query loads one page of the newest matching jobs and the total."""
    for _ in range(25):
        fake_server.add_job()

    controller.set_query(JobQuery())
    qtbot.waitUntil(lambda: model.rowCount() == 10)

    assert job_ids(model)[:2] == ["job-00024", "job-00023"]
    assert store.total == 25
    assert fake_server.job_requests[0]["limit"] == "10"


def test_fetch_more_loads_next_page_by_cursor(fake_server, controller, model, qtbot):
    """fetchMore loads the next page with the previous page's cursor."""
    for _ in range(25):
        fake_server.add_job()
    controller.set_query(JobQuery())
    qtbot.waitUntil(lambda: model.rowCount() == 10)

    model.fetchMore(QModelIndex())
    qtbot.waitUntil(lambda: model.rowCount() == 20)
    model.fetchMore(QModelIndex())
    qtbot.waitUntil(lambda: model.rowCount() == 25)

    assert fake_server.job_requests[1]["cursor"] == "job-00015"
    assert job_ids(model)[-1] == "job-00000"
    assert len(set(job_ids(model))) == 25
    assert not model.canFetchMore(QModelIndex())


def test_model_tester_passes_while_pages_load(
    fake_server, controller, store, qtmodeltester, qtbot
):
    """The model stays consistent while the tester itself pulls every page."""
    for _ in range(25):
        fake_server.add_job()
    model = JobsModel(store)
    qtmodeltester.check(model)

    controller.set_query(JobQuery())

    # The tester calls fetchMore after each change, so every page loads.
    qtbot.waitUntil(lambda: model.rowCount() == 25)
    assert not model.canFetchMore(QModelIndex())


def test_offset_paging_without_cursor_capability(
    fake_server, controller, model, store, qtbot
):
    """Against a server without cursors the next page is asked by offset."""
    fake_server.capabilities = ()
    store.cursor_paging = False
    for _ in range(15):
        fake_server.add_job()
    controller.set_query(JobQuery())
    qtbot.waitUntil(lambda: model.rowCount() == 10)

    model.fetchMore(QModelIndex())
    qtbot.waitUntil(lambda: model.rowCount() == 15)

    assert fake_server.job_requests[1]["offset"] == "10"
    assert "cursor" not in fake_server.job_requests[1]


def test_filter_change_drops_stale_page(fake_server, controller, model, store, qtbot):
    """A page for an older filter that arrives late never reaches the table."""
    fake_server.add_job(status="completed")
    fake_server.add_job(status="failed")
    fake_server.list_gate = asyncio.Event()
    old_generation = store.generation + 1

    controller.set_query(JobQuery(status="completed"))
    qtbot.waitUntil(lambda: len(fake_server.job_requests) == 1)
    controller.set_query(JobQuery(status="failed"))
    qtbot.waitUntil(lambda: len(fake_server.job_requests) == 2)
    fake_server.list_gate.set()
    qtbot.waitUntil(lambda: model.rowCount() == 1)

    assert store.generation == old_generation + 1
    assert model.index(0, JobColumn.STATUS).data() == "failed"
    assert store.total == 1


def test_job_started_event_inserts_matching_job(
    fake_server, controller, model, store, qtbot
):
    """A job_started event adds the job at the top when it matches the filter."""
    fake_server.add_job()
    controller.set_query(JobQuery(flow_id="demo_flow"))
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    new = fake_server.add_job(status="running")
    other = fake_server.add_job(flow_id="other_flow", status="running")

    controller.handle_event(
        {
            "type": "job_started",
            "job_id": other["job_id"],
            "data": {"job": fake_server.summary(other["job_id"])},
        }
    )
    controller.handle_event(
        {
            "type": "job_started",
            "job_id": new["job_id"],
            "data": {"job": fake_server.summary(new["job_id"])},
        }
    )

    assert job_ids(model) == [new["job_id"], "job-00000"]
    assert store.total == 2


def test_job_completed_event_updates_row(fake_server, controller, model, qtbot):
    """A job_completed event changes the row in place."""
    job = fake_server.add_job(status="running")
    controller.set_query(JobQuery())
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    job["status"] = "completed"
    job["duration_ms"] = 1500.0

    with qtbot.waitSignal(model.dataChanged):
        controller.handle_event(
            {
                "type": "job_completed",
                "job_id": job["job_id"],
                "data": {"job": fake_server.summary(job["job_id"])},
            }
        )

    assert model.index(0, JobColumn.STATUS).data() == "completed"
    assert model.index(0, JobColumn.DURATION).data() == "1.50 s"


def test_event_without_job_payload_is_ignored(controller, model, qtbot):
    """Routine events and malformed job events leave the rows alone."""
    controller.set_query(JobQuery())
    qtbot.waitUntil(lambda: not controller.store.loading)

    with qtbot.assertNotEmitted(model.rowsInserted):
        controller.handle_event(
            {"type": "routine_started", "data": {"routine_id": "r"}}
        )
        controller.handle_event(
            {"type": "job_started", "data": {"job": {"status": "running"}}}
        )
        controller.handle_event({"type": "job_started", "data": "not an object"})


def test_failed_page_is_reported(fake_server, controller, store, qtbot):
    """A page that fails goes to the notify path and stops paging."""
    fake_server.flows = []

    async def broken(request):
        import httpx

        return httpx.Response(
            500, json={"code": "INTERNAL_ERROR", "message": "database is locked"}
        )

    fake_server.handle = broken
    controller._api._client._transport = fake_server.transport()

    with qtbot.waitSignal(notify.bridge().message_posted) as blocker:
        controller.set_query(JobQuery())

    message = blocker.args[0]
    assert message.level is notify.Level.ERROR
    assert message.text == "Couldn't load jobs: database is locked"
    qtbot.waitUntil(lambda: not store.loading)
    assert not store.has_more
