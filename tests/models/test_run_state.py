"""Routine states of a job from its trace and its live events, counted once."""

from __future__ import annotations

from datetime import UTC, datetime

from app.models.records import TraceEntry
from app.models.run_state import NodeStatus, RunStateTracker


def entry(action, routine, /, **details):
    return TraceEntry(datetime(2026, 1, 1, tzinfo=UTC), routine, action, details)


def event(event_type, **data):
    return {"type": event_type, "job_id": "j", "data": data}


def test_trace_counts_runs_and_last_status():
    tracker = RunStateTracker()
    tracker.add_trace(
        [
            entry("routine_started", "a"),
            entry("routine_completed", "a", duration_ms=2.5),
            entry("routine_started", "a"),
            entry("routine_failed", "a", error="ValueError: bad"),
            entry("routine_started", "b"),
            entry("event_emitted", "a", event="out"),
        ]
    )

    states = tracker.states()
    assert states["a"].runs == 2
    assert states["a"].failed == 1
    assert states["a"].status is NodeStatus.FAILED
    assert states["a"].last_error == "ValueError: bad"
    assert states["b"].status is NodeStatus.RUNNING


def test_events_show_before_the_trace_arrives():
    tracker = RunStateTracker()

    tracker.add_event(event("routine_started", routine_id="a"))

    assert tracker.states()["a"].status is NodeStatus.RUNNING


def test_events_already_in_the_trace_are_not_counted_twice():
    tracker = RunStateTracker()
    tracker.add_event(event("routine_started", routine_id="a"))
    tracker.fetch_started()
    tracker.add_event(event("routine_completed", routine_id="a", duration_ms=1))
    tracker.add_event(event("routine_started", routine_id="b"))

    # The fetch saw the first two steps; the third arrived after it.
    tracker.add_trace(
        [entry("routine_started", "a"), entry("routine_completed", "a", duration_ms=1)]
    )

    states = tracker.states()
    assert states["a"].runs == 1
    assert states["a"].completed == 1
    assert states["b"].runs == 1


def test_events_after_the_fetch_stay_until_a_later_trace_has_them():
    tracker = RunStateTracker()
    tracker.fetch_started()
    tracker.add_event(event("routine_started", routine_id="a"))
    tracker.add_trace([])

    assert tracker.states()["a"].runs == 1

    tracker.fetch_started()
    tracker.add_trace([entry("routine_started", "a")])

    assert tracker.states()["a"].runs == 1


def test_pause_marks_the_port_and_resume_clears_it():
    tracker = RunStateTracker()
    tracker.add_event(
        event("job_paused", routine_id="t", kind="slot", slot="input", event=None)
    )

    assert tracker.states()["t"].status is NodeStatus.PAUSED
    assert tracker.states()["t"].paused_at == ("slot", "input")

    tracker.add_event(event("job_resumed", mode="continue"))

    assert tracker.states()["t"].paused_at is None


def test_paused_trace_entry_matches_job_paused_event():
    tracker = RunStateTracker()
    tracker.add_event(
        event("job_paused", routine_id="t", kind="event", slot=None, event="out")
    )
    tracker.fetch_started()
    tracker.add_trace([entry("paused", "t", kind="event", slot=None, event="out")])

    assert tracker.states()["t"].paused_at == ("event", "out")


def test_ended_job_has_nothing_running():
    tracker = RunStateTracker()
    tracker.add_trace(
        [entry("routine_started", "a"), entry("paused", "a", kind="routine")]
    )

    tracker.add_event(event("job_cancelled", job={"status": "cancelled"}))

    state = tracker.states()["a"]
    assert state.running == 0
    assert state.paused_at is None
    assert state.status is NodeStatus.INTERRUPTED


def test_unrelated_events_change_nothing():
    tracker = RunStateTracker()

    assert not tracker.add_event(event("log_message", message="hi"))
    assert tracker.states() == {}
