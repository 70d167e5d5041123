"""Tests for job templates in the GUI: the new-job dialog, the menu, the picker and saving."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from PySide6.QtCore import Qt

from app.controllers.session import Session
from app.models import ui_state
from app.models.records import FlowInfo, JobDetail
from app.models.templates import JobTemplate, TemplateLibrary
from app.views.main_window import MainWindow
from app.views.new_job_dialog import NewJobDialog
from app.views.templates.install import install_templates
from app.views.templates.save_dialog import SaveTemplateDialog
from tests.support.fake_api import DEMO_FLOW, OTHER_FLOW
from tests.views.test_main_window import FakeStream

FLOWS = [FlowInfo.from_json(DEMO_FLOW), FlowInfo.from_json(OTHER_FLOW)]
MOMENT = datetime(2026, 12, 4, 9, 30, 0, tzinfo=timezone(timedelta(hours=2)))


class Submitter:
    """Records submissions and returns a job."""

    def __init__(self):
        self.calls = []

    async def __call__(self, flow_id, routine_id, slot_name, params):
        self.calls.append((flow_id, routine_id, slot_name, params))
        return JobDetail(
            job_id=f"job-{len(self.calls)}",
            flow_id=flow_id,
            routine_id=routine_id,
            slot_name=slot_name,
            params=params,
        )


def template(**changes):
    values = {
        "name": "Daily",
        "flow_id": "demo_flow",
        "routine_id": "reader",
        "slot_name": "input",
        "params": {"day": "${today}"},
    }
    values.update(changes)
    return JobTemplate(**values)


@pytest.fixture
def library(tmp_path):
    return TemplateLibrary(tmp_path / "templates")


@pytest.fixture
def make_dialog(qtbot, library):
    def make(submit=None):
        dialog = NewJobDialog(
            FLOWS, submit or Submitter(), templates=library, clock=lambda: MOMENT
        )
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    return make


def preview_params(dialog):
    return json.loads(dialog.preview.preview_view.toPlainText())


def test_template_with_today_submits_date(make_dialog, library, qloop, qtbot):
    """A template with ${today} starts a job whose params hold the date."""
    saved = library.save(template())
    submitter = Submitter()
    dialog = make_dialog(submitter)

    dialog.template_box.setCurrentIndex(dialog.template_box.findData(saved.template_id))
    dialog.template_box.activated.emit(dialog.template_box.currentIndex())
    assert preview_params(dialog) == {"day": "2026-12-04"}
    with qtbot.waitSignal(dialog.job_submitted):
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)

    assert submitter.calls == [("demo_flow", "reader", "input", {"day": "2026-12-04"})]


def test_ask_fields_gate_submit(make_dialog, qloop, qtbot):
    """Each ${ask:NAME} gets a field; submit waits until every field has a value."""
    submitter = Submitter()
    dialog = make_dialog(submitter)
    dialog.params_edit.setPlainText(
        '{"customer": "${ask:customer}", "ref": "${ask:ref}-${ask:customer}"}'
    )

    assert not dialog.is_submit_enabled()
    assert "Enter a value for customer, ref" in dialog.preview.note_label.text()
    dialog.preview.set_answer("customer", "ACME")
    assert not dialog.is_submit_enabled()
    dialog.preview.set_answer("ref", "R7")
    assert dialog.is_submit_enabled()
    assert preview_params(dialog) == {"customer": "ACME", "ref": "R7-ACME"}

    with qtbot.waitSignal(dialog.job_submitted):
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
    assert submitter.calls[0][3] == {"customer": "ACME", "ref": "R7-ACME"}


def test_unknown_placeholder_blocks_submit(make_dialog, qtbot):
    """An unknown placeholder is shown as an error and nothing can be sent."""
    dialog = make_dialog()

    dialog.params_edit.setPlainText('{"day": "${tomorrow}"}')

    assert not dialog.is_submit_enabled()
    assert "unknown placeholder ${tomorrow}" in dialog.validation_label.text()
    assert dialog.validation_label.text().startswith("⚠ Placeholder error in day:")
    assert dialog.preview.preview_view.toPlainText() == ""


def test_previewed_uuids_are_sent(make_dialog, qloop, qtbot):
    """The UUIDs in the preview are the ones the job is started with."""
    submitter = Submitter()
    dialog = make_dialog(submitter)
    dialog.params_edit.setPlainText(
        '{"id": "${uuid}", "other": "${uuid}", "t": "${now}"}'
    )
    shown = preview_params(dialog)

    with qtbot.waitSignal(dialog.job_submitted):
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)

    sent = submitter.calls[0][3]
    assert sent["id"] == shown["id"]
    assert sent["other"] == shown["other"]
    assert sent["id"] != sent["other"]
    assert sent["t"] == "2026-12-04T09:30:00+02:00"
    assert "${now} is read again" in dialog.preview.note_label.text()


def test_save_from_dialog_keeps_placeholders(make_dialog, library, qtbot):
    """Save as Template stores the params with their placeholders, not expanded."""
    dialog = make_dialog()
    dialog.slot_box.setCurrentIndex(dialog.slot_box.findData("control"))
    dialog.params_edit.setPlainText('{"day": "${today}", "who": "${ask:who}"}')

    saver = dialog.open_save_template_dialog()
    saver.name_edit.setText("Control run")
    with qtbot.waitSignal(saver.saved):
        qtbot.mouseClick(saver.save_button, Qt.MouseButton.LeftButton)

    saved = library.find_by_name("Control run")
    assert saved.slot_name == "control"
    assert saved.params == {"day": "${today}", "who": "${ask:who}"}
    data = json.loads((library.folder / f"{saved.template_id}.json").read_text())
    assert data["params"]["day"] == "${today}"
    assert dialog.template_box.currentData() == saved.template_id


def test_save_dialog_warns_before_replacing(make_dialog, library, qtbot):
    """Naming a template like an existing one shows that it will be replaced."""
    library.save(template())
    dialog = make_dialog()

    saver = dialog.open_save_template_dialog()
    saver.name_edit.setText("daily")

    assert saver.save_button.text() == "Replace"
    assert "replaces the template 'Daily'" in saver.note_label.text()
    with qtbot.waitSignal(saver.saved):
        qtbot.mouseClick(saver.save_button, Qt.MouseButton.LeftButton)
    assert len(library.templates()) == 1


def test_missing_flow_template_is_marked(make_dialog, library):
    """A template for a flow the server lacks is listed with a mark and explained."""
    saved = library.save(template(name="Elsewhere", flow_id="not_here"))
    dialog = make_dialog()

    index = dialog.template_box.findData(saved.template_id)
    assert dialog.template_box.itemText(index) == "Elsewhere  ⚠"
    assert (
        dialog.template_box.itemData(index, Qt.ItemDataRole.ToolTipRole)
        == "flow 'not_here' is not on this server"
    )
    dialog.apply_template(saved)
    assert dialog.template_note.text() == "⚠ flow 'not_here' is not on this server"


# -- the Templates menu on a main window ------------------------------------------


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
    return window


@pytest.fixture
def ui(window, session, library, run_async):
    ui = install_templates(window, session=session, library=library)
    yield ui
    run_async(ui.aclose())


def test_menu_entry_starts_job_at_once(ui, library, fake_server, window, qtbot):
    """Choosing a plain template in the menu starts its job with today's date."""
    library.save(template())
    [entry] = ui.template_entries()

    entry.trigger()
    qtbot.waitUntil(lambda: len(fake_server.submitted) == 1)

    body = fake_server.submitted[0]
    assert body["data"] == {"day": date.today().isoformat()}
    qtbot.waitUntil(lambda: window.jobs_panel.selected_job_id() is not None)


