"""Tests for FilterState and the client-side query match used for live rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.models.job_filter import FilterState, TimePreset, query_matches
from app.models.records import JobQuery, JobSummary

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_relative_presets_count_back_from_now():
    """Last hour, 24 hours and 7 days start that long before now."""
    spans = {
        TimePreset.LAST_HOUR: timedelta(hours=1),
        TimePreset.LAST_DAY: timedelta(days=1),
        TimePreset.LAST_WEEK: timedelta(days=7),
    }
    for preset, span in spans.items():
        query = FilterState(time_preset=preset).to_query(NOW)
        assert query.created_from == NOW - span
        assert query.created_to is None


def test_custom_range_used_only_for_custom():
    """Custom from and to apply only with the custom preset."""
    start, end = NOW - timedelta(days=2), NOW - timedelta(days=1)
    custom = FilterState(
        time_preset=TimePreset.CUSTOM, custom_from=start, custom_to=end
    )
    anytime = FilterState(time_preset=TimePreset.ANY, custom_from=start, custom_to=end)

    assert (custom.to_query(NOW).created_from, custom.to_query(NOW).created_to) == (
        start,
        end,
    )
    assert anytime.to_query(NOW) == JobQuery()


def test_filter_state_round_trip():
    """A filter survives serialisation."""
    state = FilterState(
        "flow", "running", TimePreset.CUSTOM, NOW, NOW + timedelta(hours=1)
    )

    assert FilterState.from_json(state.to_json()) == state


def test_query_match_half_open_range():
    """The range includes its start and excludes its end, like the server."""
    query = JobQuery(created_from=NOW, created_to=NOW + timedelta(seconds=10))

    assert query_matches(query, JobSummary("a", created_at=NOW))
    assert not query_matches(
        query, JobSummary("b", created_at=NOW + timedelta(seconds=10))
    )
    assert not query_matches(
        query, JobSummary("c", created_at=NOW - timedelta(microseconds=1))
    )
    assert not query_matches(query, JobSummary("d", created_at=None))


def test_query_match_flow_and_status():
    """Flow and status must both match when set."""
    query = JobQuery(flow_id="f", status="running")

    assert query_matches(query, JobSummary("a", flow_id="f", status="running"))
    assert not query_matches(query, JobSummary("b", flow_id="f", status="failed"))
    assert not query_matches(query, JobSummary("c", flow_id="g", status="running"))
