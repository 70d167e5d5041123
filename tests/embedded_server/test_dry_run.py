"""Dry runs on a real server: graph checks, inputs, estimates and throwaway runs."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import httpx
import pytest
from routilux.core.routine import Routine
from routilux.tools.factory.factory import ObjectFactory

from embedded_server.dryrun import estimate
from embedded_server.store.database import Database
from embedded_server.store.jobs import JobStore
from embedded_server.store.records import JobRecord
from tests.conftest import FIXTURES

DRY_RUN_FIXTURES = FIXTURES / "dryrun"
CHAIN_PARAMS = {"name": "alpha", "count": 2}


@pytest.fixture
def dry_server(make_server):
    """A server with the dry-run fixture flows and the demo flows loaded."""
    return make_server(
        routines_dirs=[DRY_RUN_FIXTURES / "routines"],
        flows_dirs=[DRY_RUN_FIXTURES / "flows"],
        demo=True,
    )


@pytest.fixture
def client(dry_server):
    with httpx.Client(
        base_url=dry_server.url, headers=dry_server.headers, timeout=30
    ) as http:
        yield http


def dry_run(client, flow_id, expected_status=200, **body):
    response = client.post(f"/api/v1/flows/{flow_id}/dry-run", json=body)
    assert response.status_code == expected_status, response.text
    return response.json()


def codes(items):
    return [(item["code"], item.get("routine_id")) for item in items]


def path_ids(steps):
    return [step["routine_id"] for step in steps]


def run_job(client, flow_id, routine_id, data):
    body = {
        "flow_id": flow_id,
        "routine_id": routine_id,
        "slot_name": "input",
        "data": data,
    }
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.text
    job_id = response.json()["job_id"]
    waited = client.post(f"/api/v1/jobs/{job_id}/wait", params={"timeout": 20})
    assert waited.status_code == 200, waited.text
    return client.get(f"/api/v1/jobs/{job_id}").json()


# -- analysis without running ------------------------------------------------------


def test_discovery_lists_dry_run(client):
    """The discovery document advertises the dry_run capability."""
    capabilities = client.get("/api/v1/").json()["capabilities"]

    assert "dry_run" in capabilities


def test_valid_flow_predicts_path(client):
    """A clean flow gets its topological path, no errors and no estimate yet."""
    body = dry_run(client, "etl_orders", entry_routine_id="reader")

    assert body["status"] == "completed"
    assert body["executed"] is False
    assert body["warning"] is None
    assert body["dry_run_id"].startswith("dry-run-")
    result = body["result"]
    assert result["entry_slot"] == "input"
    assert result["validation_errors"] == []
    assert path_ids(result["execution_path"]) == [
        "reader",
        "validator",
        "transformer",
        "aggregator",
    ]
    steps = {step["routine_id"]: step for step in result["execution_path"]}
    assert steps["reader"] == {"routine_id": "reader", "depth": 0, "via": []}
    assert steps["transformer"]["depth"] == 2
    assert steps["aggregator"]["depth"] == 1
    assert steps["aggregator"]["via"] == [
        "reader.manifest -> aggregator.manifest",
        "validator.invalid -> aggregator.rejected",
        "transformer.output -> aggregator.input",
    ]
    assert result["outputs"] is None
    assert codes(result["warnings"]) == [("EVENT_NOT_CONNECTED", "aggregator")]


def test_estimate_is_null_without_history(client):
    """With no earlier jobs the estimate is null and the basis gives the reason."""
    result = dry_run(client, "dryrun_chain", entry_routine_id="source")["result"]

    assert result["estimated_duration"] is None
    assert result["estimate_basis"]["jobs"] == 0
    assert "No completed jobs" in result["estimate_basis"]["reason"]


def test_estimate_from_completed_jobs(client):
    """After real jobs the estimate is the sum of per-routine medians."""
    for index in range(3):
        done = run_job(client, "dryrun_chain", "source", {"name": f"job{index}"})
        assert done["status"] == "completed"
    failed = run_job(client, "dryrun_chain", "source", {"name": "bad", "fail": True})
    assert failed["status"] == "failed"

    result = dry_run(client, "dryrun_chain", entry_routine_id="source")["result"]

    basis = result["estimate_basis"]
    assert basis["jobs"] == 3
    assert basis["unit"] == "ms"
    assert set(basis["routines"]) == {"source", "relay", "sink"}
    assert all(item["jobs"] == 3 for item in basis["routines"].values())
    assert basis["routines_without_history"] == []
    assert basis["median_job_duration_ms"] > 0
    assert "reason" not in basis
    medians = sum(item["median_ms"] for item in basis["routines"].values())
    assert result["estimated_duration"] > 0
    assert result["estimated_duration"] == pytest.approx(medians, abs=0.01)


def test_unreachable_routines_reported(client):
    """Routines that no entry reaches are errors, others not reached are warnings."""
    body = dry_run(
        client, "dryrun_graph", entry_routine_id="start", entry_params=CHAIN_PARAMS
    )

    result = body["result"]
    assert body["status"] == "failed"
    assert codes(result["validation_errors"]) == [
        ("ROUTINE_UNREACHABLE", "loop_a"),
        ("ROUTINE_UNREACHABLE", "loop_b"),
    ]
    warnings = codes(result["warnings"])
    assert ("ROUTINE_NOT_REACHED", "other_start") in warnings
    assert ("ROUTINE_NOT_REACHED", "other_end") in warnings
    assert path_ids(result["execution_path"]) == ["start", "middle", "end", "joiner"]


def test_unfed_slot_and_loose_event_warned(client):
    """A slot nothing feeds and an event that goes nowhere are warnings."""
    result = dry_run(client, "dryrun_graph", entry_routine_id="start")["result"]

    unfed = [w for w in result["warnings"] if w["code"] == "SLOT_NOT_FED"]
    assert unfed == [
        {
            "code": "SLOT_NOT_FED",
            "message": unfed[0]["message"],
            "routine_id": "joiner",
            "slot": "right",
        }
    ]
    loose = [
        (w["routine_id"], w["event"])
        for w in result["warnings"]
        if w["code"] == "EVENT_NOT_CONNECTED"
    ]
    assert ("joiner", "out") in loose
    assert ("end", "result") in loose


def test_cycle_is_warning_with_routines(client):
    """A loop is a warning that names its routines, and the path covers the flow."""
    body = dry_run(
        client, "dryrun_cycle", entry_routine_id="source", entry_params=CHAIN_PARAMS
    )

    result = body["result"]
    assert body["status"] == "completed"
    assert result["validation_errors"] == []
    cycles = [w for w in result["warnings"] if w["code"] == "CYCLE"]
    assert len(cycles) == 1
    assert cycles[0]["routines"] == ["first", "second"]
    assert "second.out -> first.input" in cycles[0]["message"]
    assert path_ids(result["execution_path"]) == ["source", "first", "second", "sink"]


def test_entry_with_incoming_connections_warned(client):
    """Starting at a routine that other routines feed is a warning."""
    result = dry_run(client, "dryrun_chain", entry_routine_id="relay")["result"]

    assert ("ENTRY_NOT_ENTRY_POINT", "relay") in codes(result["warnings"])
    assert path_ids(result["execution_path"]) == ["relay", "sink"]


def test_default_slot_missing_is_error(client):
    """An entry routine without a single or 'input' slot needs entry_slot."""
    body = dry_run(client, "dryrun_two_slots", entry_routine_id="pair", execute=True)

    assert body["status"] == "failed"
    assert body["executed"] is False
    assert body["warning"].startswith("Not executed")
    assert codes(body["result"]["validation_errors"]) == [
        ("ENTRY_SLOT_MISSING", "pair")
    ]
    assert "left, right" in body["result"]["validation_errors"][0]["message"]


def test_explicit_slot_is_used(client):
    """A named entry slot that exists is accepted without slot errors."""
    body = dry_run(
        client, "dryrun_two_slots", entry_routine_id="pair", entry_slot="left"
    )

    assert body["result"]["entry_slot"] == "left"
    assert body["result"]["validation_errors"] == []


# -- declared inputs ------------------------------------------------------------------


def test_missing_inputs_from_required_params(client):
    """A routine's required_params attribute names the params a run lacks."""
    body = dry_run(
        client, "dryrun_chain", entry_routine_id="source", entry_params={"name": "x"}
    )

    result = body["result"]
    assert result["missing_inputs"] == ["count"]
    assert result["inputs_declared"] is True
    assert result["required_inputs"] == ["name", "count"]
    assert result["inputs_declared_by"] == ["attribute required_params"]
    assert body["status"] == "failed"


