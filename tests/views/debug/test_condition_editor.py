"""Tests for the condition editor and the breakpoint dialog that uses it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.controllers.breakpoints import BreakpointsController
from app.models.debug_records import BreakpointPlace
from app.services.debug_api import DebugApi
from app.views.debug.breakpoint_dialog import BreakpointDialog
from app.views.debug.condition_editor import ConditionEditor, check_expression
from tests.support.debug_env import debug_env_fixture, debug_server_fixture  # noqa: F401

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    # The offscreen platform warns when a top-level window is shown or raised.
    pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise"),
]


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("amount >", 1, 9),
        ("a == 😀", 1, 6),
        ("'😀😀' == == 1", 1, 9),
        ("(a and\n b +)", 2, 5),
    ],
    ids=["ends-early", "emoji-token", "after-emoji", "second-line"],
)
def test_check_expression_columns(text, line, column):
    """Syntax errors give the line and the column in characters."""
    problem = check_expression(text)

    assert (problem.line, problem.column) == (line, column)


def test_blank_and_valid_texts_pass():
    """A blank condition means "always"; valid expressions pass."""
    assert check_expression("   ") is None
    assert (
        check_expression("record['amount'] > 50 and customer.startswith('A')") is None
    )


@pytest.fixture
def editor(qtbot):
    editor = ConditionEditor(debounce_ms=5)
    qtbot.addWidget(editor)
    editor.show()
    return editor


def test_editor_marks_error_after_typing_stops(editor, qtbot):
    """Invalid text is flagged at once; the message and underline follow the pause."""
    with qtbot.waitSignal(editor.validity_changed) as blocker:
        editor.edit.setPlainText("'😀' == 😀")
    assert blocker.args == [False]
    assert not editor.is_valid

    qtbot.waitUntil(lambda: editor.shown_problem is not None, timeout=2000)

    assert editor.message.text().startswith("Column 8: invalid character")
    # The second emoji is code point 7 and UTF-16 units 8 and 9.
    assert editor.underlined_range() == (8, 10)


def test_fixing_the_text_clears_the_mark(editor, qtbot):
    """Valid text removes the message and the underline at once."""
    editor.set_text("a ==")
    assert editor.underlined_range() is not None

    with qtbot.waitSignal(editor.validity_changed) as blocker:
        editor.edit.setPlainText("a == 1")

    assert blocker.args == [True]
    assert editor.message.isHidden()
    assert editor.underlined_range() is None


def test_server_error_is_underlined(editor):
    """An error from the server marks its column too."""
    editor.set_text("x == 1 and y._z")
    editor.show_error("Column 14: attributes that start with '_' are not allowed", 14)

    assert editor.underlined_range() == (13, 14)
    assert "Column 14" in editor.message.text()


@pytest.fixture
def breakpoints(debug_env, run_async):
    controller = BreakpointsController(DebugApi(debug_env.api), refresh_delay_ms=5)
    flows, _errors = run_async(debug_env.api.list_flows())
    controller.set_flows(flows)
    yield controller
    run_async(controller.aclose())


@pytest.fixture
def dialog(qtbot, breakpoints):
    place = BreakpointPlace("pipeline", "middle", "slot", "input")
    dialog = BreakpointDialog(
        breakpoints.flows, breakpoints, place=place, debounce_ms=5
    )
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_dialog_offers_the_flow_places(dialog):
    """The place comes from the flow's routines and their slots."""
    assert dialog.flow_box.currentData() == "pipeline"
    assert [
        dialog.routine_box.itemData(i) for i in range(dialog.routine_box.count())
    ] == ["middle", "sink", "source"]
    assert dialog.port_box.currentData() == "input"


def test_save_disabled_while_condition_is_invalid(dialog, qtbot):
    """Save is off while the condition does not parse, and the column is shown."""
    assert dialog.is_save_enabled()

    dialog.condition_editor.edit.setPlainText("value > 😀")

    assert not dialog.is_save_enabled()
    qtbot.waitUntil(lambda: dialog.condition_editor.message.isVisible(), timeout=2000)
    assert dialog.condition_editor.message.text().startswith("Column 9:")

    dialog.condition_editor.edit.setPlainText("value > 5")
    assert dialog.is_save_enabled()


def test_save_disabled_for_bad_hit_condition(dialog):
    """A hit condition outside the server's grammar turns Save off."""
    dialog.hit_edit.setText(">= three")
    assert not dialog.is_save_enabled()
    assert dialog.hit_message.isVisible()

    dialog.hit_edit.setText("% 10 == 0")
    assert dialog.is_save_enabled()


def test_server_rejection_shows_column_then_save_works(dialog, breakpoints, qtbot):
    """The server's 422 is shown at its column; a fixed condition saves."""
    dialog.condition_editor.set_text("value > 1 and data._hidden")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: dialog.condition_editor.message.isVisible(), timeout=10_000)
    assert "Column 20" in dialog.condition_editor.message.text()
    assert dialog.condition_editor.underlined_range() == (19, 20)
    assert dialog.isVisible()

    dialog.condition_editor.set_text("value > 1")
    with qtbot.waitSignal(dialog.saved, timeout=10_000) as blocker:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    assert blocker.args[0].condition == "value > 1"
    assert breakpoints.model.breakpoints() == [blocker.args[0]]
