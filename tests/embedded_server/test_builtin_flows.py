"""Flows made of built-in routines, run end to end by the real engine on a real SQLite file.

A small ``test_collect`` routine stores what reaches it in the job data under
its routine id, so each test can assert on what the built-ins emitted.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from routilux.core.context import get_current_execution_context, get_current_job
from routilux.core.routine import Routine
from routilux.tools.factory.factory import ObjectFactory

from embedded_server.engine.builtins import register_builtins
from embedded_server.engine.catalog import FlowCatalog, FlowDefinitionError, parse_flow
from embedded_server.engine.scheduler import Engine
from embedded_server.store.database import Database
from embedded_server.store.jobs import JobStore
from embedded_server.store.records import JobRecord

FINAL_EVENTS = {"job_completed", "job_failed", "job_cancelled"}
WAIT_SECONDS = 10

# Batch timeouts and quiet periods below are 0.3 s: short enough for a quick
# test, long enough that a busy machine delivers a burst of items within one.


class Collect(Routine):
    """Appends every item it receives to the job data under its routine id."""

    def setup(self) -> None:
        self.add_slot("input")

    def logic(self, items: list[Any], **kwargs: Any) -> None:
        routine_id = get_current_execution_context().routine_id
        job = get_current_job()
        job.set_data(routine_id, (job.get_data(routine_id) or []) + items)


class FlakyRequests(Routine):
    """Emits one ``{operation, data}`` request whose operation fails ``failures`` times."""

    def setup(self) -> None:
        self.add_slot("input")
        self.add_event("request", ["operation", "data"])

    def logic(self, params_list: list[dict], **kwargs: Any) -> None:
        for params in params_list:
            calls = []

            def operation(
                value: int, calls: list = calls, failures: int = params["failures"]
            ) -> int:
                calls.append(value)
                if len(calls) <= failures:
                    raise ConnectionError(f"attempt {len(calls)} failed")
                return value + 1

            self.emit("request", operation=operation, data=params["value"])


class RecordingBus:
    """Collects published events and lets a test wait for a job's final one."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str | None, dict]] = []
        self._changed = threading.Condition()

    def publish(
        self, type: str, job_id: str | None, flow_id: str | None, data: dict
    ) -> int:
        with self._changed:
            self.events.append((type, job_id, data))
            self._changed.notify_all()
            return len(self.events)

    def wait_finished(self, job_id: str) -> str:
        def final() -> str | None:
            return next(
                (t for t, j, _ in self.events if j == job_id and t in FINAL_EVENTS),
                None,
            )

        with self._changed:
            assert self._changed.wait_for(final, WAIT_SECONDS), (
                f"job {job_id} did not finish"
            )
            return final()


class EngineUnderTest:
    def __init__(
        self, engine: Engine, catalog: FlowCatalog, jobs: JobStore, bus: RecordingBus
    ) -> None:
        self.engine, self.catalog, self.jobs, self.bus = engine, catalog, jobs, bus

    def run(
        self, dsl: dict, entry: str, params: dict, slot: str = "input"
    ) -> JobRecord:
        """Load ``dsl`` if needed, start a job at ``entry`` and return its stored record."""
        if self.catalog.get(dsl["flow_id"]) is None:
            self.catalog.add(parse_flow(dsl))
        job_id = self.engine.submit(dsl["flow_id"], entry, slot, params).job_id
        self.bus.wait_finished(job_id)
        return self.jobs.get(job_id)

    def emitted(self, job_id: str) -> list[tuple[str, str]]:
        """Return ``(routine_id, event)`` for every event the job emitted, in order."""
        entries, _ = self.jobs.trace(job_id, limit=10_000, offset=0)
        return [
            (entry["routine_id"], entry["details"]["event"])
            for entry in entries
            if entry["action"] == "event_emitted"
        ]


@pytest.fixture
def engine(tmp_path):
    factory = ObjectFactory.get_instance()
    register_builtins(factory)
    for name, routine_class in (
        ("test_collect", Collect),
        ("test_flaky_requests", FlakyRequests),
    ):
        if factory.get_metadata(name) is None:
            factory.register(name, routine_class)

    database = Database(tmp_path / "history.db")
    catalog, jobs, bus = FlowCatalog(), JobStore(database), RecordingBus()
    running = Engine(catalog, jobs, bus, threads=4)
    yield EngineUnderTest(running, catalog, jobs, bus)
    running.shutdown()
    database.close()


def flow(
    flow_id: str, routines: dict[str, tuple[str, dict]], *connections: str
) -> dict:
    """Build a DSL mapping; each connection is ``"a.event -> b.slot"``."""
    return {
        "flow_id": flow_id,
        "routines": {
            rid: {"class": cls, "config": config}
            for rid, (cls, config) in routines.items()
        },
        "connections": [
            dict(
                zip(
                    ("from", "to"),
                    (part.strip() for part in edge.split("->")),
                    strict=True,
                )
            )
            for edge in connections
        ],
    }


FAN_OUT = flow(
    "fan_out",
    {
        "split": ("Splitter", {"field": "numbers", "include_index": True}),
        "nonzero": ("Filter", {"condition": "item"}),
        "label": (
            "Mapper",
            {"mappings": {"value": "data.item", "position": "data.index"}},
        ),
        "batch": ("Batcher", {"batch_size": 3, "batch_timeout": 0.3}),
        "batches": ("test_collect", {}),
        "rest": ("test_collect", {}),
        "zeros": ("test_collect", {}),
    },
    "split.item -> nonzero.input",
    "nonzero.passed -> label.input",
    "nonzero.rejected -> zeros.input",
    "label.output -> batch.input",
    "batch.batch -> batches.input",
    "batch.timeout -> rest.input",
)