def test_missing_inputs_from_json_schema(client):
    """A SchemaValidator entry's JSON Schema 'required' list declares inputs."""
    result = dry_run(
        client, "dryrun_schema", entry_routine_id="check", entry_params={"id": 1}
    )["result"]

    assert result["missing_inputs"] == ["email"]
    assert result["inputs_declared_by"] == ["config schema (JSON Schema)"]


def test_splitter_field_is_declared_input(client):
    """A Splitter entry needs the param its field config names."""
    result = dry_run(client, "fan_out_numbers", entry_routine_id="split")["result"]

    assert result["missing_inputs"] == ["numbers"]


def test_undeclared_inputs_report_nothing(client):
    """A routine that declares nothing gets no missing inputs and inputs_declared false."""
    result = dry_run(client, "etl_orders", entry_routine_id="reader")["result"]

    assert result["missing_inputs"] == []
    assert result["inputs_declared"] is False
    assert result["inputs_declared_by"] == []


# -- the factory changed after loading -----------------------------------------------


@pytest.fixture
def vanishing_class():
    """Give the test the dryrun_vanishing class and restore its registration afterwards."""
    factory = ObjectFactory.get_instance()
    original = type(factory.create("dryrun_vanishing"))
    yield original
    try:
        factory.unregister("dryrun_vanishing")
    except ValueError:
        pass  # the test left it unregistered
    factory.register("dryrun_vanishing", original)


