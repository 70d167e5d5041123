"""Tests for batch actions in the GUI: choosing jobs, confirming, progress, stop and results."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import QItemSelectionModel

from app.controllers.session import Session
from app.models import ui_state
from app.models.batch import BatchAction
from app.views.batch.install import install_batch
from app.views.batch.results_dialog import BatchResultsDialog
from app.views.main_window import MainWindow
from tests.support.batch_fake import BatchFakeServer
from tests.views.test_main_window import FakeStream


@pytest.fixture
def fake_server():
    """Replace the shared fake server with one that has batch routes."""
    server = BatchFakeServer()
    for _ in range(6):
        server.add_job(status="running")
    for _ in range(4):
        server.add_job(status="completed")
    return server


@pytest.fixture
def session(api, run_async):
    session = Session(api, FakeStream())
    yield session
    run_async(session.aclose())


@pytest.fixture
def window(qtbot, tmp_path, session, run_async):
    window = MainWindow(ui_state.UiState(), state_path=tmp_path / "ui-state.json")
    qtbot.addWidget(window)
    window.show()
    window.attach_session(session, features=False)
    run_async(session.start(window.current_filters().to_query()))
    qtbot.waitUntil(lambda: window.jobs_panel.table.model().rowCount() == 10)
    return window


class Confirm:
    """Confirms unless ``answer`` is False, and records each question."""

    def __init__(self, answer=True):
        self.answer = answer
        self.questions = []

    def __call__(self, title, text, proceed):
        self.questions.append((title, text))
        if self.answer:
            proceed()


@pytest.fixture
def confirm():
    return Confirm()


@pytest.fixture
def batch(window, session, confirm, run_async):
    ui = install_batch(window, session=session, confirm=confirm)
    yield ui
    run_async(ui.aclose())


def select_rows(window, rows):
    table = window.jobs_panel.table
    selection = table.selectionModel()
    selection.clearSelection()
    flags = (
        QItemSelectionModel.SelectionFlag.Select
        | QItemSelectionModel.SelectionFlag.Rows
    )
    for row in rows:
        selection.select(table.model().index(row, 0), flags)


def test_bar_appears_for_several_rows(window, batch):
    """Selecting two or more rows shows the bar with the count and the filter offer."""
    bar = window.jobs_panel.batch_bar
    select_rows(window, [0])
    assert not bar.isVisible()

    select_rows(window, [0, 1, 2])

    assert bar.isVisible()
    assert bar.selection_label.text() == "3 jobs selected"
    assert bar.select_all_button.text() == "Select all 10 matching the filter"


def test_select_all_matching_uses_the_filter(window, batch, fake_server, qtbot):
    """'Select all matching' sends the filter, not the loaded ids, in one request."""
    bar = window.jobs_panel.batch_bar
    select_rows(window, [0, 1])
    bar.select_all_button.click()
    assert bar.selection_label.text() == "All 10 jobs matching the filter"

    with qtbot.waitSignal(batch.runner.finished):
        bar.action_buttons[BatchAction.CANCEL].click()

    assert fake_server.batch_requests == [{"action": "cancel", "filter": {}}]
    assert bar.result_label.text() == "Cancelled 6 of 10 jobs; 4 failed"


def test_cancel_selected_rows_shows_result(window, batch, fake_server, confirm, qtbot):
    """A confirmed cancel of chosen rows reports successes and lists failures."""
    # Newest first: row 0 is the last completed job, row 9 the first running one.
    ids = [window.jobs_panel.table.model().index(row, 1).data() for row in (0, 9)]
    select_rows(window, [0, 9])

    with qtbot.waitSignal(batch.runner.finished):
        window.jobs_panel.batch_bar.action_buttons[BatchAction.CANCEL].click()

    assert confirm.questions[0][0] == "Cancel Jobs"
    assert "2 selected jobs" in confirm.questions[0][1]
    assert fake_server.batch_requests == [{"action": "cancel", "job_ids": ids}]
    bar = window.jobs_panel.batch_bar
    assert bar.result_label.text() == "Cancelled 1 of 2 jobs; 1 failed"
    assert bar.details_button.isVisible()
    dialog = batch.show_details()
    assert isinstance(dialog, BatchResultsDialog)
    assert dialog.table.rowCount() == 1
    assert dialog.table.item(0, 1).text() == "already finished"
    assert dialog.as_text().splitlines()[1].startswith(f"{ids[0]}\talready finished")
    dialog.reject()


def test_declined_confirmation_sends_nothing(window, batch, fake_server, confirm):
    """Declining the confirmation leaves the jobs alone."""
    confirm.answer = False
    select_rows(window, [0, 1])

    window.jobs_panel.batch_bar.action_buttons[BatchAction.DELETE].click()

    assert fake_server.batch_requests == []
    assert not batch.runner.running


def test_progress_stop_and_usable_table(window, batch, fake_server, session, qtbot):
    """While a batch runs the bar shows progress, the table still works, and Stop ends it."""
    fake_server.stock = True
    session.server_info = type(session.server_info)("routilux", "1.1.0", is_stock=True)
    batch.runner.server_info = session.server_info
    fake_server.single_gate = asyncio.Event()
    bar = window.jobs_panel.batch_bar
    window.jobs_panel.select_all_matching()

    bar.action_buttons[BatchAction.CANCEL].click()
    qtbot.waitUntil(lambda: fake_server.in_flight > 0)
    assert bar.progress_bar.isVisible()
    assert bar.stop_button.isEnabled()
    with qtbot.waitSignal(window.jobs_panel.job_selected):
        select_rows(window, [3])
    assert window.jobs_panel.table.isEnabled()

    with qtbot.waitSignal(batch.runner.finished) as blocker:
        bar.stop_button.click()
        assert bar.stop_button.text() == "Stopping…"
        fake_server.single_gate.set()

    result = blocker.args[0]
    assert result.stopped
    assert result.succeeded + len(result.failed) + result.not_attempted == 10
    assert bar.progress_bar.maximum() == 10
    assert "stopped" in bar.result_label.text()


def test_delete_reloads_the_list(window, batch, fake_server, qtbot):
    """Deleted jobs leave the table once the batch ends."""
    select_rows(window, list(range(10)))

    with qtbot.waitSignal(batch.runner.finished):
        window.jobs_panel.batch_bar.action_buttons[BatchAction.DELETE].click()
    qtbot.waitUntil(lambda: window.jobs_panel.table.model().rowCount() == 6)

    assert {job["status"] for job in fake_server.jobs.values()} == {"running"}


def test_stock_server_has_no_delete(window, session, confirm, run_async, fake_server):
    """On a stock server the Delete action is off, with the reason in its tool tip."""
    fake_server.stock = True
    info = run_async(session.api.server_info())
    session.server_info = info
    ui = install_batch(window, session=session, confirm=confirm)

    button = window.jobs_panel.batch_bar.action_buttons[BatchAction.DELETE]
    assert not button.isEnabled()
    assert "cannot delete" in button.toolTip()
    run_async(ui.aclose())
