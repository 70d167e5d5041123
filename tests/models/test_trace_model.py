"""Tests for TraceModel, the trace timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QPersistentModelIndex

from app.models.records import TraceEntry
from app.models.trace_model import TraceColumn, TraceModel

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def entry(milliseconds: int, action: str = "routine_started", **details) -> TraceEntry:
    return TraceEntry(
        T0 + timedelta(milliseconds=milliseconds), "reader", action, details
    )


@pytest.fixture
def model(qapp, qtmodeltester):
    model = TraceModel()
    qtmodeltester.check(model)
    return model


def test_offsets_relative_to_origin(model):
    """Each row shows its time relative to the job's start."""
    model.set_entries(
        [entry(0), entry(1250, "routine_completed", duration_ms=1250)], T0
    )

    assert model.index(0, TraceColumn.OFFSET).data() == "+0.000 s"
    assert model.index(1, TraceColumn.OFFSET).data() == "+1.250 s"
    assert model.index(1, TraceColumn.DETAILS).data() == '{"duration_ms": 1250}'


def test_origin_defaults_to_first_entry(model):
    """Without a job start time the first entry is the origin."""
    model.set_entries([entry(500), entry(700)])

    assert model.index(1, TraceColumn.OFFSET).data() == "+0.200 s"


def test_refresh_appends_only_new_rows(model, qtbot, qtmodeltester):
    """A refresh that extends the trace inserts rows and keeps the others."""
    model.set_entries([entry(0), entry(10)], T0)
    kept = QPersistentModelIndex(model.index(1, 0))

    with qtbot.assertNotEmitted(model.modelReset):
        with qtbot.waitSignal(model.rowsInserted):
            model.set_entries([entry(0), entry(10), entry(20)], T0)

    qtmodeltester.check(model, force_py=True)
    assert kept.isValid()
    assert model.rowCount() == 3


def test_different_trace_resets(model, qtbot):
    """A trace that does not extend the shown one replaces it."""
    model.set_entries([entry(0)], T0)

    with qtbot.waitSignal(model.modelReset):
        model.set_entries([entry(5, "routine_failed", error="x")], T0)

    assert model.index(0, TraceColumn.ACTION).data() == "routine_failed"