def test_unregistered_class_blocks_execution(client, vanishing_class):
    """A routine class removed from the factory is an error and the run does not start."""
    ObjectFactory.get_instance().unregister("dryrun_vanishing")

    body = dry_run(
        client,
        "dryrun_vanishing",
        entry_routine_id="source",
        entry_params=CHAIN_PARAMS,
        execute=True,
    )

    assert body["executed"] is False
    assert body["status"] == "failed"
    assert codes(body["result"]["validation_errors"]) == [
        ("ROUTINE_CLASS_MISSING", "middle")
    ]
    assert "no longer registered" in body["warning"]


def test_changed_ports_reported(client, vanishing_class):
    """A class re-registered without an event a connection uses is an error."""

    class WithoutOut(Routine):
        def setup(self):
            self.add_slot("input")

    factory = ObjectFactory.get_instance()
    factory.unregister("dryrun_vanishing")
    factory.register("dryrun_vanishing", WithoutOut)

    result = dry_run(client, "dryrun_vanishing", entry_routine_id="source")["result"]

    errors = result["validation_errors"]
    assert [(e["code"], e["routine_id"], e["event"]) for e in errors] == [
        ("CONNECTION_EVENT_MISSING", "middle", "out")
    ]
    assert path_ids(result["execution_path"]) == ["source", "middle"]


def test_failed_creation_blocks_execution(client):
    """A routine whose creation raises now is an error and the run does not start."""
    fragile_class = type(ObjectFactory.get_instance().create("dryrun_fragile"))
    fragile_class.fail_creation = True
    try:
        body = dry_run(
            client,
            "dryrun_fragile",
            entry_routine_id="source",
            entry_params=CHAIN_PARAMS,
            execute=True,
        )
    finally:
        fragile_class.fail_creation = False

    assert body["executed"] is False
    errors = body["result"]["validation_errors"]
    assert codes(errors) == [("ROUTINE_CREATE_FAILED", "middle")]
    assert "RuntimeError: fragile routine cannot be created now" in errors[0]["message"]


# -- execute: true ----------------------------------------------------------------------


def test_execute_completes_with_outputs(client):
    """An executed dry run returns the path taken, job data and unconnected emits."""
    body = dry_run(
        client,
        "dryrun_chain",
        entry_routine_id="source",
        entry_params=CHAIN_PARAMS,
        execute=True,
    )

    assert body["status"] == "completed"
    assert body["executed"] is True
    assert "for real" in body["warning"]
    assert "side effects" in body["warning"]
    result = body["result"]
    assert result["error"] is None
    assert path_ids(result["execution_path"]) == ["source", "relay", "sink"]
    sink = result["execution_path"][2]
    assert sink["status"] == "completed"
    assert sink["runs"] == 1
    assert sink["via"] == ["relay.out -> sink.input"]
    assert result["not_reached"] == []
    outputs = result["outputs"]
    assert outputs["data"] == {"received": CHAIN_PARAMS}
    assert outputs["events"][0]["routine_id"] == "sink"
    assert outputs["events"][0]["event"] == "result"
    assert outputs["events"][0]["data"] == {"echo": CHAIN_PARAMS}
    assert outputs["events_total"] == 1
    assert "source got" in outputs["printed"]
    assert result["trace_total"] == len(result["trace"])
    assert result["duration_ms"] > 0


