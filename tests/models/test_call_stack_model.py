"""Tests for CallStackModel, the frames of a paused job."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.models.call_stack_model import FRAME_ROLE, CallStackModel, FrameColumn
from app.models.debug_records import Frame

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


def data(text):
    return {"repr": text, "type": "dict", "length": 1, "truncated": False}


FRAMES = [
    Frame(0, "slot", "transformer", "input", None, 14, data("{'record': {'id': 1}}")),
    Frame(1, "event", "validator", None, "valid", 10, data("{'record': {'id': 1}}")),
    Frame(2, "routine", "validator", None, None, 9, data("{'input': [...]}")),
]


@pytest.fixture
def model(qapp, qtmodeltester):
    model = CallStackModel()
    model.set_frames(FRAMES)
    qtmodeltester.check(model)
    return model


def test_frames_show_place_and_data(model):
    """Each row names the frame's kind, routine, port and data."""
    assert [model.index(row, FrameColumn.KIND).data() for row in range(3)] == [
        "slot",
        "event",
        "routine",
    ]
    assert model.index(1, FrameColumn.PORT).data() == "valid"
    assert model.index(2, FrameColumn.PORT).data() == ""
    assert model.index(0, FrameColumn.DATA).data() == "{'record': {'id': 1}}"
    assert model.index(1, 0).data(FRAME_ROLE) == FRAMES[1]


def test_current_frame_is_bold(model, qtbot):
    """Choosing a frame moves the bold marker and reports both rows."""
    assert model.index(0, 0).data(Qt.ItemDataRole.FontRole).bold()

    with qtbot.waitSignal(model.dataChanged):
        model.set_current_frame(2)

    assert model.current_frame == 2
    assert model.index(0, 0).data(Qt.ItemDataRole.FontRole) is None
    assert model.index(2, 0).data(Qt.ItemDataRole.FontRole).bold()


def test_new_frames_reset_current(model):
    """A new pause starts again at frame 0."""
    model.set_current_frame(1)
    model.set_frames(FRAMES[:2])

    assert model.current_frame == 0
    assert model.rowCount() == 2
