"""Tests for parsing server JSON into records, for both server flavours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.models import records

OUR_JOB = {
    "job_id": "j1",
    "flow_id": "etl_orders",
    "worker_id": "w1",
    "routine_id": "reader",
    "slot_name": "input",
    "status": "completed",
    "created_at": "2026-12-04T16:00:00.123Z",
    "started_at": "2026-12-04T16:00:00.200Z",
    "completed_at": "2026-12-04T16:00:01.000Z",
    "duration_ms": 800,
    "error": None,
    "metadata": {"who": "test"},
}

STOCK_JOB = {
    "job_id": "j2",
    "worker_id": "w2",
    "flow_id": "study_flow",
    "status": "running",
    "created_at": 1796394346,
    "started_at": 1796394346,
    "completed_at": None,
    "error": None,
    "metadata": {"who": "study"},
}


def test_job_summary_reads_iso_times_as_utc():
    job = records.JobSummary.from_json(OUR_JOB)

    assert job.created_at == datetime(2026, 12, 4, 16, 0, 0, 123000, tzinfo=UTC)
    assert job.completed_at == datetime(2026, 12, 4, 16, 0, 1, tzinfo=UTC)
    assert job.duration_ms == 800.0
    assert job.routine_id == "reader"
    assert job.metadata == {"who": "test"}
    assert job.is_terminal


def test_job_summary_reads_stock_epoch_seconds():
    job = records.JobSummary.from_json(STOCK_JOB)

    assert job.created_at == datetime.fromtimestamp(1796394346, tz=UTC)
    assert job.created_at.tzinfo is UTC
    assert job.completed_at is None
    assert job.routine_id is None
    assert job.slot_name is None
    assert job.duration_ms is None
    assert not job.is_terminal


def test_job_summary_fills_missing_fields():
    job = records.JobSummary.from_json({"job_id": "j3"})

    assert job.flow_id == ""
    assert job.status == "pending"
    assert job.created_at is None
    assert job.metadata == {}


def test_job_summary_rejects_missing_job_id():
    with pytest.raises(ValueError, match="job_id"):
        records.JobSummary.from_json({"flow_id": "f"})


def test_job_summary_rejects_non_object():
    with pytest.raises(ValueError, match="expected a JSON object"):
        records.JobSummary.from_json(["j1"])


def test_job_detail_adds_failure_fields():
    detail = records.JobDetail.from_json(
        {
            **OUR_JOB,
            "status": "failed",
            "params": {"records": 20},
            "data": {"count": 3},
            "traceback": "Traceback ...",
            "failed_routine": "validator",
        }
    )

    assert isinstance(detail, records.JobSummary)
    assert detail.params == {"records": 20}
    assert detail.data == {"count": 3}
    assert detail.traceback == "Traceback ..."
    assert detail.failed_routine == "validator"


def test_job_detail_from_stock_has_empty_params():
    detail = records.JobDetail.from_json(STOCK_JOB)

    assert detail.params == {}
    assert detail.traceback is None


def test_flow_keeps_server_entry_routines():
    flow = records.FlowInfo.from_json(
        {
            "flow_id": "f",
            "routines": {
                "a": {
                    "routine_id": "a",
                    "class_name": "A",
                    "slots": ["in"],
                    "events": ["out"],
                }
            },
            "connections": [],
            "entry_routines": ["a"],
            "description": "demo",
        }
    )

    assert flow.entry_routines == ("a",)
    assert flow.routines["a"].slots == ("in",)
    assert flow.routines["a"].events == ("out",)
    assert flow.description == "demo"


def test_flow_computes_entry_routines_for_stock():
    flow = records.FlowInfo.from_json(
        {
            "flow_id": "f",
            "routines": {"reader": {"class_name": "R"}, "writer": {"routine_id": None}},
            "connections": [
                {
                    "connection_id": "conn_0",
                    "source_routine": "reader",
                    "source_event": "record",
                    "target_routine": "writer",
                    "target_slot": "input",
                }
            ],
        }
    )

    assert flow.entry_routines == ("reader",)
    assert flow.routines["writer"].routine_id == "writer"
    assert flow.connections == (
        records.ConnectionInfo("reader", "record", "writer", "input"),
    )


def test_server_info_detects_stock_server():
    stock = records.ServerInfo.from_json(
        {"name": "Routilux API", "version": "1.1.0", "api_version": "v1"}
    )
    ours = records.ServerInfo.from_json(
        {
            "name": "overseer-embedded-server",
            "version": "0.1.0",
            "capabilities": ["cursor", "cancel"],
        }
    )

    assert stock.is_stock
    assert stock.capabilities == frozenset()
    assert not ours.is_stock
    assert ours.supports("cursor")
    assert not ours.supports("time_filter")


def test_trace_entry_reads_naive_time_as_utc():
    entry = records.TraceEntry.from_json(
        {
            "timestamp": "2026-12-04T14:25:46.786115",
            "routine_id": "source",
            "action": "received",
            "details": {"v": 1},
        }
    )

    assert entry.timestamp == datetime(2026, 12, 4, 14, 25, 46, 786115, tzinfo=UTC)
    assert entry.details == {"v": 1}


def test_job_page_without_cursor():
    page = records.JobPage.from_json(
        {"jobs": [STOCK_JOB], "total": 7, "limit": 1, "offset": 2}
    )

    assert [job.job_id for job in page.jobs] == ["j2"]
    assert page.total == 7
    assert page.offset == 2
    assert page.next_cursor is None


def test_job_output_defaults():
    output = records.JobOutput.from_json({"job_id": "j", "output": "hello\n"})

    assert output.output == "hello\n"
    assert not output.is_complete
    assert not output.truncated


def test_job_query_is_hashable_by_value():
    start = datetime(2026, 1, 1, tzinfo=UTC)

    assert records.JobQuery("f", "failed", start) == records.JobQuery(
        "f", "failed", start
    )
    assert (
        len(
            {
                records.JobQuery("f", "failed", start),
                records.JobQuery("f", "failed", start),
            }
        )
        == 1
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-04T18:00:00+02:00", datetime(2026, 12, 4, 16, 0, tzinfo=UTC)),
        ("2026-12-04T16:00:00Z", datetime(2026, 12, 4, 16, 0, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (1.5, datetime(1970, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (True, None),
        (None, None),
        (10**20, None),
    ],
    ids=[
        "offset",
        "zulu",
        "epoch-int",
        "epoch-float",
        "garbage",
        "empty",
        "bool",
        "none",
        "overflow",
    ],
)
def test_parse_timestamp(value, expected):
    assert records.parse_timestamp(value) == expected


def test_parse_timestamp_converts_to_utc_zone():
    parsed = records.parse_timestamp("2026-12-04T18:00:00+02:00")

    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)
    assert parsed.tzinfo != timezone(timedelta(hours=2))


def test_status_constants():
    assert records.JOB_STATUSES == (
        "pending",
        "running",
        "paused",
        "completed",
        "failed",
        "cancelled",
    )
    assert records.TERMINAL_STATUSES == {"completed", "failed", "cancelled"}
