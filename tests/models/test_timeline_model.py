"""The job timeline built from a trace: executions, failures, pauses, growth and scale."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from app.models.records import TraceEntry
from app.models.timeline_model import (
    EXECUTION_ROLE,
    ExecutionStatus,
    TimelineColumn,
    TimelineModel,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def entry(ms, action, routine, /, **details):
    return TraceEntry(T0 + timedelta(milliseconds=ms), routine, action, details)


BASIC = [
    entry(0, "routine_started", "reader"),
    entry(1, "event_emitted", "reader", event="record"),
    entry(2, "routine_completed", "reader", duration_ms=2.0),
    entry(3, "routine_started", "writer"),
    entry(10, "routine_failed", "writer", error="ValueError: no", duration_ms=7.0),
    entry(12, "routine_started", "writer"),
]


def test_executions_pair_start_and_end(qtbot):
    model = TimelineModel()
    model.set_entries(BASIC)

    assert model.routines == ["reader", "writer"]
    reader, failed, running = model.executions
    assert (reader.start, reader.end) == (0.0, 0.002)
    assert reader.status is ExecutionStatus.COMPLETED
    assert failed.status is ExecutionStatus.FAILED
    assert failed.error == "ValueError: no"
    assert abs(failed.end - 0.010) < 1e-9
    assert running.status is ExecutionStatus.RUNNING
    assert running.end is None
    assert model.span == 0.012


def test_entries_of_an_execution_are_its_routine_s(qtbot):
    model = TimelineModel()
    model.set_entries(BASIC)

    reader = model.executions[0]
    assert [e.action for e in model.entries_of(reader)] == [
        "routine_started",
        "event_emitted",
        "routine_completed",
    ]
    assert model.find_execution("reader", reader.start_ts) == reader


def test_ended_job_interrupts_open_runs(qtbot):
    model = TimelineModel()
    model.set_entries(BASIC, ended=True)

    assert model.executions[2].status is ExecutionStatus.INTERRUPTED
    assert model.executions[2].end == model.span


def test_pause_is_a_gap(qtbot):
    model = TimelineModel()
    model.set_entries(
        [
            entry(0, "routine_started", "a"),
            entry(5, "paused", "a", kind="event", event="out", slot=None),
            entry(50, "resumed", "a", mode="continue"),
            entry(51, "routine_completed", "a", duration_ms=51.0),
        ]
    )

    (pause,) = model.pauses
    assert (pause.start, pause.end) == (0.005, 0.05)
    assert pause.place == "event a.out"


def test_appending_inserts_rows_and_updates_closed_runs(qtbot):
    model = TimelineModel()
    model.set_entries(BASIC[:4])

    with qtbot.waitSignals([model.rowsInserted, model.dataChanged]):
        model.append_entries(BASIC[4:])

    assert model.rowCount() == 3
    assert model.executions[1].status is ExecutionStatus.FAILED


def test_table_columns(qtbot):
    model = TimelineModel()
    model.set_entries(BASIC)

    assert model.index(0, TimelineColumn.ROUTINE).data() == "reader"
    assert model.index(0, TimelineColumn.DURATION).data() == "2 ms"
    assert model.index(2, TimelineColumn.DURATION).data() == "running"
    assert model.index(1, TimelineColumn.STATUS).data() == "failed"
    assert model.index(0, 0).data(EXECUTION_ROLE) is model.executions[0]


def test_window_query_finds_only_overlapping_runs(qtbot):
    model = TimelineModel()
    model.set_entries(make_trace(2000))
    row = model.routines.index("r1")
    t0, t1 = model.span * 0.4, model.span * 0.5

    found = model.executions_between(row, t0, t1)

    everything = [e for e in model.executions if e.row == row]
    expected = [e for e in everything if e.start <= t1 and (e.end or model.span) >= t0]
    assert found
    assert found == expected


def make_trace(count):
    """Return ``count`` trace entries of ten routines running one after another."""
    entries = []
    ms = 0.0
    index = 0
    while len(entries) < count:
        routine = f"r{index % 10}"
        entries.append(entry(ms, "routine_started", routine))
        action = "routine_failed" if index % 97 == 0 else "routine_completed"
        entries.append(entry(ms + 0.4, "event_emitted", routine, event="out"))
        entries.append(entry(ms + 0.8, action, routine, duration_ms=0.8, error="boom"))
        if index % 500 == 0:
            entries.append(
                entry(ms + 0.9, "paused", routine, kind="slot", slot="input")
            )
            entries.append(entry(ms + 5, "resumed", routine, mode="continue"))
            ms += 5
        ms += 1.0
        index += 1
    return entries[:count]


def test_twenty_thousand_entries_build_quickly(qtbot):
    entries = make_trace(20_000)
    model = TimelineModel()

    started = time.perf_counter()
    model.set_entries(entries)
    elapsed = time.perf_counter() - started

    assert elapsed < 1.0, f"building took {elapsed:.2f} s"
    assert model.entry_count == 20_000
    assert model.rowCount() > 6000
    assert len(model.routines) == 10
    assert len(model.pauses) >= 10


def test_model_passes_qtmodeltester(qtmodeltester):
    model = TimelineModel()
    model.set_entries(make_trace(20_000))

    qtmodeltester.check(model)
