"""Tests for JobDetailController: detail loading, live refresh and actions."""

from __future__ import annotations

import pytest

from app.controllers.job_detail import JobDetailController

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


@pytest.fixture
def controller(api, run_async):
    controller = JobDetailController(api, debounce_ms=5)
    yield controller
    run_async(controller.aclose())


def test_quick_selection_changes_load_once(fake_server, controller, qtbot):
    """Moving the selection quickly loads only the job it stops on."""
    jobs = [fake_server.add_job() for _ in range(5)]

    for job in jobs:
        controller.select_job(job["job_id"])
    qtbot.waitUntil(lambda: controller.job is not None)

    assert controller.job.job_id == jobs[-1]["job_id"]
    assert fake_server.detail_requests == [jobs[-1]["job_id"]]


def test_select_loads_detail_trace_and_output(fake_server, controller, qtbot):
    """Selecting a job loads its detail, trace and output together."""
    job = fake_server.add_job(params={"name": "Zoë 👋", "text": "שלום"})

    with qtbot.waitSignal(
        controller.output_changed, check_params_cb=lambda output: output is not None
    ):
        controller.select_job(job["job_id"])

    assert controller.job.params == {"name": "Zoë 👋", "text": "שלום"}
    assert controller.trace_model.rowCount() == 2
    assert controller.trace_model.index(1, 0).data() == "+0.250 s"


def test_event_for_selected_job_refreshes(fake_server, controller, qtbot):
    """An event for the selected job triggers one debounced refresh."""
    job = fake_server.add_job(status="running")
    with qtbot.waitSignal(
        controller.job_changed, check_params_cb=lambda value: value is not None
    ):
        controller.select_job(job["job_id"])
    job["status"] = "completed"

    with qtbot.waitSignal(
        controller.job_changed, check_params_cb=lambda value: value is not None
    ):
        for _ in range(5):
            controller.handle_event(
                {"type": "routine_completed", "job_id": job["job_id"]}
            )

    assert controller.job.status == "completed"


def test_event_for_other_job_ignored(fake_server, controller, qtbot):
    """Events of other jobs do not refresh the detail."""
    job = fake_server.add_job()
    with qtbot.waitSignal(
        controller.job_changed, check_params_cb=lambda value: value is not None
    ):
        controller.select_job(job["job_id"])

    with qtbot.assertNotEmitted(controller.loading_changed, wait=30):
        controller.handle_event({"type": "routine_completed", "job_id": "someone-else"})


def test_stale_detail_dropped(fake_server, controller, qtbot):
    """A detail that arrives after the selection moved on is not shown."""
    first = fake_server.add_job()
    second = fake_server.add_job()

    shown = []
    controller.job_changed.connect(lambda job: shown.append(job and job.job_id))

    # Refreshing at once sends the first request before the selection moves.
    controller.select_job(first["job_id"])
    controller.refresh()
    controller.select_job(second["job_id"])
    controller.refresh()
    qtbot.waitUntil(lambda: controller.job is not None)

    assert controller.job.job_id == second["job_id"]
    assert first["job_id"] not in shown


def test_cancel_running_job(fake_server, controller, qtbot, run_async):
    """Cancel sends the request and shows the cancelled job."""
    job = fake_server.add_job(status="running")
    with qtbot.waitSignal(
        controller.job_changed, check_params_cb=lambda value: value is not None
    ):
        controller.select_job(job["job_id"])
    assert controller.can_cancel

    run_async(controller.cancel_job())

    assert controller.job.status == "cancelled"
    assert not controller.can_cancel


def test_cancel_finished_job_reports_conflict(
    fake_server, controller, qtbot, run_async
):
    """Cancelling a finished job reports the server's reason."""
    from app.controllers import notify

    job = fake_server.add_job(status="completed")
    with qtbot.waitSignal(
        controller.job_changed, check_params_cb=lambda value: value is not None
    ):
        controller.select_job(job["job_id"])

    with qtbot.waitSignal(notify.bridge().message_posted) as blocker:
        run_async(controller.cancel_job())

    assert (
        blocker.args[0].text
        == f"Couldn't cancel job {job['job_id']}: Job '{job['job_id']}' already completed"
    )


def test_rerun_submits_same_params(fake_server, controller, qtbot, run_async):
    """Re-run starts a job at the same entry point with the same params."""
    job = fake_server.add_job(params={"records": 3, "note": "ünïcode"})
    with qtbot.waitSignal(
        controller.job_changed, check_params_cb=lambda value: value is not None
    ):
        controller.select_job(job["job_id"])

    with qtbot.waitSignal(controller.job_submitted):
        new_job = run_async(controller.rerun_job())

    assert fake_server.submitted == [
        {
            "flow_id": "demo_flow",
            "routine_id": "reader",
            "slot_name": "input",
            "data": {"records": 3, "note": "ünïcode"},
            "metadata": {},
        }
    ]
    assert new_job.job_id != job["job_id"]