def test_menu_has_shortcut_and_entries(ui, library, window):
    """The Templates menu sits in the menu bar with a keyboard shortcut to the picker."""
    library.save(template())
    library.save(template(name="Gone", flow_id="nope"))

    titles = [action.text() for action in window.menuBar().actions()]
    assert "&Templates" in titles
    assert ui.actions["start_template"].shortcut().toString() == "Ctrl+Shift+N"
    assert [a.text() for a in ui.template_entries()] == ["Daily", "Gone  ⚠"]


def test_asking_template_opens_dialog(ui, library, fake_server, window, qtbot):
    """A template with ${ask:NAME} opens the new-job dialog instead of starting."""
    saved = library.save(template(params={"who": "${ask:who}"}))

    ui.start_template(saved)

    dialog = window.findChild(NewJobDialog)
    assert dialog is not None
    assert dialog.isVisible()
    assert fake_server.submitted == []
    assert dialog.preview.missing_answers() == ["who"]
    dialog.reject()


def test_picker_starts_with_enter(ui, library, fake_server, qtbot):
    """The picker filters as you type and Enter starts the chosen template."""
    library.save(template(name="Alpha"))
    library.save(template(name="Beta", params={"b": 1}))

    picker = ui.open_picker()
    qtbot.keyClicks(picker.filter_edit, "bet")
    assert picker.shown_names() == ["Beta"]
    qtbot.keyClick(picker.filter_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(fake_server.submitted) == 1)

    assert fake_server.submitted[0]["data"] == {"b": 1}


def test_picker_arrow_keys_move_selection(ui, library, qtbot):
    """Up and Down in the filter move through the list."""
    library.save(template(name="Alpha"))
    library.save(template(name="Beta"))
    picker = ui.open_picker()

    qtbot.keyClick(picker.filter_edit, Qt.Key.Key_Down)

    assert picker.current_template().name == "Beta"
    picker.reject()


def test_save_job_from_detail(ui, library, fake_server, window, session, qtbot):
    """The job detail's Save as Template saves the shown job's start point and params."""
    job = fake_server.add_job("job-x", params={"n": 5})
    session.job_detail.select_job("job-x")
    session.job_detail.refresh()
    qtbot.waitUntil(lambda: window.detail_panel.job is not None)

    window.detail_panel.save_template_button.click()
    [saver] = window.findChildren(SaveTemplateDialog)
    saver.name_edit.setText("From job")
    with qtbot.waitSignal(saver.saved):
        qtbot.mouseClick(saver.save_button, Qt.MouseButton.LeftButton)

    saved = library.find_by_name("From job")
    assert (saved.flow_id, saved.routine_id, saved.slot_name) == (
        job["flow_id"],
        "reader",
        "input",
    )
    assert saved.params == {"n": 5}


def test_export_and_import_through_menu(ui, library, tmp_path):
    """Export writes every template; import adds them to another library."""
    library.save(template())
    path = tmp_path / "out.json"

    ui.export_templates(path)
    library.delete(library.templates()[0].template_id)
    ui.import_templates(path)

    assert [t.name for t in library.templates()] == ["Daily"]
