"""The dry-run dialog: params checked while typing, and real dry runs against a server."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from app.models.dry_run import DryRunRequest, DryRunResult
from app.models.records import FlowInfo
from app.services.api import ApiClient, ApiError
from app.services.flow_api import FlowApi
from app.views.graph.dry_run_dialog import EXECUTE_WARNING, DryRunDialog
from tests.views.graph.conftest import API_KEY

FLOW = FlowInfo.from_json(
    {
        "flow_id": "etl",
        "routines": {
            "reader": {"slots": ["input"], "events": ["record"]},
            "pair": {"slots": ["left", "right"], "events": []},
            "middle": {"slots": ["input", "side"], "events": []},
        },
        "connections": [
            {
                "source_routine": "reader",
                "source_event": "record",
                "target_routine": "middle",
                "target_slot": "input",
            }
        ],
        "entry_routines": ["reader", "pair"],
    }
)


async def never_called(flow_id: str, request: DryRunRequest) -> DryRunResult:
    raise AssertionError("the dialog ran a dry run")


@pytest.fixture
def make_dialog(qtbot):
    def make(runner=never_called, flows=(FLOW,), **kwargs):
        dialog = DryRunDialog(list(flows), runner, validate_delay_ms=5, **kwargs)
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    return make


def type_params(dialog, qtbot, text):
    dialog.params_edit.clear()
    with qtbot.waitSignal(dialog._validate_timer.timeout):
        qtbot.keyClicks(dialog.params_edit, text)


def paste_params(dialog, qtbot, text):
    # QTest.keyClicks aborted the process on "✓" with the offscreen platform,
    # so text beyond Latin-1 is set as a paste would set it.
    with qtbot.waitSignal(dialog._validate_timer.timeout):
        dialog.params_edit.setPlainText(text)


def test_invalid_json_is_reported_while_typing(make_dialog, qtbot):
    dialog = make_dialog()

    type_params(dialog, qtbot, '{"records": 2,')

    assert dialog.params_message.text().startswith("Line 1, column 15:")
    assert not dialog.run_button.isEnabled()
    (selection,) = dialog.params_edit.extraSelections()
    assert selection.cursor.selectionStart() == 13


def test_non_object_params_are_rejected(make_dialog, qtbot):
    dialog = make_dialog()

    type_params(dialog, qtbot, "[1, 2]")

    assert (
        dialog.params_message.text()
        == "Params must be a JSON object ({...}), not a list"
    )
    assert not dialog.run_button.isEnabled()


def test_valid_object_enables_run(make_dialog, qtbot):
    dialog = make_dialog()

    paste_params(dialog, qtbot, '{"records": 2, "name": "✓ ünïcode 🚀"}')

    assert dialog.params_message.text() == "Valid JSON object"
    assert dialog.run_button.isEnabled()
    assert dialog.params_edit.extraSelections() == []
    assert dialog.request().entry_params == {"records": 2, "name": "✓ ünïcode 🚀"}


def test_entry_routines_listed_first(make_dialog, qtbot):
    dialog = make_dialog()

    routines = [
        dialog.routine_box.itemData(i) for i in range(dialog.routine_box.count())
    ]
    assert routines[:2] == ["reader", "pair"]
    assert routines[-1] == "middle"
    assert dialog.slot_box.currentData() == "input"

    dialog.routine_box.setCurrentIndex(1)
    assert [dialog.slot_box.itemData(i) for i in range(dialog.slot_box.count())] == [
        "left",
        "right",
    ]
    assert dialog.request().entry_slot == "left"


def test_run_for_real_shows_its_warning(make_dialog, qtbot):
    dialog = make_dialog()
    assert not dialog.execute_warning.isVisible()

    box = dialog.execute_box
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))

    assert dialog.execute_warning.isVisible()
    assert dialog.execute_warning.text() == EXECUTE_WARNING
    assert dialog.run_button.text() == "Run for Real"
    assert dialog.request().execute is True


def test_runner_error_is_shown_in_the_dialog(make_dialog, qtbot, qloop):
    async def failing(flow_id, request):
        raise ApiError(404, "ROUTINE_NOT_FOUND", "Routine 'reader' not found")

    dialog = make_dialog(failing)
    with qtbot.assertNotEmitted(dialog.result_ready):
        dialog.run()
        qtbot.waitUntil(lambda: dialog.error_label.isVisible())

    assert "Routine 'reader' not found" in dialog.error_label.text()
    assert dialog.run_button.isEnabled()


@pytest.fixture
def flow_api(dryrun_server, qtbot, run_async):
    api = ApiClient(dryrun_server.url, API_KEY)
    yield FlowApi(api)
    run_async(api.aclose())


def flows_of(flow_api, run_async):
    flows, _errors = run_async(flow_api.api.list_flows(), timeout=10_000)
    return flows


def test_dry_run_lists_findings_and_missing_inputs(
    flow_api, make_dialog, qtbot, run_async
):
    dialog = make_dialog(
        flow_api.dry_run, flows_of(flow_api, run_async), flow_id="dryrun_graph"
    )
    dialog.routine_box.setCurrentIndex(dialog.routine_box.findData("start"))

    with qtbot.waitSignal(dialog.result_ready, timeout=20_000) as blocker:
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)

    flow_id, result = blocker.args
    assert flow_id == "dryrun_graph"
    assert result.status == "failed"
    view = dialog.result_view
    findings = [
        view.findings_list.item(i).text() for i in range(view.findings_list.count())
    ]
    assert any("ROUTINE_UNREACHABLE · loop_a" in text for text in findings)
    assert any(text.startswith("⚠ CYCLE") for text in findings)
    assert "name" in view.missing_label.text() and "count" in view.missing_label.text()
    assert view.estimate_label.text().startswith("Estimated duration: none.")
    assert "would fail" in view.verdict_label.text()
    assert view.path_list.count() == 4


def test_clicking_a_finding_names_its_routine(flow_api, make_dialog, qtbot, run_async):
    dialog = make_dialog(
        flow_api.dry_run, flows_of(flow_api, run_async), flow_id="dryrun_graph"
    )
    dialog.routine_box.setCurrentIndex(dialog.routine_box.findData("start"))
    with qtbot.waitSignal(dialog.result_ready, timeout=20_000):
        dialog.run()
    findings = dialog.result_view.findings_list
    item = next(
        findings.item(i)
        for i in range(findings.count())
        if "loop_b" in findings.item(i).text()
    )

    with qtbot.waitSignal(dialog.finding_selected) as blocker:
        rect = findings.visualItemRect(item)
        qtbot.mouseClick(
            findings.viewport(), Qt.MouseButton.LeftButton, pos=rect.center()
        )

    assert blocker.args == ["loop_b"]


def test_executed_run_shows_outputs(flow_api, make_dialog, qtbot, run_async):
    dialog = make_dialog(
        flow_api.dry_run, flows_of(flow_api, run_async), flow_id="dryrun_chain"
    )
    dialog.params_edit.setPlainText('{"name": "x", "count": 2}')
    dialog.execute_box.setChecked(True)

    with qtbot.waitSignal(dialog.result_ready, timeout=30_000) as blocker:
        dialog.run()

    result = blocker.args[1]
    assert result.executed
    assert result.status == "completed"
    assert dialog.result_view.warning_label.isVisible()
    assert "Ran for real" in dialog.result_view.verdict_label.text()
    assert dialog.result_view.outputs_view.toPlainText().strip().startswith("{")
