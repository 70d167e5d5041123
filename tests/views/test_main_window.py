"""Tests for MainWindow: wiring of session, filters, live events and saved layout."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QObject, Qt, Signal

from app.controllers import notify
from app.controllers.session import Session
from app.models import ui_state
from app.models.jobs_model import JobColumn
from app.services.stream import ConnectionState, ConnectionStatus
from app.views.main_window import MainWindow


class FakeStream(QObject):
    """Stands in for EventStream; tests emit its signals directly."""

    status_changed = Signal(object)
    event_received = Signal(dict)
    resync_needed = Signal(str)

    def __init__(self):
        super().__init__()
        self.status = ConnectionStatus(ConnectionState.DISCONNECTED)
        self.started = False
        self.reconnects = 0
        self.per_job_subscriptions = False
        self.job_subscriptions: set[str] = set()

    def set_job_subscriptions(self, job_ids):
        self.job_subscriptions = set(job_ids)

    def set_server_info(self, info):
        pass

    def start(self):
        self.started = True

    async def stop(self):
        self.started = False

    def reconnect_now(self):
        self.reconnects += 1


@pytest.fixture
def state_path(tmp_path):
    return tmp_path / "ui-state.json"


@pytest.fixture
def make_window(qtbot, state_path):
    def make():
        window = MainWindow(ui_state.load_state(state_path), state_path=state_path)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        return window

    return make


@pytest.fixture
def session(api, run_async):
    session = Session(api, FakeStream())
    yield session
    run_async(session.aclose())


@pytest.fixture
def window(make_window, session, run_async):
    window = make_window()
    window.attach_session(session)
    run_async(session.start(window.current_filters().to_query()))
    return window


def table_ids(window):
    model = window.jobs_panel.table.model()
    return [
        model.index(row, JobColumn.JOB_ID).data() for row in range(model.rowCount())
    ]


def test_layout_and_filters_restored(make_window, state_path, qtbot):
    """Dock visibility and the filter come back after a restart."""
    first = make_window()
    bar = first.jobs_panel.filter_bar
    bar._status_box.setCurrentIndex(bar._status_box.findData("failed"))
    first.event_dock.hide()
    first.close()

    second = make_window()

    assert second.current_filters().status == "failed"
    assert second.jobs_panel.filter_bar.state().status == "failed"
    assert not second.event_dock.isVisible()
    assert second.detail_dock.isVisible()


def test_filter_change_queries_server(fake_server, window, qtbot):
    """Choosing a status requests only that status from the server."""
    fake_server.add_job(status="failed")
    fake_server.add_job(status="completed")
    window.actions["refresh_jobs"].trigger()
    qtbot.waitUntil(lambda: len(table_ids(window)) == 2)
    bar = window.jobs_panel.filter_bar

    bar._status_box.setCurrentIndex(bar._status_box.findData("failed"))
    qtbot.waitUntil(lambda: len(table_ids(window)) == 1)

    assert fake_server.job_requests[-1]["status"] == "failed"
    assert table_ids(window) == ["job-00000"]


def test_flows_fill_filter(window, qtbot):
    """The flow filter lists the server's flows."""
    box = window.jobs_panel.filter_bar._flow_box
    qtbot.waitUntil(lambda: box.count() == 3)

    assert [box.itemText(index) for index in range(box.count())] == [
        "All flows",
        "demo_flow",
        "other_flow",
    ]


def test_live_events_reach_table_and_log(fake_server, window, session, qtbot):
    """A job_started event adds the job to the table and the event log."""
    qtbot.waitUntil(lambda: not session.job_store.loading)
    job = fake_server.add_job(status="running")

    session.stream.event_received.emit(
        {
            "type": "job_started",
            "seq": 1,
            "job_id": job["job_id"],
            "flow_id": "demo_flow",
            "timestamp": job["created_at"],
            "data": {"job": fake_server.summary(job["job_id"])},
        }
    )

    assert table_ids(window) == [job["job_id"]]
    qtbot.waitUntil(lambda: window.event_panel.proxy.rowCount() == 1)


def test_resync_marks_gap_and_reloads(fake_server, window, session, qtbot):
    """After a gap the event log marks it and the jobs list reloads."""
    qtbot.waitUntil(lambda: len(fake_server.job_requests) == 1)

    session.stream.resync_needed.emit("events 4 to 9 were missed")

    qtbot.waitUntil(lambda: len(fake_server.job_requests) == 2)
    qtbot.waitUntil(lambda: session.event_log.rowCount() == 1)
    assert "events 4 to 9 were missed" in session.event_log.row_at(0).cells[-1]


