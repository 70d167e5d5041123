"""End-to-end: the window with its embedded server runs a demo job to completion."""

from __future__ import annotations

import argparse
import json

import pytest
from PySide6.QtCore import Qt

from app.main import DesktopApp
from app.models import ui_state
from app.models.jobs_model import JobColumn
from app.services.stream import ConnectionState
from app.views.main_window import MainWindow


@pytest.fixture
def desktop(qtbot, qloop, run_async, tmp_path):
    window = MainWindow(ui_state.UiState(), state_path=tmp_path / "ui-state.json")
    qtbot.addWidget(window)
    window.show()
    args = argparse.Namespace(
        connect=None, routines_dir=None, flows_dir=None, db=tmp_path / "history.db"
    )
    desktop = DesktopApp(window, args)
    yield desktop
    run_async(desktop.shutdown(), timeout=10_000)
    assert desktop.server.returncode is not None


def row_of(window, job_id):
    model = window.jobs_panel.table.model()
    for row in range(model.rowCount()):
        if model.index(row, JobColumn.JOB_ID).data() == job_id:
            return row
    return None


def test_demo_job_runs_to_completion(desktop, qtbot, run_async):
    """A job started from the new-job dialog shows as completed in the table."""
    window = desktop.window
    run_async(desktop.start(), timeout=40_000)
    session = desktop.session
    assert session is not None, window.message_view.label.text()
    qtbot.waitUntil(
        lambda: session.stream.status.state is ConnectionState.CONNECTED, timeout=10_000
    )
    qtbot.waitUntil(
        lambda: any(flow.flow_id == "etl_orders" for flow in session.flows),
        timeout=10_000,
    )

    window.actions["new_job"].trigger()
    dialog = window.new_job_dialog
    dialog.flow_box.setCurrentIndex(dialog.flow_box.findData("etl_orders"))
    dialog.routine_box.setCurrentIndex(dialog.routine_box.findData("reader"))
    dialog.slot_box.setCurrentIndex(dialog.slot_box.findData("input"))
    dialog.params_edit.setPlainText(
        json.dumps({"records": 5, "seed": 1, "note": "Zoë 👋"})
    )
    assert dialog.is_submit_enabled()

    qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: window.jobs_panel.selected_job_id() is not None, timeout=10_000
    )
    job_id = window.jobs_panel.selected_job_id()

    model = window.jobs_panel.table.model()
    qtbot.waitUntil(
        lambda: (
            model.index(row_of(window, job_id), JobColumn.STATUS).data() == "completed"
        ),
        timeout=30_000,
    )
    qtbot.waitUntil(
        lambda: (
            window.detail_panel.job is not None
            and window.detail_panel.job.status == "completed"
        ),
        timeout=10_000,
    )
    assert window.detail_panel.job.params == {"records": 5, "seed": 1, "note": "Zoë 👋"}
    qtbot.waitUntil(lambda: session.event_log.rowCount() > 0, timeout=10_000)
    assert window.detail_panel.trace_view.model().rowCount() > 0
