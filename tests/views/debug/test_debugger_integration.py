"""The debugger in the main window against a real embedded server with the demo flows."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from app.controllers.debugger import DebugState
from app.controllers.session import Session
from app.models import ui_state
from app.models.breakpoints_model import BreakpointColumn
from app.models.variables_model import VariableColumn
from app.models.watch_model import WatchColumn
from app.services.api import ApiClient
from app.services.stream import ConnectionState, EventStream
from app.views.debug.install import install_debugger
from app.views.main_window import MainWindow
from tests.serverutil import start_server
from tests.support.debug_env import API_KEY, collect_on_main_thread, server_settings

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    # The offscreen platform warns when a top-level window is shown or raised.
    pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise"),
]


@pytest.fixture
def demo_server(request, tmp_path):
    with collect_on_main_thread(request):
        running = start_server(server_settings(tmp_path, demo=True))
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture
def app(demo_server, qtbot, run_async, tmp_path):
    """A main window with a live session and the debugger installed."""
    window = MainWindow(ui_state.UiState(), state_path=tmp_path / "ui-state.json")
    api = ApiClient(demo_server.url, API_KEY)
    stream = EventStream(demo_server.url, API_KEY)
    session = Session(api, stream)
    window.attach_session(session)
    ui = install_debugger(
        window,
        api=api,
        stream=stream,
        job_selected=window.jobs_panel.job_selected,
        flows_changed=session.flows_changed,
        flows=session.flows,
        watch_path=tmp_path / "watches.json",
    )

    async def close_debugger_and_session():
        await ui.aclose()
        await session.aclose()

    # pytest-qt closes and deletes the window before fixtures end, so the
    # debugger and the session close first.
    qtbot.addWidget(
        window,
        before_close_func=lambda _window: run_async(
            close_debugger_and_session(), timeout=10_000
        ),
    )
    window.show()
    run_async(session.start(window.current_filters().to_query()), timeout=10_000)
    qtbot.waitUntil(
        lambda: stream.status.state is ConnectionState.CONNECTED, timeout=10_000
    )
    qtbot.waitUntil(
        lambda: "etl_orders" in ui.controller.breakpoints.flows, timeout=10_000
    )
    return window, session, ui


def add_breakpoint_through_dialog(ui, qtbot):
    dialog = ui.breakpoints_panel.open_add_dialog()
    dialog.flow_box.setCurrentIndex(dialog.flow_box.findData("etl_orders"))
    dialog.routine_box.setCurrentIndex(dialog.routine_box.findData("transformer"))
    dialog.kind_box.setCurrentIndex(dialog.kind_box.findData("slot"))
    dialog.port_box.setCurrentIndex(dialog.port_box.findData("input"))
    dialog.condition_editor.set_text("record['id'] == 1")
    assert dialog.is_save_enabled()
    with qtbot.waitSignal(dialog.saved, timeout=10_000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)


def add_watch(ui, expression):
    model = ui.controller.watch_model
    model.setData(model.index(model.rowCount() - 1, WatchColumn.EXPRESSION), expression)


def watch_value(ui, row):
    return ui.controller.watch_model.index(row, WatchColumn.VALUE).data()


def child_named(model, parent, name):
    for row in range(model.rowCount(parent)):
        if model.index(row, VariableColumn.NAME, parent).data() == name:
            return model.index(row, VariableColumn.VALUE, parent)
    raise AssertionError(f"no child {name!r}")


def edit_in_view(view, index, text, qtbot):
    """Type ``text`` into the value editor of ``index`` and press Enter."""
    view.setCurrentIndex(index)
    view.edit(index)
    editor = view.viewport().findChild(QLineEdit) or view.findChild(QLineEdit)
    assert editor is not None, "the value did not open an editor"
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)


def test_debug_a_demo_job_from_breakpoint_to_completion(app, qtbot, run_async):
    """Pause at a breakpoint, inspect, edit a value, step, continue and complete."""
    window, session, ui = app
    add_breakpoint_through_dialog(ui, qtbot)
    breakpoints = ui.controller.breakpoints.model
    assert (
        breakpoints.index(0, BreakpointColumn.CONDITION).data() == "record['id'] == 1"
    )
    add_watch(ui, "record['amount']")
    add_watch(ui, "record['currency']")

    job = run_async(
        session.submit_job("etl_orders", "reader", "input", {"records": 3, "seed": 1})
    )
    qtbot.waitUntil(lambda: ui.controller.state is DebugState.PAUSED, timeout=15_000)
    qtbot.waitUntil(lambda: watch_value(ui, 0) == "96.74", timeout=10_000)

    # Where it stopped, and the names visible there
    assert ui.controller.job_id == job.job_id
    assert "slot transformer.input" in ui.paused_panel.title.text()
    assert watch_value(ui, 1) == "'USD'"
    variables = ui.controller.variables_model
    assert {"record", "data", "job", "config"} <= set(variables.names())
    assert ui.controller.call_stack_model.rowCount() >= 5
    assert ui.actions["debug_continue"].isEnabled()

    # Edit record.amount in the variables tree, as a user would
    view = ui.paused_panel.variables_view
    record = variables.find("record").siblingAtColumn(VariableColumn.NAME)
    view.expand(record)
    qtbot.waitUntil(lambda: variables.rowCount(record) > 0, timeout=2000)
    edit_in_view(view, child_named(variables, record, "amount"), "1000", qtbot)
    qtbot.waitUntil(lambda: watch_value(ui, 0) == "1000", timeout=10_000)

    # Step over: from the slot to the routine run of the transformer
    ui.actions["debug_step_over"].trigger()
    qtbot.waitUntil(
        lambda: (
            ui.controller.pause is not None
            and ui.controller.pause.frame.kind == "routine"
        ),
        timeout=10_000,
    )
    assert "routine transformer" in ui.paused_panel.title.text()

    # Turn the breakpoint off with its switch, then continue to the end
    breakpoints.setData(
        breakpoints.index(0, BreakpointColumn.ENABLED),
        Qt.CheckState.Unchecked.value,
        Qt.ItemDataRole.CheckStateRole,
    )
    ui.actions["debug_continue"].trigger()
    qtbot.waitUntil(lambda: ui.controller.state is DebugState.ENDED, timeout=15_000)

    done = run_async(session.api.get_job(job.job_id))
    trace = run_async(session.api.get_trace(job.job_id))
    converted = {
        entry.details["id"]: entry.details["amount_base"]
        for entry in trace
        if entry.action == "order_converted"
    }
    assert done.status == "completed"
    assert converted[1] == 920.0  # 1000 USD at 0.92 EUR per USD
    assert not ui.controller.breakpoints.model.breakpoint_at(0).enabled


def test_frame_choice_and_toggle_breakpoint(app, qtbot, run_async):
    """A chosen frame shows its variables; F9 toggles breakpoints at frames and rows."""
    window, session, ui = app
    add_breakpoint_through_dialog(ui, qtbot)
    add_watch(ui, "routine_id")
    run_async(
        session.submit_job("etl_orders", "reader", "input", {"records": 2, "seed": 1})
    )
    qtbot.waitUntil(lambda: watch_value(ui, 0) == "'transformer'", timeout=15_000)

    table = ui.call_stack_panel.table
    stack = ui.controller.call_stack_model
    last = stack.rowCount() - 1
    table.selectRow(last)
    qtbot.waitUntil(lambda: watch_value(ui, 0) == "'reader'", timeout=10_000)
    assert ui.controller.variables_model.frame_index == last
    assert ui.paused_panel.frame_label.isVisible()

    window.activateWindow()
    table.setFocus()
    qtbot.waitUntil(lambda: window.focusWidget() is table, timeout=2000)
    model = ui.controller.breakpoints.model
    with qtbot.waitSignal(ui.controller.breakpoints.toggled, timeout=10_000) as blocker:
        ui.actions["toggle_breakpoint"].trigger()
    place, added = blocker.args
    assert added
    assert (place.routine_id, place.kind, place.port) == ("reader", "slot", "input")
    assert len(model) == 2

    with qtbot.waitSignal(ui.controller.breakpoints.toggled, timeout=10_000) as blocker:
        ui.actions["toggle_breakpoint"].trigger()
    assert blocker.args[1] is False
    assert len(model) == 1

    breakpoints_table = ui.breakpoints_panel.table
    breakpoints_table.selectRow(0)
    breakpoints_table.setFocus()
    qtbot.waitUntil(lambda: window.focusWidget() is breakpoints_table, timeout=2000)
    ui.actions["toggle_breakpoint"].trigger()
    qtbot.waitUntil(lambda: len(model) == 0, timeout=10_000)

    ui.actions["debug_stop"].trigger()
    qtbot.waitUntil(lambda: ui.controller.state is DebugState.ENDED, timeout=10_000)
