"""Tests for EventLogPanel: type menu, job filter and following the tail."""

from __future__ import annotations

import pytest

from app.models.event_log_model import EventLogModel
from app.views.event_log import EventLogPanel


def event(seq, event_type="routine_started", job_id="job-1"):
    return {
        "type": event_type,
        "seq": seq,
        "job_id": job_id,
        "data": {"routine_id": "r"},
    }


@pytest.fixture
def model(qapp):
    return EventLogModel(flush_interval_ms=1)


@pytest.fixture
def panel(qtbot, model):
    panel = EventLogPanel()
    qtbot.addWidget(panel)
    panel.set_model(model)
    panel.resize(700, 200)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def test_type_menu_filters_rows(panel, model, qtbot):
    """Unticking a type in the menu hides its rows and reports the choice."""
    model.append_events([event(1), event(2, "log_message")])
    model.flush()

    with qtbot.waitSignal(panel.event_types_changed) as blocker:
        panel._type_actions["routine_started"].setChecked(False)

    assert "routine_started" not in blocker.args[0]
    assert panel.proxy.rowCount() == 1
    assert (
        panel.types_button.text()
        == f"Types: {len(panel._type_actions) - 1} of {len(panel._type_actions)}"
    )
    assert panel._count_label.text() == "1 of 2 events"


def test_restored_types_tick_menu(panel):
    """Restoring saved types ticks exactly those types."""
    panel.set_event_types({"job_failed"})

    ticked = [
        name for name, action in panel._type_actions.items() if action.isChecked()
    ]
    assert ticked == ["job_failed"]
    assert panel.proxy.event_types == frozenset({"job_failed"})


def test_selected_job_only_follows_selection(panel, model):
    """With "Selected job only" the job filter follows the jobs table."""
    model.append_events([event(1, job_id="job-1"), event(2, job_id="job-2")])
    model.flush()
    panel.set_selected_job("job-2")

    panel.follow_selection.setChecked(True)

    assert panel.job_edit.text() == "job-2"
    assert panel.proxy.rowCount() == 1
    panel.set_selected_job("job-1")
    assert panel.proxy.index(0, 3).data() == "job-1"


def test_view_follows_tail_when_at_bottom(panel, model, qtbot):
    """At the bottom, new events keep the newest row in view."""
    model.append_events(event(seq) for seq in range(1, 200))
    model.flush()
    bar = panel.table.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() == bar.maximum() and bar.maximum() > 0)

    model.append_events(event(seq) for seq in range(200, 260))
    model.flush()

    qtbot.waitUntil(lambda: bar.value() == bar.maximum())
    last = panel.table.indexAt(panel.table.viewport().rect().bottomLeft())
    assert int(panel.proxy.index(last.row(), 0).data()) > 240


def test_view_stays_when_scrolled_up(panel, model, qtbot):
    """Scrolled up, new events do not move the view."""
    model.append_events(event(seq) for seq in range(1, 200))
    model.flush()
    bar = panel.table.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    bar.setValue(0)

    model.append_events(event(seq) for seq in range(200, 260))
    model.flush()

    assert bar.value() == 0
