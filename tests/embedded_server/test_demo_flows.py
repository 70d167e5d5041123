"""The demo flows shipped in resources/demo, run through a real server started with ``demo=True``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import httpx
import pytest
from routilux.tools.factory.factory import ObjectFactory

from resources import DEMO_DIR

DEMO_FLOWS = {"etl_orders", "fan_out_numbers", "route_reply"}
ETL_ROUTINES = (
    "demo_order_reader",
    "demo_order_validator",
    "demo_order_transformer",
    "demo_order_aggregator",
)


@pytest.fixture
def demo(make_server):
    """An HTTP client for a server that loads only the demo flows."""
    running = make_server(routines_dirs=[], flows_dirs=[], demo=True)
    with httpx.Client(
        base_url=running.url, headers=running.headers, timeout=20
    ) as http:
        yield http


def run_job(client: httpx.Client, flow_id: str, routine_id: str, data: dict) -> dict:
    """Start a job, wait for it to end and return its detail."""
    body = {
        "flow_id": flow_id,
        "routine_id": routine_id,
        "slot_name": "input",
        "data": data,
    }
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.text
    job_id = response.json()["job_id"]

    waited = client.post(f"/api/v1/jobs/{job_id}/wait", params={"timeout": 15})
    assert waited.status_code == 200, waited.text
    assert waited.json()["status"] in ("completed", "already_complete"), waited.text
    return client.get(f"/api/v1/jobs/{job_id}").json()


def trace_of(client: httpx.Client, job_id: str) -> list[dict]:
    return client.get(f"/api/v1/jobs/{job_id}/trace").json()["trace_log"]


def emitted(client: httpx.Client, job_id: str) -> list[tuple[str, str]]:
    return [
        (entry["routine_id"], entry["details"]["event"])
        for entry in trace_of(client, job_id)
        if entry["action"] == "event_emitted"
    ]


def test_demo_flows_load_without_errors(demo):
    listing = demo.get("/api/v1/flows").json()

    assert {flow["flow_id"] for flow in listing["flows"]} == DEMO_FLOWS
    assert listing["load_errors"] == []
    etl = demo.get("/api/v1/flows/etl_orders").json()
    assert etl["entry_routines"] == ["reader"]
    assert etl["description"].startswith("Generates orders")


def test_etl_orders_summarises_valid_orders(demo):
    job = run_job(
        demo, "etl_orders", "reader", {"records": 20, "invalid_ids": [], "seed": 1}
    )

    assert job["status"] == "completed"
    summary = job["data"]["summary"]
    assert summary["valid_orders"] == 20
    assert summary["rejected_orders"] == 0
    assert sum(c["orders"] for c in summary["customers"].values()) == 20
    assert summary["grand_total"] == pytest.approx(
        sum(c["total"] for c in summary["customers"].values())
    )
    assert job["data"]["params"] == {
        "records": 20,
        "invalid_ids": [],
        "raise_at": None,
        "slow_ms": 0,
        "seed": 1,
    }


def test_etl_orders_same_seed_same_summary(demo):
    first = run_job(demo, "etl_orders", "reader", {"records": 12, "seed": 7})
    second = run_job(demo, "etl_orders", "reader", {"records": 12, "seed": 7})
    other = run_job(demo, "etl_orders", "reader", {"records": 12, "seed": 8})

    assert first["data"]["summary"] == second["data"]["summary"]
    assert first["data"]["summary"] != other["data"]["summary"]


def test_etl_orders_invalid_records_are_traced_and_counted(demo):
    job = run_job(
        demo, "etl_orders", "reader", {"records": 20, "invalid_ids": [3, 8, 9, 10]}
    )

    assert job["status"] == "completed"
    assert job["data"]["invalid_count"] == 4
    summary = job["data"]["summary"]
    assert summary["valid_orders"] == 16
    assert summary["rejected_ids"] == [3, 8, 9, 10]
    invalid = [
        e for e in trace_of(demo, job["job_id"]) if e["action"] == "invalid_record"
    ]
    assert [(e["routine_id"], e["details"]["id"]) for e in invalid] == [
        ("validator", 3),
        ("validator", 8),
        ("validator", 9),
        ("validator", 10),
    ]
    converted = [
        e["details"]["id"]
        for e in trace_of(demo, job["job_id"])
        if e["action"] == "order_converted"
    ]
    assert not {3, 8, 9, 10} & set(converted)
    assert len(converted) == 16


def test_etl_orders_output_is_captured(demo):
    job = run_job(demo, "etl_orders", "reader", {"records": 5, "invalid_ids": [2]})

    output = demo.get(f"/api/v1/jobs/{job['job_id']}/output").json()["output"]

    assert "reader: generated 5 orders with seed 1" in output
    assert "validator: order 2 rejected" in output
    assert "aggregator: 4 orders" in output


def test_etl_orders_zero_records_completes_with_empty_summary(demo):
    job = run_job(demo, "etl_orders", "reader", {"records": 0})

    assert job["status"] == "completed"
    assert job["data"]["summary"]["valid_orders"] == 0
    assert job["data"]["summary"]["customers"] == {}


def test_etl_orders_raise_fails_job_with_traceback(demo):
    job = run_job(demo, "etl_orders", "reader", {"records": 10, "raise_at": 4})

    assert job["status"] == "failed"
    assert job["failed_routine"] == "transformer"
    assert "RuntimeError: cannot convert order 4" in job["error"]
    assert "Traceback (most recent call last)" in job["traceback"]
    assert "raise RuntimeError" in job["traceback"]
    assert "summary" not in job["data"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"records": "twenty"}, "records must be an integer"),
        ({"records": -1}, "records must be an integer from 0 to 10000"),
        ({"invalid_ids": "3"}, "invalid_ids must be a list of integers"),
        ({"slow_ms": -5}, "slow_ms must be a number"),
        ({"raise_at": "4"}, "raise_at must be an integer or null"),
    ],
)
def test_etl_orders_invalid_params_fail_job(demo, params, message):
    job = run_job(demo, "etl_orders", "reader", params)

    assert job["status"] == "failed"
    assert job["failed_routine"] == "reader"
    assert message in job["error"]


def test_etl_orders_slow_still_completes(demo):
    job = run_job(demo, "etl_orders", "reader", {"records": 5, "slow_ms": 40})

    assert job["status"] == "completed"
    assert job["data"]["summary"]["valid_orders"] == 5
    assert job["duration_ms"] >= 5 * 40


def test_fan_out_numbers_batches_nonzero_numbers(demo):
    job = run_job(
        demo, "fan_out_numbers", "split", {"numbers": [4, 0, 15, 8, 0, 23, 42, 16, 7]}
    )

    assert job["status"] == "completed"
    events = emitted(demo, job["job_id"])
    assert events.count(("drop_zeros", "rejected")) == 2
    assert events.count(("to_value", "output")) == 7
    assert [event for routine, event in events if routine == "batch"] == [
        "batch",
        "batch",
        "timeout",
    ]


def test_route_reply_structured_and_plain(demo):
    structured = run_job(
        demo, "route_reply", "router", {"reply": 'Done:\n```json\n{"total": 42}\n```'}
    )
    plain = run_job(
        demo, "route_reply", "router", {"reply": "All good, nothing to parse."}
    )

    assert structured["status"] == "completed"
    assert emitted(demo, structured["job_id"]) == [
        ("router", "structured"),
        ("extract", "output"),
    ]
    assert plain["status"] == "completed"
    assert emitted(demo, plain["job_id"]) == [
        ("router", "plain"),
        ("plain_text", "output"),
    ]


def test_demo_routines_module_imports_twice():
    path = DEMO_DIR / "routines" / "etl_orders.py"
    factory = ObjectFactory.get_instance()

    for attempt in range(2):
        spec = importlib.util.spec_from_file_location(
            f"demo_etl_orders_again_{attempt}", Path(path)
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)

    for name in ETL_ROUTINES:
        assert factory.get_metadata(name) is not None, name
