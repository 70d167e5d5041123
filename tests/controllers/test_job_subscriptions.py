"""Tests for JobSubscriptions: following the unfinished jobs of the list."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.controllers.job_subscriptions import JobSubscriptions
from app.models.job_store import JobStore
from app.models.records import JobPage, JobQuery, JobSummary, ServerInfo
from app.services.stream import EventStream

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

STOCK = ServerInfo("Routilux API", "1.1.0", frozenset(), is_stock=True)
CREATED = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def job(job_id: str, status: str, second: int = 0) -> JobSummary:
    return JobSummary(
        job_id=job_id,
        flow_id="f1",
        status=status,
        created_at=CREATED.replace(second=second),
    )


@pytest.fixture
def stream(qapp):
    # Never started: set_job_subscriptions only records the wanted set.
    return EventStream("http://127.0.0.1:9", None)


@pytest.fixture
def store(qapp):
    return JobStore(cursor_paging=False)


@pytest.fixture
def stock_stream(stream):
    stream.set_server_info(STOCK)
    return stream


@pytest.fixture
def subscriptions(stream, store):
    return JobSubscriptions(stream, store)


def load(store: JobStore, jobs: list[JobSummary]) -> None:
    generation = store.reset(JobQuery())
    store.add_page(generation, JobPage(tuple(jobs), len(jobs), 100, 0))


def test_subscribes_unfinished_loaded_jobs(stock_stream, store, subscriptions, qtbot):
    load(
        store,
        [job("c", "running", 3), job("b", "completed", 2), job("a", "running", 1)],
    )
    qtbot.waitUntil(lambda: stock_stream.job_subscriptions == {"a", "c"})


def test_subscription_limit_keeps_newest(stock_stream, store, qtbot):
    stream = stock_stream
    subscriptions = JobSubscriptions(stream, store, limit=2)
    load(store, [job(f"j{n}", "running", 10 - n) for n in range(5)])
    qtbot.waitUntil(lambda: len(stream.job_subscriptions) == 2)
    assert stream.job_subscriptions == {"j0", "j1"}
    assert subscriptions.wanted_jobs() == ["j0", "j1"]


def test_own_server_gets_no_subscriptions(stream, store, subscriptions):
    load(store, [job("a", "running")])
    subscriptions.update_subscriptions()
    assert stream.job_subscriptions == frozenset()


def test_stock_event_finishes_row(stock_stream, store, subscriptions, qtbot):
    load(store, [job("a", "running")])
    qtbot.waitUntil(lambda: stock_stream.job_subscriptions == {"a"})

    stock_stream.event_received.emit(
        {
            "type": "job_failed",
            "job_id": "a",
            "timestamp": "2026-12-04T12:00:05+00:00",
            "data": {"status": "failed", "error": "double rejected the value"},
        }
    )

    row = store.row(0).job
    assert row.status == "failed"
    assert row.error == "double rejected the value"
    assert row.completed_at == datetime(2026, 12, 4, 12, 0, 5, tzinfo=UTC)
    assert row.created_at == CREATED  # the rest of the row is kept
    qtbot.waitUntil(lambda: stock_stream.job_subscriptions == frozenset())


def test_event_with_job_summary_is_left_alone(stock_stream, store, subscriptions):
    load(store, [job("a", "running")])
    stock_stream.event_received.emit(
        {
            "type": "job_completed",
            "job_id": "a",
            "data": {"job": {"job_id": "a", "status": "completed"}},
        }
    )
    assert store.row(0).job.status == "running"


def test_event_for_unloaded_job_is_ignored(stock_stream, store, subscriptions):
    load(store, [job("a", "running")])
    stock_stream.event_received.emit(
        {"type": "job_completed", "job_id": "zzz", "data": {"status": "completed"}}
    )
    assert len(store) == 1
    assert store.row(0).job.status == "running"
