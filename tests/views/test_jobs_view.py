"""Tests for JobsPanel: live inserts, paging on scroll and the footer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QPoint, Qt

from app.controllers.job_list import JobListController
from app.models.job_store import JobStore
from app.models.jobs_model import JobRole, JobsModel
from app.models.records import JobPage, JobQuery, JobSummary
from app.views.jobs_view import JobsPanel

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def make_job(number: int) -> JobSummary:
    return JobSummary(
        job_id=f"job-{number:04d}",
        flow_id="demo_flow",
        status="completed",
        created_at=T0 + timedelta(seconds=number),
    )


@pytest.fixture
def store(qapp):
    return JobStore()


@pytest.fixture
def panel(qtbot, store):
    panel = JobsPanel()
    qtbot.addWidget(panel)
    panel.set_model(JobsModel(store, panel))
    panel.resize(900, 420)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def fill(store: JobStore, count: int) -> None:
    generation = store.reset(JobQuery())
    jobs = tuple(make_job(number) for number in range(count, 0, -1))
    store.add_page(generation, JobPage(jobs, total=count, limit=count, offset=0))


def top_visible(panel: JobsPanel) -> tuple[str, int]:
    index = panel.table.indexAt(QPoint(0, 0))
    return index.data(JobRole.JOB_ID), panel.table.visualRect(index).top()


def test_live_insert_keeps_scrolled_rows_in_place(panel, store, qtbot):
    """Scrolled down, new jobs at the top move neither the view nor the selection."""
    fill(store, 200)
    panel.select_job("job-0150")
    panel.table.verticalScrollBar().setValue(1000)
    before = top_visible(panel)

    for number in (201, 202, 203):
        store.upsert(make_job(number))

    assert top_visible(panel) == before
    assert panel.selected_job_id() == "job-0150"
    assert panel.unseen_count == 3
    button = panel.findChild(type(panel._new_jobs_button), "new_jobs_button")
    assert button.isVisible()
    assert button.text() == "↑ 3 new jobs"


def test_live_insert_at_bottom_keeps_rows_in_place(panel, store, qtbot):
    """Scrolled to the very end, new jobs still do not move the visible rows."""
    fill(store, 200)
    bar = panel.table.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    bar.setValue(bar.maximum())
    before = top_visible(panel)

    for number in range(201, 211):
        store.upsert(make_job(number))

    assert top_visible(panel) == before
    assert panel.unseen_count == 10


def test_new_jobs_button_scrolls_to_top(panel, store, qtbot):
    """Clicking the new-jobs button shows the newest job and hides itself."""
    fill(store, 200)
    panel.table.verticalScrollBar().setValue(1000)
    store.upsert(make_job(201))
    button = panel._new_jobs_button

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    assert panel.table.verticalScrollBar().value() == 0
    assert top_visible(panel)[0] == "job-0201"
    assert not button.isVisible()
    assert panel.unseen_count == 0


def test_live_insert_at_top_shows_new_job(panel, store):
    """At the top of the list a new job appears as the first row."""
    fill(store, 50)
    panel.select_job("job-0050")

    store.upsert(make_job(51))

    assert panel.table.verticalScrollBar().value() == 0
    assert top_visible(panel)[0] == "job-0051"
    assert panel.selected_job_id() == "job-0050"
    assert not panel._new_jobs_button.isVisible()


def test_selection_emits_job_id(panel, store, qtbot):
    """Selecting a row announces its job id."""
    fill(store, 5)

    with qtbot.waitSignal(panel.job_selected) as blocker:
        qtbot.mouseClick(
            panel.table.viewport(),
            Qt.MouseButton.LeftButton,
            pos=panel.table.visualRect(panel.table.model().index(2, 1)).center(),
        )

    assert blocker.args == ["job-0003"]


def test_select_job_waits_for_its_row(panel, store):
    """A job selected before its row exists is selected when it arrives."""
    fill(store, 5)
    panel.select_job("job-0006")
    assert panel.selected_job_id() is None

    store.upsert(make_job(6))

    assert panel.selected_job_id() == "job-0006"


def test_scrolling_loads_next_page(fake_server, api, qloop, qtbot, run_async):
    """Only the first page loads until the user scrolls to the end."""
    for _ in range(250):
        fake_server.add_job()
    store = JobStore()
    controller = JobListController(api, store)
    panel = JobsPanel()
    qtbot.addWidget(panel)
    panel.set_model(JobsModel(store, panel))
    panel.resize(900, 420)
    panel.show()
    qtbot.waitExposed(panel)

    controller.set_query(JobQuery())
    qtbot.waitUntil(lambda: len(store) == 100)
    assert panel._count_label.text() == "100 of 250 jobs loaded"

    panel.table.scrollToBottom()
    qtbot.waitUntil(lambda: len(store) == 200)

    assert len(fake_server.job_requests) == 2
    run_async(controller.aclose())


def test_footer_shows_total_and_empty_state(panel, store):
    """The footer counts jobs and an empty result shows a placeholder."""
    fill(store, 0)

    assert panel._count_label.text() == "0 jobs"
    assert panel._empty_label.isVisible()

    store.upsert(make_job(1))

    assert panel._count_label.text() == "1 job"
    assert not panel._empty_label.isVisible()
