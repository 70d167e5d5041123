"""Tests for NewJobDialog: entry points, params validation and submit errors."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.models.records import FlowInfo
from app.services.api import ApiError, ServerUnreachable
from app.views.new_job_dialog import NewJobDialog, ParamsError, parse_params
from tests.support.fake_api import DEMO_FLOW, OTHER_FLOW

FLOWS = [FlowInfo.from_json(DEMO_FLOW), FlowInfo.from_json(OTHER_FLOW)]


class Submitter:
    """Records submissions and returns a job or raises an error."""

    def __init__(self, fake_server=None, error: Exception | None = None):
        self.calls = []
        self.fake_server = fake_server
        self.error = error

    async def __call__(self, flow_id, routine_id, slot_name, params):
        self.calls.append((flow_id, routine_id, slot_name, params))
        if self.error is not None:
            raise self.error
        from app.models.records import JobDetail

        return JobDetail(
            job_id="new-job",
            flow_id=flow_id,
            routine_id=routine_id,
            slot_name=slot_name,
            params=params,
        )


@pytest.fixture
def make_dialog(qtbot):
    def make(submit=None):
        dialog = NewJobDialog(FLOWS, submit or Submitter())
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    return make


def test_parse_params_reports_position():
    """Invalid JSON names the line and column of the problem."""
    with pytest.raises(ParamsError) as caught:
        parse_params('{\n  "a": 1,\n  "b" 2\n}')

    assert str(caught.value) == "Line 3, column 7: Expecting ':' delimiter"
    assert caught.value.position == 18


def test_parse_params_requires_object():
    """A JSON value other than an object is rejected; blank means empty."""
    with pytest.raises(ParamsError, match="not an array"):
        parse_params("[1, 2]")
    assert parse_params("   ") == {}


def test_flow_choice_fills_entry_routines_and_slots(make_dialog):
    """Routines come from the flow's entry points and slots from the routine."""
    dialog = make_dialog()

    assert dialog.flow_box.currentData() == "demo_flow"
    assert [
        dialog.routine_box.itemData(i) for i in range(dialog.routine_box.count())
    ] == ["reader"]
    assert [dialog.slot_box.itemData(i) for i in range(dialog.slot_box.count())] == [
        "input",
        "control",
    ]

    dialog.flow_box.setCurrentIndex(dialog.flow_box.findData("other_flow"))

    assert dialog.routine_box.currentData() == "start"
    assert dialog.slot_box.currentData() == "go"


def test_invalid_params_disable_submit(make_dialog):
    """Submit is disabled while the params are invalid and the error is shown."""
    dialog = make_dialog()
    assert dialog.is_submit_enabled()

    dialog.params_edit.setPlainText('{"name": "Zoë 👋", oops}')

    assert not dialog.is_submit_enabled()
    assert (
        dialog.validation_label.text()
        == "⚠ Line 1, column 19: Expecting property name enclosed in double quotes"
    )
    selection = dialog.params_edit.extraSelections()[0]
    # The emoji counts as two UTF-16 units in Qt, so the mark sits one further.
    assert selection.cursor.selectionStart() == 19

    dialog.params_edit.setPlainText('{"name": "Zoë 👋"}')

    assert dialog.is_submit_enabled()
    assert dialog.params_edit.extraSelections() == []


def test_non_object_params_disable_submit(make_dialog):
    """A JSON array is valid JSON but not valid params."""
    dialog = make_dialog()

    dialog.params_edit.setPlainText("[1, 2, 3]")

    assert not dialog.is_submit_enabled()
    assert "must be a JSON object" in dialog.validation_label.text()


def test_submit_sends_choice_and_closes(make_dialog, qloop, qtbot):
    """A valid submit sends the chosen entry point and params, then closes."""
    submitter = Submitter()
    dialog = make_dialog(submitter)
    dialog.slot_box.setCurrentIndex(dialog.slot_box.findData("control"))
    dialog.params_edit.setPlainText('{"text": "مرحبا", "n": 3}')

    with qtbot.waitSignal(dialog.job_submitted) as blocker:
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)

    assert submitter.calls == [
        ("demo_flow", "reader", "control", {"text": "مرحبا", "n": 3})
    ]
    assert blocker.args[0].job_id == "new-job"
    qtbot.waitUntil(lambda: not dialog.isVisible())


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            ApiError(404, "SLOT_NOT_FOUND", "Slot 'control' not found"),
            "Couldn't start the job: Slot 'control' not found",
        ),
        (
            ApiError(
                422,
                "VALIDATION_ERROR",
                "Invalid job data",
                {"errors": [{"loc": ["body", "data"], "msg": "too large"}]},
            ),
            "Couldn't start the job: Invalid job data: body.data: too large",
        ),
        (
            ServerUnreachable("Couldn't reach http://127.0.0.1:9: connection refused"),
            "Couldn't start the job: Couldn't reach http://127.0.0.1:9: connection refused",
        ),
    ],
    ids=["not-found", "validation", "unreachable"],
)
def test_server_error_shown_in_dialog(make_dialog, qloop, qtbot, error, expected):
    """A rejected submit keeps the dialog open and explains why."""
    dialog = make_dialog(Submitter(error=error))

    qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error_label.isVisible())

    assert dialog.error_label.text() == expected
    assert dialog.isVisible()
    assert dialog.is_submit_enabled()
    assert dialog.params_edit.isEnabled()


def test_prefill_selects_entry_point_and_params(make_dialog):
    """Prefill chooses the earlier job's entry point and params."""
    dialog = make_dialog()

    dialog.prefill("demo_flow", "reader", "control", {"name": "Zoë 👋"})

    assert dialog.slot_box.currentData() == "control"
    assert dialog.params_edit.toPlainText() == '{\n  "name": "Zoë 👋"\n}'
