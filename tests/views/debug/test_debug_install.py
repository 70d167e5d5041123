"""Tests for install_debugger: docks, menu, shortcuts, layout and pause notifications."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget, QWidget

from app.controllers import notify
from app.controllers.debugger import DebugState
from app.models import ui_state
from app.views.debug.install import DOCK_NAMES, install_debugger
from app.views.debug.notifier import PauseNotifier
from app.views.main_window import MainWindow

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    # The offscreen platform warns when a top-level window is shown or raised.
    pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise"),
]


class FakeStream(QObject):
    """Stands in for EventStream; tests emit its signals directly."""

    event_received = Signal(dict)
    resync_needed = Signal(str)


class Signals(QObject):
    """The jobs pane's and the session's signals that the debugger follows."""

    job_selected = Signal(object)
    flows_changed = Signal(list)


@pytest.fixture
def make(qtbot, api, run_async, tmp_path):
    signals = []

    def make(state=None):
        window = MainWindow(
            state or ui_state.UiState(), state_path=tmp_path / "ui-state.json"
        )
        selection = Signals(window)
        signals.append(selection)
        ui = install_debugger(
            window,
            api=api,
            stream=FakeStream(window),
            job_selected=selection.job_selected,
            flows_changed=selection.flows_changed,
            watch_path=tmp_path / "watches.json",
        )
        # pytest-qt closes and deletes the window before fixtures end, so the
        # debugger must close first.
        qtbot.addWidget(
            window, before_close_func=lambda _window: run_async(ui.aclose())
        )
        return window, ui

    return make


def test_docks_menu_and_toolbar_are_added(make):
    """The debugger adds its four docks, a Debug menu before Help and a toolbar."""
    window, ui = make()

    for name in DOCK_NAMES:
        assert isinstance(window.findChild(QDockWidget, name), QDockWidget)
    titles = [action.text() for action in window.menuBar().actions()]
    assert titles.index("&Debug") == titles.index("&Help") - 1
    assert ui.toolbar.objectName() == "debug_toolbar"


@pytest.mark.parametrize(
    ("action_id", "keys"),
    [("debug_continue", "F5"), ("debug_step_over", "F10"), ("debug_step_into", "F11"),
     ("debug_step_out", "Shift+F11"), ("toggle_breakpoint", "F9"), ("debug_stop", "Shift+F5")],
)  # fmt: skip
def test_debug_shortcuts(make, action_id, keys):
    """The debug commands have the usual keys."""
    _window, ui = make()

    assert ui.actions[action_id].shortcut() == QKeySequence(keys)


def test_refresh_moves_off_f5(make):
    """The jobs list's Refresh gives F5 up to Continue."""
    window, _ui = make()

    assert QKeySequence("F5") not in window.actions["refresh_jobs"].shortcuts()
    assert window.actions["refresh_jobs"].shortcuts()


def test_step_actions_follow_the_state(make):
    """Stepping is possible only while the selected job is paused."""
    _window, ui = make()
    assert not ui.actions["debug_continue"].isEnabled()

    ui.controller._set_state(DebugState.PAUSED)
    assert ui.actions["debug_step_over"].isEnabled()
    assert not ui.actions["debug_pause"].isEnabled()

    ui.controller._set_state(DebugState.RUNNING)
    assert ui.actions["debug_pause"].isEnabled()
    assert ui.actions["debug_stop"].isEnabled()
    assert not ui.actions["debug_continue"].isEnabled()


def test_dock_layout_is_restored(make):
    """A saved layout puts the debugger's docks back where they were."""
    window, _ui = make()
    window.show()
    window.findChild(QDockWidget, "watch_dock").hide()
    state = window.save_ui_state()

    restored, _ui2 = make(state)
    restored.show()

    assert restored.findChild(QDockWidget, "watch_dock").isHidden()
    assert not restored.findChild(QDockWidget, "breakpoints_dock").isHidden()


def test_toggle_without_place_explains(make, qtbot):
    """F9 with nothing selected explains what to select."""
    _window, ui = make()

    with qtbot.waitSignal(notify.bridge().message_posted) as blocker:
        ui.actions["toggle_breakpoint"].trigger()

    assert "Select a call stack frame" in blocker.args[0].text


@pytest.fixture
def background(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


def test_pause_in_background_notifies(background, qtbot):
    """A pause while the window is inactive posts one message."""
    notifier = PauseNotifier(background, coalesce_ms=5, use_tray=False)
    data = {
        "kind": "slot",
        "routine_id": "transformer",
        "slot": "input",
        "reason": "breakpoint",
    }

    with qtbot.waitSignal(notify.bridge().message_posted) as blocker:
        notifier.on_job_paused("0123456789abcdef", data)

    assert (
        blocker.args[0].text
        == "Job 01234567 paused at a breakpoint: slot transformer.input"
    )


def test_burst_of_pauses_gives_one_message(background, qtbot):
    """Pauses that arrive together are announced once."""
    notifier = PauseNotifier(background, coalesce_ms=20, use_tray=False)

    with qtbot.waitSignal(notify.bridge().message_posted) as blocker:
        for index in range(3):
            notifier.on_job_paused(f"job-{index}", {"routine_id": "r"})

    assert blocker.args[0].text.startswith("3 jobs paused")
    assert notifier.last_message == blocker.args[0].text


def test_reset_layout_puts_docks_back(make, qtbot):
    """After the window resets its layout, the debugger's docks return to their tabs."""
    window, ui = make()
    window.show()
    ui.docks["watch_dock"].setFloating(True)
    ui.docks["breakpoints_dock"].hide()

    window.actions["reset_layout"].trigger()
    ui.reset_layout()

    def tab_names(dock):
        return {other.objectName() for other in window.tabifiedDockWidgets(dock)}

    qtbot.waitUntil(
        lambda: "paused_job_dock" in tab_names(window.detail_dock), timeout=2000
    )
    assert not ui.docks["watch_dock"].isFloating()
    assert not ui.docks["breakpoints_dock"].isHidden()
    assert tab_names(window.event_dock) == {"breakpoints_dock"}
    assert tab_names(ui.docks["watch_dock"]) == {"call_stack_dock"}


def test_window_close_stops_requests(make):
    """Closing the window stops the debugger from starting requests."""
    window, ui = make()
    window.show()

    window.close()

    assert ui.controller.breakpoints._tasks.stopped
    assert ui.controller.inspector._tasks.stopped