def test_selecting_job_shows_detail(fake_server, window, session, qtbot):
    """Clicking a row loads that job into the detail pane."""
    job = fake_server.add_job(params={"x": "✓"})
    window.actions["refresh_jobs"].trigger()
    qtbot.waitUntil(lambda: table_ids(window) == [job["job_id"]])
    table = window.jobs_panel.table

    qtbot.mouseClick(
        table.viewport(),
        Qt.MouseButton.LeftButton,
        pos=table.visualRect(table.model().index(0, 1)).center(),
    )
    qtbot.waitUntil(lambda: window.detail_panel.job is not None)

    assert window.detail_panel.field_text("job_id") == job["job_id"]
    assert window.actions["rerun_job"].isEnabled()
    assert not window.actions["cancel_job"].isEnabled()


def test_notify_shows_in_status_bar(window):
    """Messages from any layer appear in the status bar's message view."""
    notify.error("Couldn't load jobs: the server didn't respond within 10 s")

    assert (
        window.message_view.label.text()
        == "✖ Couldn't load jobs: the server didn't respond within 10 s"
    )


def test_connection_status_reaches_indicator(window, session):
    """Stream statuses drive the indicator, and its button reconnects."""
    session.stream.status_changed.emit(
        ConnectionStatus(ConnectionState.RECONNECTING, "Lost connection", retry_in=4)
    )

    assert window.connection_indicator.state_label.text() == "Reconnecting in 4 s"
    window.connection_indicator.reconnect_button.click()
    assert session.stream.reconnects == 1


def test_new_job_dialog_submits_and_selects(fake_server, window, session, qtbot):
    """Starting a job from the dialog selects it in the table and the detail."""
    qtbot.waitUntil(lambda: len(session.flows) == 2)
    window.actions["new_job"].trigger()
    dialog = window.new_job_dialog
    assert dialog is not None
    dialog.params_edit.setPlainText('{"records": 2}')

    qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.jobs_panel.selected_job_id() is not None)

    job_id = window.jobs_panel.selected_job_id()
    assert fake_server.jobs[job_id]["params"] == {"records": 2}
    qtbot.waitUntil(
        lambda: (
            window.detail_panel.job is not None
            and window.detail_panel.job.job_id == job_id
        )
    )


def test_cancel_follows_job_state(fake_server, window, session, qtbot):
    """Cancel is enabled for a running job, in the menu and in the pane."""
    running = fake_server.add_job(status="running")
    done = fake_server.add_job(status="completed")
    cancel_button = window.detail_panel.cancel_button

    window.jobs_panel.select_job(running["job_id"])
    session.job_detail.select_job(running["job_id"])
    qtbot.waitUntil(lambda: window.actions["cancel_job"].isEnabled())
    assert cancel_button.isEnabled()

    session.job_detail.select_job(done["job_id"])
    qtbot.waitUntil(lambda: session.job_detail.job is not None)
    assert not window.actions["cancel_job"].isEnabled()
    assert not cancel_button.isEnabled()


def test_cancel_from_pane_cancels_job(fake_server, window, session, qtbot):
    """Clicking cancel in the pane cancels the job on the server."""
    job = fake_server.add_job(status="running")
    session.job_detail.select_job(job["job_id"])
    qtbot.waitUntil(lambda: window.detail_panel.cancel_button.isEnabled())

    qtbot.mouseClick(window.detail_panel.cancel_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: fake_server.jobs[job["job_id"]]["status"] == "cancelled")
    qtbot.waitUntil(lambda: session.job_detail.job.status == "cancelled")
    assert not window.detail_panel.cancel_button.isEnabled()


def test_stock_server_disables_time_filter(make_window, session):
    """A server without the time filter gets a disabled time range."""
    from app.models.records import ServerInfo

    window = make_window()
    window.attach_session(session)
    session.server_info_changed.emit(ServerInfo("routilux", "1.1.0", is_stock=True))

    time_box = window.jobs_panel.filter_bar._time_box
    assert not time_box.isEnabled()
    assert "can't filter" in time_box.toolTip()
