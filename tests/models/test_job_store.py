"""Tests for JobStore and JobsModel: paging, live updates and model integrity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from app.models.job_store import JobStore
from app.models.jobs_model import JobColumn, JobRole, JobsModel
from app.models.records import JobPage, JobQuery, JobSummary

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def make_job(number: int, **changes) -> JobSummary:
    fields = {
        "job_id": f"job-{number:03d}",
        "flow_id": "demo_flow",
        "status": "completed",
        "created_at": T0 + timedelta(seconds=number),
        "duration_ms": 12.5,
    }
    fields.update(changes)
    return JobSummary(**fields)


def make_page(
    numbers, *, total: int, offset: int = 0, cursor: str | None = None
) -> JobPage:
    jobs = tuple(make_job(number) for number in numbers)
    return JobPage(
        jobs=jobs, total=total, limit=len(jobs), offset=offset, next_cursor=cursor
    )


@pytest.fixture
def store(qapp):
    return JobStore()


@pytest.fixture
def model(store, qtmodeltester):
    model = JobsModel(store)
    qtmodeltester.check(model)
    return model


def test_model_passes_model_tester_through_changes(store, model, qtmodeltester):
    """The model stays consistent while pages load and live rows arrive."""
    generation = store.reset(JobQuery())
    store.add_page(generation, make_page(range(20, 10, -1), total=20, cursor="c"))
    store.upsert(make_job(30))
    store.upsert(make_job(15, status="failed", error="boom\ntrace"))
    store.reset(JobQuery(status="failed"))

    qtmodeltester.check(model, force_py=True)
    assert model.rowCount() == 0


def test_add_page_appends_rows_in_order(store, model):
    """Pages append after the loaded rows and set the total."""
    generation = store.reset(JobQuery())
    store.add_page(generation, make_page([9, 8, 7], total=6 + 3, cursor="c1"))
    store.add_page(generation, make_page([6, 5], total=9, cursor="c2"))

    ids = [model.index(row, JobColumn.JOB_ID).data() for row in range(model.rowCount())]
    assert ids == ["job-009", "job-008", "job-007", "job-006", "job-005"]
    assert store.total == 9
    assert store.has_more


def test_stale_page_is_dropped(store, model):
    """A page for an older query does not reach the rows."""
    old_generation = store.reset(JobQuery(status="running"))
    new_generation = store.reset(JobQuery(status="failed"))

    accepted = store.add_page(old_generation, make_page([5, 4], total=2))

    assert not accepted
    assert model.rowCount() == 0
    assert store.add_page(new_generation, make_page([3], total=1))
    assert model.rowCount() == 1


def test_duplicate_job_in_page_is_skipped(store):
    """A job that arrived live before its page is not listed twice."""
    generation = store.reset(JobQuery())
    store.upsert(make_job(10))
    store.add_page(generation, make_page([10, 9], total=2))

    assert [row.job.job_id for row in store] == ["job-010", "job-009"]


def test_live_job_inserted_at_top(store, model, qtbot):
    """A new matching job is inserted as row 0 and counted."""
    generation = store.reset(JobQuery())
    store.add_page(generation, make_page([5, 4], total=2))

    with qtbot.waitSignal(model.rowsInserted) as blocker:
        store.upsert(make_job(6))

    assert blocker.args[1:] == [0, 0]
    assert model.index(0, JobColumn.JOB_ID).data() == "job-006"
    assert store.total == 3


def test_live_job_not_matching_filter_is_ignored(store, model, qtbot):
    """A new job of another flow does not enter a flow-filtered list."""
    generation = store.reset(JobQuery(flow_id="demo_flow"))
    store.add_page(generation, make_page([5], total=1))

    with qtbot.assertNotEmitted(model.rowsInserted):
        store.upsert(make_job(6, flow_id="other_flow"))

    assert model.rowCount() == 1
    assert store.total == 1


def test_live_job_outside_time_range_is_ignored(store):
    """A job created at or after the range's end does not match."""
    store.reset(JobQuery(created_from=T0, created_to=T0 + timedelta(seconds=5)))

    assert store.upsert(make_job(5)) is None
    assert store.upsert(make_job(4)) == 0


