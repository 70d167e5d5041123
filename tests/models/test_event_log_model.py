"""Tests for EventLogModel and EventFilterProxy."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.models.event_log_model import (
    GAP_TYPE,
    EventColumn,
    EventFilterProxy,
    EventLogModel,
    EventRole,
)

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


def event(seq: int, event_type: str = "routine_started", job_id: str = "job-1", **data):
    return {
        "type": event_type,
        "seq": seq,
        "job_id": job_id,
        "flow_id": "demo_flow",
        "timestamp": "2026-12-04T12:00:00.250Z",
        "data": {"routine_id": "reader", **data},
    }


@pytest.fixture
def model(qapp, qtmodeltester):
    model = EventLogModel(capacity=5, flush_interval_ms=1)
    qtmodeltester.check(model)
    return model


@pytest.fixture
def proxy(model, qtmodeltester):
    proxy = EventFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    return proxy


def test_events_arrive_in_one_batch(model, qtbot):
    """Events queued together are inserted by one flush, oldest first."""
    with qtbot.waitSignal(model.batch_inserted) as blocker:
        model.append_events([event(1), event(2), event(3)])

    assert blocker.args == [3]
    seqs = [model.index(row, EventColumn.SEQ).data() for row in range(model.rowCount())]
    assert seqs == ["1", "2", "3"]


def test_capacity_drops_oldest_rows(model, qtmodeltester):
    """Past the capacity the oldest rows go first."""
    model.append_events(event(seq) for seq in range(1, 5))
    model.flush()
    model.append_events(event(seq) for seq in range(5, 9))
    model.flush()

    qtmodeltester.check(model, force_py=True)
    seqs = [model.index(row, EventColumn.SEQ).data() for row in range(model.rowCount())]
    assert seqs == ["4", "5", "6", "7", "8"]


def test_batch_larger_than_capacity_keeps_newest(model):
    """A single batch over the cap keeps only its newest events."""
    model.append_events(event(seq) for seq in range(1, 12))
    model.flush()

    assert model.rowCount() == 5
    assert model.index(0, EventColumn.SEQ).data() == "7"


def test_summary_describes_payload(model):
    """The message column describes the event in one line."""
    model.append_event(event(1, "routine_completed", duration_ms=250))
    model.append_event(event(2, "routine_failed", error="ValueError: bad\nline two"))
    model.append_event(event(3, "log_message", message="héllo 👋"))
    model.flush()

    messages = [model.index(row, EventColumn.MESSAGE).data() for row in range(3)]
    assert messages == ["Completed in 250.0 ms", "Failed: ValueError: bad", "héllo 👋"]
    assert model.index(1, 0).data(Qt.ItemDataRole.ForegroundRole) is not None


def test_gap_marker_added(model):
    """A resync adds a gap row with the reason events may be missing."""
    model.append_event(event(1))
    model.add_gap("the server no longer has the missed events")
    model.flush()

    assert model.index(1, 0).data(EventRole.TYPE) == GAP_TYPE
    assert "no longer has" in model.index(1, EventColumn.MESSAGE).data()


def test_proxy_filters_by_type(model, proxy):
    """Only the chosen event types pass the type filter."""
    model.append_events([event(1), event(2, "log_message", message="x"), event(3)])
    model.flush()

    proxy.set_event_types({"log_message"})

    assert proxy.rowCount() == 1
    assert proxy.index(0, EventColumn.TYPE).data() == "log_message"
    proxy.set_event_types(None)
    assert proxy.rowCount() == 3


def test_proxy_filters_by_job(model, proxy):
    """The job filter matches part of the job id, ignoring case."""
    model.append_events([event(1, job_id="ABC-123"), event(2, job_id="xyz-9")])
    model.flush()

    proxy.set_job_text("abc")

    assert proxy.rowCount() == 1
    assert proxy.index(0, EventColumn.JOB).data() == "ABC-123"


def test_proxy_keeps_gap_rows(model, proxy):
    """Gap markers stay visible under any filter."""
    model.append_event(event(1))
    model.add_gap("reconnected")
    model.flush()

    proxy.set_event_types({"job_failed"})
    proxy.set_job_text("nothing-matches")

    assert proxy.rowCount() == 1
    assert proxy.index(0, 0).data(EventRole.TYPE) == GAP_TYPE


def test_proxy_filters_new_rows(model, proxy):
    """Rows that arrive after a filter is set are filtered too."""
    proxy.set_event_types({"job_started"})

    model.append_events(
        [event(1), event(2, "job_started", job={"routine_id": "r", "slot_name": "s"})]
    )
    model.flush()

    assert proxy.rowCount() == 1
    assert proxy.index(0, EventColumn.MESSAGE).data() == "Started at r.s"


def test_clear_removes_rows(model):
    """Clear empties the log and drops queued events."""
    model.append_events([event(1), event(2)])
    model.flush()
    model.append_event(event(3))

    model.clear()
    model.flush()

    assert model.rowCount() == 0
