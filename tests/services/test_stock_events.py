"""Server clock estimation and event normalization for the stock Routilux server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.services.stock_events import ServerClock, normalize_event

RECEIVED = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)


def naive(hours: float, seconds: float = 0) -> datetime:
    """Return the naive local stamp of RECEIVED on a server at UTC+hours, aged ``seconds``."""
    return (RECEIVED + timedelta(hours=hours, seconds=-seconds)).replace(tzinfo=None)


def test_clock_uses_fallback_before_events():
    clock = ServerClock(fallback=timedelta(hours=3))
    assert clock.offset == timedelta(hours=3)
    assert not clock.measured


def test_clock_measures_fresh_event():
    clock = ServerClock(fallback=timedelta(0))
    clock.observe(naive(5.5, seconds=0.3), RECEIVED)
    assert clock.offset == timedelta(hours=5, minutes=30)
    assert clock.measured


def test_clock_measures_negative_offset():
    clock = ServerClock(fallback=timedelta(0))
    clock.observe(naive(-8, seconds=2), RECEIVED)
    assert clock.offset == timedelta(hours=-8)


def test_clock_old_event_does_not_lower_estimate():
    clock = ServerClock(fallback=timedelta(0))
    clock.observe(naive(2), RECEIVED)
    clock.observe(naive(2, seconds=3600), RECEIVED)  # an hour-old backlog event
    assert clock.offset == timedelta(hours=2)


def test_clock_fresh_event_corrects_old_one():
    clock = ServerClock(fallback=timedelta(0))
    clock.observe(naive(2, seconds=3600), RECEIVED)
    assert clock.offset == timedelta(hours=1)
    clock.observe(naive(2, seconds=1), RECEIVED)
    assert clock.offset == timedelta(hours=2)


def test_clock_ignores_implausible_difference():
    clock = ServerClock(fallback=timedelta(hours=1))
    clock.observe(naive(30), RECEIVED)
    assert not clock.measured
    assert clock.offset == timedelta(hours=1)


def test_normalize_rewrites_naive_timestamp():
    clock = ServerClock(fallback=timedelta(0))
    event = {
        "type": "job_started",
        "job_id": "j1",
        "timestamp": naive(2, seconds=0.5).isoformat(),
        "data": {"flow_id": "f1"},
    }
    normalized = normalize_event(event, clock, RECEIVED)
    stamp = datetime.fromisoformat(normalized["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
    assert stamp == RECEIVED - timedelta(seconds=0.5)
    assert normalized["flow_id"] == "f1"
    assert event["timestamp"] == naive(2, seconds=0.5).isoformat()  # input untouched


def test_normalize_keeps_aware_timestamp():
    clock = ServerClock(fallback=timedelta(hours=4))
    event = {"type": "x", "timestamp": "2026-12-04T12:00:00+01:00"}
    normalized = normalize_event(event, clock, RECEIVED)
    assert normalized["timestamp"] == "2026-12-04T11:00:00+00:00"
    assert not clock.measured


def test_normalize_leaves_bad_timestamp():
    clock = ServerClock(fallback=timedelta(0))
    assert normalize_event({"timestamp": "soon"}, clock, RECEIVED) == {
        "timestamp": "soon"
    }
    assert normalize_event({"type": "ping"}, clock, RECEIVED) == {"type": "ping"}
