"""Tests for BatchRunner: server batches, per-job fallbacks, progress and stop."""

from __future__ import annotations

import asyncio

import pytest

from app.controllers.batch import BatchRunner
from app.models.batch import BatchAction, BatchSelection
from app.models.records import JobQuery
from app.services.api import ApiClient
from app.services.batch_api import BatchApi
from tests.support.batch_fake import BatchFakeServer
from tests.support.fake_api import BASE_URL


@pytest.fixture
def server():
    return BatchFakeServer()


@pytest.fixture
def make_runner(server, run_async, qtbot):
    clients = []

    def make(**options):
        client = ApiClient(BASE_URL, "key", transport=server.transport())
        clients.append(client)
        runner = BatchRunner(BatchApi(client), **options)
        runner.server_info = run_async(client.server_info())
        return runner

    yield make
    for client in clients:
        run_async(client.aclose())


def run_batch(runner, qtbot, action, selection, timeout=5000):
    progress = []
    runner.progress.connect(lambda done, total: progress.append((done, total)))
    with qtbot.waitSignal(runner.finished, timeout=timeout) as blocker:
        assert runner.start(action, selection)
    return blocker.args[0], progress


def add_jobs(server, running=0, completed=0):
    ids = [server.add_job(status="running")["job_id"] for _ in range(running)]
    ids += [server.add_job(status="completed")["job_id"] for _ in range(completed)]
    return ids


def test_filter_cancel_is_one_request(server, make_runner, qloop, qtbot):
    """A filter batch on the embedded server is a single request with its summary."""
    add_jobs(server, running=3, completed=2)
    runner = make_runner()

    result, progress = run_batch(
        runner, qtbot, BatchAction.CANCEL, BatchSelection.matching(JobQuery(), 5)
    )

    assert len(server.batch_requests) == 1
    assert server.batch_requests[0] == {"action": "cancel", "filter": {}}
    assert server.single_requests == []
    assert (result.matched, result.succeeded, len(result.failed)) == (5, 3, 2)
    assert {f.reason for f in result.failed} == {"already_finished"}
    assert progress == [(0, 0), (5, 5)]
    assert not runner.running


def test_filter_is_sent_with_its_fields(server, make_runner, qloop, qtbot):
    """The jobs-list filter goes to the server as the batch filter."""
    add_jobs(server, completed=1)
    query = JobQuery(flow_id="demo_flow", status="completed")

    run_batch(
        make_runner(), qtbot, BatchAction.DELETE, BatchSelection.matching(query, 1)
    )

    assert server.batch_requests[0]["filter"] == {
        "flow_id": "demo_flow",
        "status": "completed",
    }
    assert server.jobs == {}


def test_chosen_rows_go_in_chunks_with_progress(server, make_runner, qloop, qtbot):
    """Chosen jobs are sent in chunks, and progress follows each chunk."""
    ids = add_jobs(server, completed=5)
    runner = make_runner(chunk_size=2)

    result, progress = run_batch(
        runner, qtbot, BatchAction.DELETE, BatchSelection.of_jobs([*ids, "missing"])
    )

    assert [len(r["job_ids"]) for r in server.batch_requests] == [2, 2, 2]
    assert progress == [(0, 6), (2, 6), (4, 6), (6, 6)]
    assert (result.matched, result.succeeded) == (6, 5)
    assert [(f.job_id, f.reason) for f in result.failed] == [("missing", "not_found")]


def test_stop_between_chunks(server, make_runner, qloop, qtbot):
    """A stop lets the chunk in flight finish and sends no more."""
    ids = add_jobs(server, running=6)
    server.batch_gate = asyncio.Event()
    runner = make_runner(chunk_size=2)
    finished = []
    runner.finished.connect(finished.append)

    runner.start(BatchAction.CANCEL, BatchSelection.of_jobs(ids))
    qtbot.waitUntil(lambda: len(server.batch_requests) == 1)
    runner.stop()
    server.batch_gate.set()
    qtbot.waitUntil(lambda: bool(finished))

    result = finished[0]
    assert len(server.batch_requests) == 1
    assert result.stopped
    assert (result.matched, result.succeeded, result.not_attempted) == (6, 2, 4)
    assert [job["status"] for job in server.jobs.values()].count("cancelled") == 2


def test_stop_abandons_single_filter_request(server, make_runner, qloop, qtbot):
    """Stopping a one-request batch reports that the server may have acted anyway."""
    add_jobs(server, running=2)
    server.batch_gate = asyncio.Event()
    runner = make_runner()
    finished = []
    runner.finished.connect(finished.append)

    runner.start(BatchAction.CANCEL, BatchSelection.matching(JobQuery(), 2))
    qtbot.waitUntil(lambda: len(server.batch_requests) == 1)
    runner.stop()
    qtbot.waitUntil(lambda: bool(finished))
    server.batch_gate.set()

    result = finished[0]
    assert result.stopped
    assert result.uncertain
    assert "may have acted" in result.summary()