def test_status_change_updates_row_in_place(store, model, qtbot):
    """A status event changes the row's cells and emits dataChanged for it."""
    generation = store.reset(JobQuery())
    store.add_page(generation, make_page([5, 4], total=2))
    running = make_job(4, status="running", duration_ms=None)
    store.upsert(running)

    with qtbot.waitSignal(model.dataChanged) as blocker:
        store.upsert(make_job(4, status="failed", error="ValueError: bad"))

    top_left, bottom_right = blocker.args[:2]
    assert (top_left.row(), top_left.column()) == (1, 0)
    assert (bottom_right.row(), bottom_right.column()) == (1, len(JobColumn) - 1)
    assert model.index(1, JobColumn.STATUS).data() == "failed"
    assert model.index(1, JobColumn.ERROR).data() == "ValueError: bad"
    assert model.rowCount() == 2


def test_job_past_loaded_pages_is_not_inserted(store):
    """A matching job older than every loaded row waits for its page."""
    generation = store.reset(JobQuery())
    store.add_page(generation, make_page([9, 8], total=5, cursor="c"))

    assert store.upsert(make_job(1)) is None
    assert len(store) == 2


def test_live_insert_keeps_persistent_selection(store, model):
    """Persistent indexes, which selections use, follow their row down."""
    generation = store.reset(JobQuery())
    store.add_page(generation, make_page([5, 4, 3], total=3))
    selected = QPersistentModelIndex(model.index(1, 0))

    store.upsert(make_job(6))
    store.upsert(make_job(7))

    assert selected.row() == 3
    assert selected.data(JobRole.JOB_ID) == "job-004"


def test_fetch_more_requests_next_page_once(store, model, qtbot):
    """fetchMore requests a page, and a second request while loading is ignored."""
    generation = store.reset(JobQuery())
    store.add_page(generation, make_page([9], total=3, cursor="c"))
    assert model.canFetchMore(QModelIndex())

    with qtbot.waitSignal(store.fetch_more_requested):
        model.fetchMore(QModelIndex())
    store.set_loading(generation, True)

    assert not model.canFetchMore(QModelIndex())
    with qtbot.assertNotEmitted(store.fetch_more_requested):
        model.fetchMore(QModelIndex())


def test_offset_paging_ends_at_total(store, model):
    """Without cursors, paging stops when offset plus rows reaches the total."""
    store.cursor_paging = False
    generation = store.reset(JobQuery())
    store.add_page(generation, make_page([9, 8], total=4, offset=0))
    assert store.has_more
    assert store.next_offset == 2

    store.add_page(generation, make_page([7, 6], total=4, offset=2))

    assert not store.has_more
    assert not model.canFetchMore(QModelIndex())


def test_model_roles(store, model):
    """Display, tool tip, decoration and custom roles come from the row."""
    generation = store.reset(JobQuery())
    store.add_page(generation, make_page([], total=0))
    store.upsert(
        make_job(
            1, error="first line\nsecond line", routine_id="reader", slot_name="input"
        )
    )

    assert model.index(0, JobColumn.ENTRY).data() == "reader.input"
    assert model.index(0, JobColumn.DURATION).data() == "12.5 ms"
    assert model.index(0, JobColumn.ERROR).data() == "first line"
    assert (
        model.index(0, JobColumn.ERROR).data(Qt.ItemDataRole.ToolTipRole)
        == "first line\nsecond line"
    )
    assert (
        model.index(0, JobColumn.STATUS).data(Qt.ItemDataRole.DecorationRole)
        is not None
    )
    assert model.index(0, 0).data(JobRole.JOB).job_id == "job-001"
    assert model.headerData(JobColumn.FLOW, Qt.Orientation.Horizontal) == "Flow"


def test_row_index_tracks_mixed_inserts(store):
    """index_of stays right through appends, top inserts and middle inserts."""
    generation = store.reset(JobQuery())
    store.add_page(generation, make_page([20, 18, 16], total=3))
    store.upsert(make_job(22))
    store.upsert(make_job(21))
    store.upsert(make_job(19))
    store.upsert(make_job(23))

    expected = [
        "job-023",
        "job-022",
        "job-021",
        "job-020",
        "job-019",
        "job-018",
        "job-016",
    ]
    assert [row.job.job_id for row in store] == expected
    for index, job_id in enumerate(expected):
        assert store.index_of(job_id) == index


def test_stale_update_does_not_regress_status(store):
    """A late "running" answer does not undo a job's completion."""
    generation = store.reset(JobQuery())
    store.add_page(generation, make_page([], total=0))
    store.upsert(make_job(1, status="completed"))

    store.upsert(make_job(1, status="running"))

    assert store.row(0).job.status == "completed"
