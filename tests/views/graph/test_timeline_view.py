"""The timeline view: large traces, clicks on bars, zoom and the summary line."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from app.models.records import JobDetail, TraceEntry
from app.models.timeline_model import ExecutionStatus, TimelineModel
from app.views.graph.timeline_panel import TimelinePanel
from app.views.graph.timeline_view import ROW_HEIGHT, RULER_HEIGHT

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def entry(ms, action, routine, /, **details):
    return TraceEntry(T0 + timedelta(milliseconds=ms), routine, action, details)


def make_trace(count):
    """Return ``count`` trace entries of eight routines, with failures and pauses."""
    entries, ms, index = [], 0.0, 0
    while len(entries) < count:
        routine = f"routine_{index % 8}"
        entries.append(entry(ms, "routine_started", routine))
        entries.append(entry(ms + 0.3, "event_emitted", routine, event="out"))
        failed = index % 50 == 7
        action = "routine_failed" if failed else "routine_completed"
        entries.append(entry(ms + 0.6, action, routine, duration_ms=0.6, error="boom"))
        if index % 1000 == 3:
            entries.append(
                entry(ms + 0.7, "paused", routine, kind="slot", slot="input")
            )
            entries.append(entry(ms + 4, "resumed", routine, mode="continue"))
            ms += 4
        ms += 1.0
        index += 1
    return entries[:count]


@pytest.fixture
def panel(qtbot):
    model = TimelineModel()
    panel = TimelinePanel(model)
    qtbot.addWidget(panel)
    panel.resize(1000, 320)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def bar_point(view, execution):
    """Return the viewport point in the middle of ``execution``'s bar."""
    middle = (execution.start + execution.end) / 2
    x = view._x_of(middle)
    y = (
        RULER_HEIGHT
        + execution.row * ROW_HEIGHT
        + ROW_HEIGHT // 2
        - view.verticalScrollBar().value()
    )
    return QPoint(round(x), y)


def test_twenty_thousand_entries_show_and_paint(panel, qtbot):
    entries = make_trace(20_000)

    started = time.perf_counter()
    panel.model.set_entries(entries)
    panel.view.viewport().grab()
    elapsed = time.perf_counter() - started

    assert elapsed < 2.0, f"building and painting took {elapsed:.2f} s"
    assert len(panel.model.routines) == 8
    assert panel.view.isVisibleTo(panel)


def test_zoomed_in_paint_stays_cheap(panel, qtbot):
    panel.model.set_entries(make_trace(20_000))
    view = panel.view
    view.set_scale(view.scale * 200, view._gutter)

    started = time.perf_counter()
    view.viewport().grab()
    assert time.perf_counter() - started < 0.5


def test_click_on_a_bar_selects_its_execution(panel, qtbot):
    panel.model.set_entries(make_trace(600))
    view = panel.view
    view.set_scale(view.scale * 40, view._gutter)
    view.horizontalScrollBar().setValue(0)
    target = next(e for e in panel.model.executions if e.routine_id == "routine_2")

    selected, entry_lists = [], []
    view.execution_selected.connect(lambda *args: selected.append(args))
    view.entries_selected.connect(entry_lists.append)

    with qtbot.waitSignal(view.entries_selected):
        qtbot.mouseClick(
            view.viewport(), Qt.MouseButton.LeftButton, pos=bar_point(view, target)
        )

    ((routine, start_ts),) = selected
    assert routine == "routine_2"
    assert start_ts == pytest.approx(target.start_ts)
    (entries,) = entry_lists
    assert [e.action for e in entries] == [
        "routine_started",
        "event_emitted",
        "routine_completed",
    ]
    assert view.selected == target


def test_failed_execution_is_found_and_marked(panel, qtbot):
    panel.model.set_entries(make_trace(600))
    view = panel.view
    failed = next(
        e for e in panel.model.executions if e.status is ExecutionStatus.FAILED
    )
    view.set_scale(view.scale * 40, view._gutter)
    view.horizontalScrollBar().setValue(round(failed.start * view.scale) - 50)

    found = view.execution_at(QPointF(bar_point(view, failed)))

    assert found == failed
    assert found.error == "boom"


def test_arrow_keys_step_through_a_row(panel, qtbot):
    panel.model.set_entries(make_trace(300))
    view = panel.view
    first, second = [e for e in panel.model.executions if e.routine_id == "routine_0"][
        :2
    ]
    view.select_execution(first)
    view.setFocus()

    with qtbot.waitSignal(view.execution_selected) as blocker:
        qtbot.keyClick(view, Qt.Key.Key_Right)

    assert blocker.args[1] == pytest.approx(second.start_ts)


def test_zoom_keeps_time_under_mouse(panel, qtbot):
    panel.model.set_entries(make_trace(3000))
    view = panel.view
    x = view._gutter + 200
    before = view._time_at(x)

    view.set_scale(view.scale * 3, x)

    # Within one pixel: the scroll position is a whole number of pixels.
    assert view._time_at(x) == pytest.approx(before, abs=1 / view.scale)
    view.fit()
    assert view.horizontalScrollBar().maximum() == 0


def test_summary_names_job_runs_and_pauses(panel, qtbot):
    job = JobDetail(job_id="job-7", flow_id="f", status="completed")
    panel.set_job(job)
    panel.model.set_entries(make_trace(3000))

    text = panel.summary_label.text()
    assert "Job job-7 · completed" in text
    assert "3,000 trace entries" in text
    assert "failed" in text
    assert "paused" in text
