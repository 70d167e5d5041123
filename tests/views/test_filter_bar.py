"""Tests for FilterBar: flow, status and time range choices."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.models.job_filter import FilterState, TimePreset
from app.models.records import FlowInfo
from app.views.filter_bar import FilterBar
from tests.support.fake_api import DEMO_FLOW, OTHER_FLOW

FLOWS = [FlowInfo.from_json(DEMO_FLOW), FlowInfo.from_json(OTHER_FLOW)]


@pytest.fixture
def bar(qtbot):
    bar = FilterBar(debounce_ms=5)
    qtbot.addWidget(bar)
    bar.set_flows(FLOWS)
    bar.show()
    return bar


def test_status_choice_emits_filter(bar, qtbot):
    """Choosing a status emits the new filter at once."""
    with qtbot.waitSignal(bar.filter_changed) as blocker:
        bar._status_box.setCurrentIndex(bar._status_box.findData("running"))

    assert blocker.args[0] == FilterState(status="running")


def test_custom_range_shows_fields_and_emits(bar, qtbot):
    """The custom preset shows from/to fields and filters by them."""
    with qtbot.waitSignal(bar.filter_changed) as blocker:
        bar._time_box.setCurrentIndex(bar._time_box.findData(TimePreset.CUSTOM))

    state = blocker.args[0]
    assert state.time_preset is TimePreset.CUSTOM
    assert state.custom_from < state.custom_to
    assert bar._from_edit.isVisible()
    assert bar._to_edit.isVisible()


def test_custom_time_edit_is_debounced(bar, qtbot):
    """Editing a custom time emits once, after a pause."""
    bar._time_box.setCurrentIndex(bar._time_box.findData(TimePreset.CUSTOM))
    emitted = []
    bar.filter_changed.connect(emitted.append)

    start = bar._from_edit.dateTime()
    bar._from_edit.setDateTime(start.addSecs(-3600))
    bar._from_edit.setDateTime(start.addSecs(-7200))
    qtbot.waitUntil(lambda: len(emitted) == 1)

    expected = datetime.fromtimestamp(start.addSecs(-7200).toSecsSinceEpoch(), tz=UTC)
    assert emitted[0].custom_from == expected


def test_set_state_restores_without_emitting(bar, qtbot):
    """Restoring a saved filter shows it without a change signal."""
    state = FilterState(
        flow_id="other_flow", status="failed", time_preset=TimePreset.LAST_DAY
    )

    with qtbot.assertNotEmitted(bar.filter_changed):
        bar.set_state(state)

    assert bar.state() == state
    assert not bar._from_edit.isVisible()


def test_saved_flow_kept_before_flow_list_loads(qtbot):
    """A saved flow stays chosen until the flow list arrives, and after."""
    bar = FilterBar()
    qtbot.addWidget(bar)
    bar.set_state(FilterState(flow_id="other_flow"))

    bar.set_flows(FLOWS)

    assert bar.state().flow_id == "other_flow"
    assert bar._flow_box.count() == 3