def test_execute_leaves_no_job_or_event(client):
    """The throwaway job is absent from the jobs list, its total and its detail."""
    seq_before = client.get("/api/v1/health/stats").json()["last_event_seq"]

    body = dry_run(
        client,
        "dryrun_chain",
        entry_routine_id="source",
        entry_params=CHAIN_PARAMS,
        execute=True,
    )

    assert body["executed"] is True
    listing = client.get("/api/v1/jobs").json()
    assert listing["jobs"] == []
    assert listing["total"] == 0
    assert (
        client.get("/api/v1/jobs", params={"flow_id": "dryrun_chain"}).json()["total"]
        == 0
    )
    detail = client.get(f"/api/v1/jobs/{body['dry_run_id']}")
    assert detail.status_code == 404
    assert detail.json()["code"] == "JOB_NOT_FOUND"
    assert client.get("/api/v1/health/stats").json()["last_event_seq"] == seq_before


def test_execute_failure_returns_error(client):
    """A routine that raises fails the dry run with its error and traceback."""
    body = dry_run(
        client,
        "dryrun_chain",
        entry_routine_id="source",
        entry_params={**CHAIN_PARAMS, "fail": True},
        execute=True,
    )

    assert body["status"] == "failed"
    assert body["executed"] is True
    error = body["result"]["error"]
    assert error["failed_routine"] == "relay"
    assert "RuntimeError: relay refused 'alpha'" in error["message"]
    assert "raise RuntimeError" in error["traceback"]
    steps = {step["routine_id"]: step for step in body["result"]["execution_path"]}
    assert steps["relay"]["status"] == "failed"
    assert body["result"]["not_reached"] == ["sink"]
    assert body["result"]["routine_errors"][0]["routine_id"] == "relay"


def test_execute_timeout_stops_run(client):
    """A run longer than the timeout ends as timeout and is stopped."""
    started = time.monotonic()

    body = dry_run(
        client,
        "dryrun_slow",
        entry_routine_id="source",
        entry_params=CHAIN_PARAMS,
        timeout=0.3,
        execute=True,
    )

    assert time.monotonic() - started < 10
    assert body["status"] == "timeout"
    assert body["executed"] is True
    assert body["result"]["error"]["status"] == "cancelled"
    assert "timed out after 0.3 s" in body["result"]["error"]["message"]
    assert "sink" in body["result"]["not_reached"]
    assert client.get("/api/v1/jobs").json()["total"] == 0


def test_concurrent_executions_limited(dry_server):
    """Past four executing dry runs, another one gets 429 with Retry-After."""
    holder_class = type(ObjectFactory.get_instance().create("dryrun_holder"))
    holder_class.started = threading.Semaphore(0)
    executing = {
        "entry_routine_id": "source",
        "entry_params": CHAIN_PARAMS,
        "timeout": 2,
        "execute": True,
    }

    async def scenario():
        async with httpx.AsyncClient(
            base_url=dry_server.url, headers=dry_server.headers, timeout=30
        ) as http:
            url = "/api/v1/flows/dryrun_slow/dry-run"
            holders = [
                asyncio.create_task(http.post(url, json=executing)) for _ in range(4)
            ]
            for _ in range(4):
                started = await asyncio.to_thread(
                    holder_class.started.acquire, timeout=10
                )
                assert started, "a dry run did not reach its holder routine within 10 s"
            extra = await http.post(url, json=executing)
            not_executing = await http.post(url, json={"entry_routine_id": "source"})
            return extra, not_executing, await asyncio.gather(*holders)

    extra, not_executing, held_responses = asyncio.run(scenario())

    assert extra.status_code == 429
    assert extra.json()["code"] == "RATE_LIMITED"
    assert extra.headers["Retry-After"] == "1"
    assert not_executing.status_code == 200
    assert [response.json()["status"] for response in held_responses] == ["timeout"] * 4
    assert dry_server.app.state.dry_run_executions.active == 0