def test_fan_out_filter_map_and_batch(engine):
    record = engine.run(FAN_OUT, "split", {"numbers": [4, 0, 15, 8, 0, 23, 42, 16, 7]})

    assert record.status == "completed"
    batches = record.data["batches"]
    assert [batch["batch_number"] for batch in batches] == [1, 2]
    assert [
        [item["mapped_data"]["value"] for item in batch["items"]] for batch in batches
    ] == [
        [4, 15, 8],
        [23, 42, 16],
    ]
    assert record.data["rest"] == [
        {
            "items": [
                {
                    "mapped_data": {"value": 7, "position": 8},
                    "fields_mapped": ["value", "position"],
                }
            ],
            "count": 1,
        }
    ]
    assert [zero["data"] for zero in record.data["zeros"]] == [
        {"item": 0, "index": 1},
        {"item": 0, "index": 4},
    ]


def test_fan_in_aggregates_two_branches(engine):
    dsl = flow(
        "fan_in",
        {
            "source": ("DataTransformer", {"mappings": {"id": "id", "qty": "qty"}}),
            "ids": ("Mapper", {"mappings": {"id": "mapped_data.id"}}),
            "quantities": ("Mapper", {"mappings": {"qty": "mapped_data.qty"}}),
            "join": ("Aggregator", {"slots": ["left", "right"], "timeout": None}),
            "out": ("test_collect", {}),
        },
        "source.output -> ids.input",
        "source.output -> quantities.input",
        "ids.output -> join.left",
        "quantities.output -> join.right",
        "join.aggregated -> out.input",
    )

    record = engine.run(dsl, "source", {"id": 7, "qty": 3, "ignored": True})

    assert record.status == "completed"
    assert record.data["out"] == [
        {
            "data": {
                "left": {"mapped_data": {"id": 7}, "fields_mapped": ["id"]},
                "right": {"mapped_data": {"qty": 3}, "fields_mapped": ["qty"]},
            },
            "sources": ["left", "right"],
        }
    ]


def test_aggregator_timeout_uses_engine_timer(engine):
    dsl = flow(
        "partial_join",
        {
            "split": ("Splitter", {"field": "values"}),
            "join": ("Aggregator", {"slots": ["left", "right"], "timeout": 0.3}),
            "out": ("test_collect", {}),
        },
        "split.item -> join.left",
        "join.timeout -> out.input",
    )

    record = engine.run(dsl, "split", {"values": [1, 2]})

    assert record.status == "completed"
    assert record.data["out"] == [
        {
            "partial_data": {"left": [{"item": 1}, {"item": 2}]},
            "missing_slots": ["right"],
        }
    ]


def test_router_sends_structured_replies_to_extractor(engine):
    dsl = flow(
        "replies",
        {
            "router": (
                "ConditionalRouter",
                {"routes": [["structured", "'```' in data"]], "default_route": "plain"},
            ),
            "extract": ("ResultExtractor", {}),
            "results": ("test_collect", {}),
            "plain": ("test_collect", {}),
        },
        "router.structured -> extract.input",
        "router.plain -> plain.input",
        "extract.output -> results.input",
    )

    structured = engine.run(
        dsl, "router", {"reply": 'Total:\n```json\n{"total": 42}\n```'}
    )
    plain = engine.run(dsl, "router", {"reply": "no data"})

    assert structured.status == "completed"
    assert structured.data["results"][0]["extracted_result"] == {"total": 42}
    assert "plain" not in structured.data
    assert plain.data == {"plain": [{"data": "no data", "route": "plain"}]}
    assert engine.emitted(plain.job_id) == [("router", "plain")]


def test_debouncer_emits_last_item_after_quiet_period(engine):
    dsl = flow(
        "debounce",
        {
            "split": ("Splitter", {"field": "keys"}),
            "quiet": ("Debouncer", {"wait": 0.3}),
            "out": ("test_collect", {}),
        },
        "split.item -> quiet.input",
        "quiet.debounced -> out.input",
    )

    record = engine.run(dsl, "split", {"keys": ["h", "he", "hel", "hell", "hello"]})

    assert record.status == "completed"
    assert record.data["out"] == [{"data": {"item": "hello"}}]


def test_retry_handler_retries_with_engine_timers(engine):
    dsl = flow(
        "retry",
        {
            "source": ("test_flaky_requests", {}),
            "retry": (
                "RetryHandler",
                {"base_delay": 0.02, "backoff": "fixed", "max_attempts": 3},
            ),
            "ok": ("test_collect", {}),
            "retries": ("test_collect", {}),
        },
        "source.request -> retry.input",
        "retry.success -> ok.input",
        "retry.retry -> retries.input",
    )

    record = engine.run(dsl, "source", {"value": 41, "failures": 2})

    assert record.status == "completed"
    assert record.data["ok"] == [{"data": 42, "attempts": 3}]
    assert [retry["error"] for retry in record.data["retries"]] == [
        "attempt 1 failed",
        "attempt 2 failed",
    ]


def test_builtin_that_raises_fails_the_job(engine):
    dsl = flow(
        "strict_extract",
        {"extract": ("ResultExtractor", {"return_original_on_failure": False})},
    )

    record = engine.run(dsl, "extract", {"text": "nothing structured here"})

    assert record.status == "failed"
    assert record.failed_routine == "extract"
    assert "ValueError: All extractors failed" in record.error
    assert "Traceback" in record.traceback


def test_unsafe_route_expression_fails_flow_load():
    register_builtins(ObjectFactory.get_instance())
    dsl = flow(
        "unsafe",
        {"router": ("ConditionalRouter", {"routes": [["x", "data.__class__"]]})},
    )

    with pytest.raises(
        FlowDefinitionError, match="creating ConditionalRouter failed: ValueError"
    ):
        parse_flow(dsl)