def test_stock_server_cancels_job_by_job(server, make_runner, qloop, qtbot):
    """On a stock server, each job is cancelled with its own request, a few at a time."""
    server.stock = True
    ids = add_jobs(server, running=20, completed=3)
    server.single_gate = asyncio.Event()
    runner = make_runner(concurrency=4)
    finished = []
    runner.finished.connect(finished.append)

    runner.start(BatchAction.CANCEL, BatchSelection.of_jobs([*ids, "ghost"]))
    qtbot.waitUntil(lambda: server.in_flight == 4)
    server.single_gate.set()
    qtbot.waitUntil(lambda: bool(finished))

    result = finished[0]
    assert server.batch_requests == []
    assert len(server.single_requests) == 24
    assert server.max_in_flight == 4
    assert (result.matched, result.succeeded) == (24, 20)
    reasons = sorted(f.reason for f in result.failed)
    assert reasons == ["already_finished"] * 3 + ["not_found"]


def test_per_job_stop_keeps_result_exact(server, make_runner, qloop, qtbot):
    """A stop finishes the requests in flight, starts no more, and counts the rest."""
    server.stock = True
    ids = add_jobs(server, running=30)
    server.single_gate = asyncio.Event()
    runner = make_runner(concurrency=3)
    finished = []
    runner.finished.connect(finished.append)

    runner.start(BatchAction.CANCEL, BatchSelection.of_jobs(ids))
    qtbot.waitUntil(lambda: server.in_flight == 3)
    runner.stop()
    server.single_gate.set()
    qtbot.waitUntil(lambda: bool(finished))

    result = finished[0]
    assert result.stopped
    assert (result.succeeded, result.not_attempted) == (3, 27)
    assert (
        result.succeeded + len(result.failed) + result.not_attempted == result.matched
    )
    assert len(server.single_requests) == 3


def test_rerun_submits_each_job_again(server, make_runner, qloop, qtbot):
    """Re-run reads each job and starts a new one with its entry point and params."""
    add_jobs(server, completed=3)
    runner = make_runner()

    result, progress = run_batch(
        runner, qtbot, BatchAction.RERUN, BatchSelection.matching(JobQuery(), 3)
    )

    assert result.succeeded == 3
    assert sorted(body["data"]["n"] for body in server.submitted) == [0, 1, 2]
    assert {body["routine_id"] for body in server.submitted} == {"reader"}
    assert progress[0] == (0, 0)
    assert progress[-1] == (3, 3)


def test_rerun_reports_job_without_entry_point(server, make_runner, qloop, qtbot):
    """A job whose entry routine is unknown is a failure, not a crash."""
    job = server.add_job(status="completed", routine_id=None)

    result, _ = run_batch(
        make_runner(), qtbot, BatchAction.RERUN, BatchSelection.of_jobs([job["job_id"]])
    )

    assert [f.reason for f in result.failed] == ["no_entry_point"]


def test_missing_batch_route_falls_back(server, make_runner, qloop, qtbot):
    """A server without the batch route gets single requests instead."""
    server.batch_route = False
    ids = add_jobs(server, running=2)

    result, _ = run_batch(
        make_runner(), qtbot, BatchAction.CANCEL, BatchSelection.of_jobs(ids)
    )

    assert result.succeeded == 2
    assert len(server.single_requests) == 2


def test_unsupported_action_is_refused_once(server, make_runner, qloop, qtbot):
    """When the server has no route for an action, the batch stops at the first job."""
    server.stock = True
    ids = add_jobs(server, completed=10)

    result, _ = run_batch(
        make_runner(concurrency=1),
        qtbot,
        BatchAction.DELETE,
        BatchSelection.of_jobs(ids),
    )

    assert result.refused is not None
    assert "cannot delete jobs" in result.refused
    assert len(server.single_requests) == 1
    assert result.summary().startswith("Delete failed:")


def test_second_start_while_running_is_refused(server, make_runner, qloop, qtbot):
    """Only one batch runs at a time."""
    add_jobs(server, running=1)
    server.batch_gate = asyncio.Event()
    runner = make_runner()

    assert runner.start(BatchAction.CANCEL, BatchSelection.matching(JobQuery(), 1))
    assert not runner.start(BatchAction.DELETE, BatchSelection.matching(JobQuery(), 1))
    with qtbot.waitSignal(runner.finished):
        server.batch_gate.set()