# -- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flow_id", "body", "code"),
    [
        ("no_such_flow", {"entry_routine_id": "source"}, "FLOW_NOT_FOUND"),
        ("dryrun_chain", {"entry_routine_id": "nobody"}, "ROUTINE_NOT_FOUND"),
        (
            "dryrun_chain",
            {"entry_routine_id": "source", "entry_slot": "nope"},
            "SLOT_NOT_FOUND",
        ),
    ],
    ids=["flow", "routine", "slot"],
)
def test_unknown_names_are_404(client, flow_id, body, code):
    """Unknown flow, routine or slot gives 404 with its own code."""
    response = client.post(f"/api/v1/flows/{flow_id}/dry-run", json=body)

    assert response.status_code == 404
    assert response.json()["code"] == code
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"entry_routine_id": "source", "entry_params": [1, 2]}, "entry_params"),
        ({"entry_routine_id": "source", "entry_params": "x=1"}, "entry_params"),
        ({"entry_routine_id": "source", "entry_params": None}, "entry_params"),
        ({"entry_routine_id": "source", "timeout": 0}, "timeout"),
        ({"entry_routine_id": "source", "timeout": -1}, "timeout"),
        ({"entry_routine_id": "source", "timeout": 301}, "timeout"),
        ({"entry_routine_id": "source", "timeout": "soon"}, "timeout"),
        ({"entry_routine_id": "source", "execute": "yes"}, "execute"),
        ({"entry_routine_id": ""}, "entry_routine_id"),
        ({}, "entry_routine_id"),
        ({"entry_routine_id": "source", "entry_param": {}}, "entry_param"),
    ],
    ids=[
        "params-list",
        "params-string",
        "params-null",
        "timeout-zero",
        "timeout-negative",
        "timeout-too-long",
        "timeout-text",
        "execute-text",
        "routine-empty",
        "routine-missing",
        "unknown-field",
    ],
)
def test_invalid_body_is_422_naming_field(client, body, field):
    """Each invalid field gives 422 whose message and details name it."""
    response = client.post("/api/v1/flows/dryrun_chain/dry-run", json=body)

    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["code"] == "VALIDATION_ERROR"
    assert field in payload["message"]
    assert [field] == [e["loc"][-1] for e in payload["details"]["errors"]][:1]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"entry_routine_id": "source",',
        b"[1, 2]",
        b'{"entry_routine_id": "source", "timeout": NaN}',
    ],
    ids=["malformed", "not-an-object", "nan-timeout"],
)
def test_malformed_body_is_422(client, raw):
    """A body that is not valid JSON, or not an object, gives 422."""
    response = client.post(
        "/api/v1/flows/dryrun_chain/dry-run",
        content=raw,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "VALIDATION_ERROR"


# -- the history query -----------------------------------------------------------------


def _stored_job(
    store: JobStore, flow_id: str, created_at: float, trace: list[dict]
) -> None:
    record = JobRecord(
        job_id=str(uuid.uuid4()),
        flow_id=flow_id,
        worker_id="w",
        routine_id="source",
        slot_name="input",
        status="running",
        created_at=created_at,
        started_at=created_at,
        params={},
    )
    store.insert(record)
    record.status = "completed"
    record.completed_at = created_at + 0.01
    store.finish(record, trace)


def test_history_query_uses_indexes(tmp_path):
    """Both history queries search an index and neither scans nor sorts."""
    database = Database(tmp_path / "plan.db")
    try:
        reader = database.reader()
        jobs_plan = " ".join(
            row[-1]
            for row in reader.execute(
                f"EXPLAIN QUERY PLAN {estimate._RECENT_JOBS_SQL}", ("f", 200)
            )
        )
        trace_plan = " ".join(
            row[-1]
            for row in reader.execute(
                f"EXPLAIN QUERY PLAN {estimate._ROUTINE_TIMES_SQL}", ("j",)
            )
        )
    finally:
        database.close()

    assert "USING INDEX jobs_by_flow_status" in jobs_plan
    assert "TEMP B-TREE" not in jobs_plan
    assert "SEARCH trace USING PRIMARY KEY (job_id=?)" in trace_plan


def test_estimate_reads_newest_jobs_only(tmp_path):
    """The estimate reads at most MAX_HISTORY_JOBS jobs, the newest ones."""
    database = Database(tmp_path / "history.db")
    store = JobStore(database)
    now = time.time()
    try:
        for index in range(estimate.MAX_HISTORY_JOBS + 5):
            # Only the five oldest jobs ran "sink", so reading them would
            # give sink a history.
            routine_id = "sink" if index < 5 else "source"
            trace = [
                {
                    "ts": now,
                    "routine_id": routine_id,
                    "action": "routine_started",
                    "details": {},
                },
                {
                    "ts": now,
                    "routine_id": routine_id,
                    "action": "routine_completed",
                    "details": {"duration_ms": 2.0},
                },
            ]
            _stored_job(store, "flow", now - 1000 + index, trace)
        _stored_job(store, "other_flow", now, [])

        value, basis = estimate.estimate_duration(database, "flow", ["source", "sink"])
    finally:
        database.close()

    assert basis["jobs"] == estimate.MAX_HISTORY_JOBS
    assert value == 2.0
    assert basis["routines"] == {
        "source": {"median_ms": 2.0, "jobs": estimate.MAX_HISTORY_JOBS}
    }
    assert basis["routines_without_history"] == ["sink"]
