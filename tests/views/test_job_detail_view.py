"""Tests for JobDetailPanel: what the pane shows for a job."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from app.controllers.job_detail import JobDetailController


@pytest.fixture
def controller(api, run_async):
    controller = JobDetailController(api, debounce_ms=5)
    yield controller
    run_async(controller.aclose())


@pytest.fixture
def panel(qtbot, controller):
    from app.views.job_detail import JobDetailPanel

    panel = JobDetailPanel()
    qtbot.addWidget(panel)
    panel.set_controller(controller)
    panel.show()
    return panel


def select(controller, qtbot, job_id):
    with qtbot.waitSignal(
        controller.output_changed, check_params_cb=lambda output: output is not None
    ):
        controller.select_job(job_id)


def test_params_shown_exactly(fake_server, controller, panel, qtbot):
    """Params keep emoji, right-to-left text and nesting exactly."""
    params = {
        "greeting": "שלום עולם",
        "emoji": "🚀✨",
        "nested": {"list": [1, 2.5, None, True]},
    }
    job = fake_server.add_job(params=params)

    select(controller, qtbot, job["job_id"])

    expected = json.dumps(params, indent=2, ensure_ascii=False)
    assert panel.params_view.toPlainText() == expected
    assert json.loads(panel.params_view.toPlainText()) == params


def test_failed_job_shows_error_and_traceback(fake_server, controller, panel, qtbot):
    """A failed job shows its error, failing routine and traceback."""
    job = fake_server.add_job(
        status="failed",
        error="ValueError: bad record",
        traceback="Traceback (most recent call last):\n  boom",
        failed_routine="validator",
    )

    select(controller, qtbot, job["job_id"])

    assert panel.field_text("failed_routine") == "validator"
    assert (
        panel.error_view.toPlainText()
        == "Failed in routine: validator\n\nValueError: bad record\n\nTraceback (most recent call last):\n  boom"
    )
    assert panel.tabs.tabText(panel.tabs.indexOf(panel.error_view)) == "Error ●"


def test_cancel_button_emits_request(fake_server, controller, panel, qtbot):
    """The cancel button requests a cancel of the shown job."""
    job = fake_server.add_job(status="running")

    select(controller, qtbot, job["job_id"])

    with qtbot.waitSignal(panel.cancel_requested):
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)


def test_trace_and_output_tabs(fake_server, controller, panel, qtbot):
    """The trace shows relative times and the output shows printed text."""
    job = fake_server.add_job(params={"n": 1})

    select(controller, qtbot, job["job_id"])

    assert panel.trace_view.model().index(1, 0).data() == "+0.250 s"
    assert panel.output_view.toPlainText() == "processed {'n': 1}\n"


def test_no_selection_shows_placeholder(controller, panel):
    """Without a job the pane shows a placeholder."""
    controller.select_job(None)

    assert panel.job is None
    assert panel._stack.currentIndex() == 0
