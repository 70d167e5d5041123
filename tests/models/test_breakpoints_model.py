"""Tests for BreakpointsModel, the breakpoints table."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import QPersistentModelIndex, Qt

from app.models.breakpoints_model import BreakpointColumn, BreakpointsModel
from app.models.debug_records import BreakpointInfo, BreakpointPlace

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

FLOW_BP = BreakpointInfo("b1", "etl_orders", "transformer", "slot", slot_name="input",
                         condition="amount > 5", hit_count=2)  # fmt: skip
ROUTINE_BP = BreakpointInfo("b2", "etl_orders", "aggregator", "routine", hit_condition=">= 2",
                            last_error="KeyError: 'x'", error_count=3)  # fmt: skip
JOB_BP = BreakpointInfo("b3", "etl_orders", "reader", "event", job_id="0123456789ab",
                        event_name="record", log_message="n={n}", enabled=False)  # fmt: skip


@pytest.fixture
def model(qapp, qtmodeltester):
    model = BreakpointsModel()
    model.replace_where(lambda item: True, [FLOW_BP, ROUTINE_BP, JOB_BP])
    qtmodeltester.check(model)
    return model


def cell(model, row, column, role=Qt.ItemDataRole.DisplayRole):
    return model.index(row, column).data(role)


def test_columns_show_breakpoint_fields(model):
    """Each column shows one field; job breakpoints name their job."""
    assert cell(model, 0, BreakpointColumn.SCOPE) == "etl_orders"
    assert cell(model, 0, BreakpointColumn.PORT) == "input"
    assert cell(model, 0, BreakpointColumn.CONDITION) == "amount > 5"
    assert cell(model, 0, BreakpointColumn.HITS) == "2"
    assert cell(model, 1, BreakpointColumn.PORT) == ""
    assert cell(model, 1, BreakpointColumn.HIT_CONDITION) == ">= 2"
    assert cell(model, 1, BreakpointColumn.LAST_ERROR) == "KeyError: 'x'"
    assert cell(model, 2, BreakpointColumn.SCOPE) == "job 01234567"
    assert cell(model, 2, BreakpointColumn.KIND) == "event, log"


def test_enabled_is_a_check_box(model):
    """The first column is checkable and reflects enabled."""
    index = model.index(2, BreakpointColumn.ENABLED)

    assert index.flags() & Qt.ItemFlag.ItemIsUserCheckable
    assert (
        cell(model, 0, BreakpointColumn.ENABLED, Qt.ItemDataRole.CheckStateRole)
        == Qt.CheckState.Checked
    )
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked


def test_tick_requests_change(model, qtbot):
    """Ticking the box updates the row and requests the change."""
    index = model.index(2, BreakpointColumn.ENABLED)

    with qtbot.waitSignal(model.enabled_change_requested) as blocker:
        assert model.setData(
            index, Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole
        )

    assert blocker.args == [JOB_BP, True]
    assert model.breakpoint_at(2).enabled


def test_replace_keeps_other_scopes_and_rows(model, qtbot, qtmodeltester):
    """Refreshing one flow updates, adds and removes only its rows."""
    kept = QPersistentModelIndex(model.index(0, 0))
    fresh = [
        replace(FLOW_BP, hit_count=7),
        BreakpointInfo("b4", "etl_orders", "validator"),
    ]

    with qtbot.assertNotEmitted(model.modelReset):
        model.replace_where(lambda item: item.job_id is None, fresh)

    assert [item.breakpoint_id for item in model.breakpoints()] == ["b1", "b3", "b4"]
    assert kept.isValid()
    assert kept.row() == 0
    assert cell(model, 0, BreakpointColumn.HITS) == "7"
    qtmodeltester.check(model, force_py=True)


def test_upsert_remove_and_find(model):
    """Rows can be added, replaced, found by place and removed."""
    model.upsert(replace(ROUTINE_BP, condition="x"))
    assert cell(model, 1, BreakpointColumn.CONDITION) == "x"

    place = BreakpointPlace("etl_orders", "transformer", "slot", "input")
    assert model.find_place(place) == FLOW_BP
    assert model.find_place(place, job_id="other") is None

    model.remove("b1")
    assert model.row_of("b1") is None
    assert len(model) == 2
