"""The working built-in routines, driven one routine at a time the way the engine drives them.

The harness follows the engine's calling convention exactly: a fresh
instance from the factory, data put in with ``slot.enqueue``, then
``routine._activation_policy(routine.slots, worker_state)`` and, when that
returns True, ``logic(*slot_lists, policy_message=..., worker_state=...)``
with the job and execution context set. Emits land in a fake executor as
routilux's ``EventRoutingTask``. Time is a fake clock, and the engine's
``call_later`` is replaced by a recorder whose timers the test fires.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from pydantic import BaseModel
from routilux.builtin_routines import register_all_builtins
from routilux.core.context import (
    ExecutionContext,
    JobContext,
    set_current_execution_context,
    set_current_job,
)
from routilux.core.task import EventRoutingTask
from routilux.tools.factory.factory import ObjectFactory

from embedded_server.engine import timers
from embedded_server.engine.builtins import BUILTIN_ROUTINES, register_builtins
from embedded_server.engine.builtins import _support as support

BUILTIN_NAMES = sorted(BUILTIN_ROUTINES)


class FakeExecutor:
    """Stands in for ``worker_state._executor``; records every routing task."""

    def __init__(self) -> None:
        self.tasks: list[EventRoutingTask] = []

    def enqueue_task(self, task: EventRoutingTask) -> None:
        self.tasks.append(task)


class FakeWorkerState:
    def __init__(self) -> None:
        self._executor = FakeExecutor()
        self._runtime = None


@dataclass
class FakeTimer:
    due: float
    routine_id: str
    cancelled: bool = False
    fired: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class FakeClock:
    """A clock the test moves, and the timers scheduled against it."""

    now: float = 1000.0
    timers: list[FakeTimer] = field(default_factory=list)
    cancellable: bool = True

    def call_later(self, delay: float, routine_id: str) -> FakeTimer | None:
        timer = FakeTimer(self.now + delay, routine_id)
        self.timers.append(timer)
        return timer if self.cancellable else None

    @property
    def pending(self) -> list[FakeTimer]:
        return [t for t in self.timers if not (t.cancelled or t.fired)]


@pytest.fixture
def factory() -> ObjectFactory:
    """A private factory with routilux's built-ins replaced by the working ones."""
    fresh = ObjectFactory()
    register_all_builtins(fresh)
    register_builtins(fresh)
    return fresh


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(support, "now", lambda: fake.now)
    monkeypatch.setattr(timers, "call_later", fake.call_later)
    return fake


@pytest.fixture
def no_timers(monkeypatch):
    """Fail the test if a routine requests a timer."""

    def reject_timer(delay, routine_id):
        raise AssertionError(f"unexpected timer of {delay} s for {routine_id}")

    monkeypatch.setattr(timers, "call_later", reject_timer)


class Harness:
    """One routine of one job, activated the way the engine activates it."""

    def __init__(
        self, factory: ObjectFactory, class_name: str, config: dict | None = None
    ) -> None:
        self.routine = factory.create(class_name, config=config)
        self.routine_id = "under_test"
        self.worker_state = FakeWorkerState()
        self.job = JobContext(job_id="job-1", flow_id="flow", status="running")
        self.messages: list[str] = []

    def send(self, *items: Any, slot: str = "input") -> bool:
        """Enqueue each item, activating after each one as the engine does."""
        activated = False
        for item in items:
            self.enqueue(item, slot=slot)
            activated = self.activate() or activated
        return activated

    def enqueue(self, item: Any, slot: str = "input") -> None:
        self.routine.get_slot(slot).enqueue(
            data=item, emitted_from="test", emitted_at=datetime.now()
        )

    def activate(self) -> bool:
        """Run the policy once and, if it returns True, the logic."""
        return contextvars.copy_context().run(self._activate)

    def fire_due_timers(self, clock: FakeClock) -> None:
        for timer in clock.pending:
            if timer.due <= clock.now:
                timer.fired = True
                self.activate()

    def advance(self, clock: FakeClock, seconds: float) -> None:
        clock.now += seconds
        self.fire_due_timers(clock)

    def _activate(self) -> bool:
        set_current_job(self.job)
        set_current_execution_context(
            ExecutionContext(None, self.worker_state, self.routine_id, self.job)
        )
        routine = self.routine
        should_run, data_slice, message = routine._activation_policy(
            routine.slots, self.worker_state
        )
        if should_run:
            self.messages.append(message)
            logic = routine._logic or routine.logic
            logic(
                *[data_slice.get(name, []) for name in routine.slots],
                policy_message=message,
                worker_state=self.worker_state,
            )
        return should_run

    @property
    def emitted(self) -> list[tuple[str, dict]]:
        return [
            (task.event.name, task.event_data["data"])
            for task in self.worker_state._executor.tasks
        ]

    def events(self, name: str) -> list[dict]:
        return [data for event, data in self.emitted if event == name]


# -- registration --------------------------------------------------------


def test_register_builtins_replaces_all_twelve(factory):
    assert len(BUILTIN_NAMES) == 12
    for name in BUILTIN_NAMES:
        routine = factory.create(name)
        assert type(routine) is BUILTIN_ROUTINES[name][0]
        assert callable(routine._activation_policy), name


def test_register_builtins_on_empty_factory():
    fresh = ObjectFactory()

    register_builtins(fresh)

    assert sorted(entry["name"] for entry in fresh.list_available()) == BUILTIN_NAMES


def test_register_builtins_twice_is_harmless(factory):
    register_builtins(factory)

    assert type(factory.create("Mapper")) is BUILTIN_ROUTINES["Mapper"][0]


def test_factory_metadata_describes_builtins(factory):
    metadata = factory.get_metadata("Batcher")

    assert metadata.category == "control_flow"
    assert metadata.description.startswith("Collect input items into batches")
    assert "batch_timeout" in metadata.docstring


def test_aliases_keep_their_own_names(factory):
    transformer = factory.create("DataTransformer")
    validator = factory.create("DataValidator")

    assert factory.get_factory_name(transformer) == "DataTransformer"
    assert factory.get_factory_name(validator) == "DataValidator"
    assert factory.get_factory_name(factory.create("Mapper")) == "Mapper"


def upstream_routine(name: str, config: dict | None = None):
    upstream = ObjectFactory()
    register_all_builtins(upstream)
    return upstream.create(name, config=config)


@pytest.mark.parametrize(
    "name", sorted(set(BUILTIN_NAMES) - {"ConditionalRouter", "ResultExtractor"})
)
def test_upstream_builtin_has_no_policy(name):
    """Guard: routilux's own class still loses its policy in ``__init__``."""
    assert upstream_routine(name)._activation_policy is None


@pytest.mark.parametrize("name", ["ConditionalRouter", "ResultExtractor"])
def test_upstream_builtin_policy_raises(name):
    """Guard: routilux's own policy still calls len() on a Slot."""
    routine = upstream_routine(name)
    routine.get_slot("input").enqueue(
        data={"x": 1}, emitted_from="t", emitted_at=datetime.now()
    )

    with pytest.raises(TypeError, match="has no len"):
        routine._activation_policy(routine.slots, FakeWorkerState())


def test_upstream_aggregator_ignores_configured_slots():
    assert list(upstream_routine("Aggregator", {"slots": ["a"]}).slots) == []


# -- Mapper and DataTransformer ------------------------------------------


@pytest.mark.parametrize("name", ["Mapper", "DataTransformer"])
def test_mapper_maps_fields_and_paths(factory, name):
    config = {
        "mappings": {
            "name": "user.name",
            "key": "id",
            "first_sku": "items[0].sku",
            "city": "$.user.address.city",
        }
    }
    harness = Harness(factory, name, config)

    harness.send(
        {
            "id": 7,
            "user": {"name": "Ada", "address": {"city": "Oslo"}},
            "items": [{"sku": "A-1"}],
        }
    )

    assert harness.events("output") == [
        {
            "mapped_data": {
                "name": "Ada",
                "key": 7,
                "first_sku": "A-1",
                "city": "Oslo",
            },
            "fields_mapped": ["name", "key", "first_sku", "city"],
        }
    ]


def test_mapper_drops_missing_fields_by_default(factory):
    harness = Harness(factory, "Mapper", {"mappings": {"a": "a", "b": "missing"}})

    harness.send({"a": 1})

    assert harness.events("output")[0]["mapped_data"] == {"a": 1}


def test_mapper_fills_missing_fields_with_default_value(factory):
    config = {
        "mappings": {"a": "a", "b": "missing"},
        "drop_missing": False,
        "default_value": 0,
    }
    harness = Harness(factory, "Mapper", config)

    harness.send({"a": 1})

    assert harness.events("output")[0]["mapped_data"] == {"a": 1, "b": 0}


def test_mapper_keeps_unmapped_fields(factory):
    harness = Harness(
        factory, "Mapper", {"mappings": {"n": "name"}, "keep_unmapped": True}
    )

    harness.send({"name": "x", "extra": 2})

    # Only target names count as mapped, so the source field is kept too.
    assert harness.events("output")[0]["mapped_data"] == {
        "n": "x",
        "name": "x",
        "extra": 2,
    }


def test_mapper_dict_mapping_with_transform_and_default(factory):
    mappings = {
        "upper": {"path": "name", "transform": str.upper},
        "state": {"path": "state", "default": "unknown"},
    }
    harness = Harness(factory, "Mapper", {"mappings": mappings, "drop_missing": False})

    harness.send({"name": "ada"})

    assert harness.events("output")[0]["mapped_data"] == {"upper": "ADA", "state": None}


def test_mapper_wraps_non_dict_items_as_value(factory):
    harness = Harness(factory, "Mapper", {"mappings": {"number": "value"}})

    harness.send(5)

    assert harness.events("output")[0]["mapped_data"] == {"number": 5}


def test_mapper_maps_each_item_of_one_activation(factory):
    harness = Harness(factory, "Mapper", {"mappings": {"v": "item"}})
    harness.enqueue({"item": 1})
    harness.enqueue({"item": 2})

    assert harness.activate()

    assert [data["mapped_data"] for data in harness.events("output")] == [
        {"v": 1},
        {"v": 2},
    ]


def test_mapper_emits_error_for_invalid_mappings(factory):
    harness = Harness(factory, "Mapper", {"mappings": ["not", "a", "dict"]})

    harness.send({"a": 1})

    assert harness.events("output") == []
    assert harness.events("error")[0]["original_data"] == {"a": 1}


def test_policy_without_new_data_does_not_activate(factory):
    harness = Harness(factory, "Mapper", {"mappings": {}})

    assert harness.activate() is False
    assert harness.emitted == []


# -- Filter ----------------------------------------------------------------


def test_filter_dict_condition_passes_and_rejects_with_reason(factory):
    harness = Harness(factory, "Filter", {"condition": {"status": "active"}})

    harness.send({"status": "active", "id": 1}, {"status": "banned", "id": 2})

    assert harness.events("passed") == [{"data": {"status": "active", "id": 1}}]
    assert harness.events("rejected") == [
        {"data": {"status": "banned", "id": 2}, "reason": "Field 'status' != active"}
    ]


def test_filter_string_condition_checks_truthy_field(factory):
    harness = Harness(factory, "Filter", {"condition": "item"})

    harness.send({"item": 3}, {"item": 0}, {"other": 1})

    assert harness.events("passed") == [{"data": {"item": 3}}]
    assert [data["reason"] for data in harness.events("rejected")] == [
        "Field 'item' is falsy",
        "Missing field: item",
    ]


def test_filter_list_condition_checks_membership(factory):
    harness = Harness(factory, "Filter", {"condition": ["red", "green"]})

    harness.send("red", "blue")

    assert harness.events("passed") == [{"data": "red"}]
    assert harness.events("rejected")[0]["data"] == "blue"


def test_filter_callable_condition_with_reason(factory):
    condition = lambda item: (item["age"] >= 18, "minor")  # noqa: E731
    harness = Harness(factory, "Filter", {"condition": condition})

    harness.send({"age": 30}, {"age": 12})

    assert len(harness.events("passed")) == 1
    assert harness.events("rejected") == [{"data": {"age": 12}, "reason": "minor"}]


def test_filter_condition_that_raises_rejects(factory):
    harness = Harness(factory, "Filter", {"condition": lambda item: item["missing"]})

    harness.send({"a": 1})

    assert harness.events("rejected")[0]["reason"].startswith("Condition raised")


def test_filter_without_condition_passes_everything(factory):
    harness = Harness(factory, "Filter")

    harness.send(1, None)

    assert harness.events("passed") == [{"data": 1}, {"data": None}]


def test_filter_invert_swaps_the_outcome(factory):
    harness = Harness(
        factory, "Filter", {"condition": {"banned": True}, "invert": True}
    )

    harness.send({"banned": True}, {"banned": False})

    assert harness.events("passed") == [{"data": {"banned": False}}]
    assert harness.events("rejected")[0]["data"] == {"banned": True}


def test_filter_include_reason_false_omits_reason(factory):
    harness = Harness(factory, "Filter", {"condition": "x", "include_reason": False})

    harness.send({"x": 0})

    assert harness.events("rejected") == [{"data": {"x": 0}}]


def test_filter_configured_event_names(factory):
    harness = Harness(
        factory,
        "Filter",
        {"condition": "adult", "pass_event": "adults", "reject_event": "minors"},
    )

    harness.send({"adult": True}, {"adult": False})

    assert {"adults", "minors"} <= set(harness.routine.events)
    assert harness.events("adults") == [{"data": {"adult": True}}]
    assert harness.events("minors")[0]["data"] == {"adult": False}
    assert harness.events("passed") == []


# -- SchemaValidator and DataValidator --------------------------------------

ORDER_SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "qty": {"type": "integer", "minimum": 1}},
    "required": ["id", "qty"],
}


@pytest.mark.parametrize("name", ["SchemaValidator", "DataValidator"])
def test_schema_validator_json_schema(factory, name):
    harness = Harness(factory, name, {"schema": ORDER_SCHEMA})

    harness.send({"id": 1, "qty": 2}, {"id": "x", "qty": 0})

    assert harness.events("valid") == [
        {"validated_data": {"id": 1, "qty": 2}, "schema_type": "jsonschema"}
    ]
    invalid = harness.events("invalid")[0]
    assert invalid["original_data"] == {"id": "x", "qty": 0}
    assert invalid["errors"] == [
        "id: 'x' is not of type 'integer'",
        "qty: 0 is less than the minimum of 1",
    ]


def test_schema_validator_strict_mode_reports_first_error(factory):
    harness = Harness(
        factory, "SchemaValidator", {"schema": ORDER_SCHEMA, "strict_mode": True}
    )

    harness.send({"id": "x", "qty": 0})

    assert harness.events("invalid")[0]["errors"] == [
        "id: 'x' is not of type 'integer'"
    ]


class Item(BaseModel):
    name: str
    qty: int


def test_schema_validator_pydantic_coerces_types(factory):
    harness = Harness(factory, "SchemaValidator", {"schema": Item})

    harness.send({"name": "pen", "qty": "3"})

    assert harness.events("valid") == [
        {"validated_data": {"name": "pen", "qty": 3}, "schema_type": "pydantic"}
    ]


def test_schema_validator_pydantic_strict_without_coercion(factory):
    harness = Harness(
        factory, "SchemaValidator", {"schema": Item, "coerce_types": False}
    )

    harness.send({"name": "pen", "qty": "3"}, {"name": "pen", "qty": 3})

    assert harness.events("invalid")[0]["errors"] == [
        "qty: Input should be a valid integer"
    ]
    assert len(harness.events("valid")) == 1


def test_schema_validator_custom_function(factory):
    def check(data):
        if data.get("n", 0) > 0:
            return True, []
        return False, ["n must be positive"]

    harness = Harness(factory, "SchemaValidator", {"schema": check})

    harness.send({"n": 1}, {"n": -1})

    assert harness.events("valid")[0]["schema_type"] == "custom"
    assert harness.events("invalid")[0]["errors"] == ["n must be positive"]


def test_schema_validator_custom_field_validators(factory):
    config = {
        "schema": None,
        "custom_validators": {"email": lambda v: "@" in v, "age": lambda v: v >= 0},
    }
    harness = Harness(factory, "SchemaValidator", config)

    harness.send({"email": "a@b", "age": 3}, {"email": "nope", "age": None})

    assert len(harness.events("valid")) == 1
    assert harness.events("invalid")[0]["errors"] == [
        "email: failed custom validation",
        "age: validator raised TypeError: '>=' not supported between instances of 'NoneType' and 'int'",
    ]


def test_schema_validator_without_schema_accepts_all(factory):
    harness = Harness(factory, "SchemaValidator")

    harness.send("anything")

    assert harness.events("valid") == [
        {"validated_data": "anything", "schema_type": "none"}
    ]


# -- Splitter -----------------------------------------------------------------


def test_splitter_emits_each_list_item(factory):
    harness = Harness(factory, "Splitter")

    harness.send([1, 2, 3])

    assert harness.events("item") == [{"item": 1}, {"item": 2}, {"item": 3}]


def test_splitter_field_with_index_and_count(factory):
    config = {"field": "numbers", "include_index": True, "include_count": True}
    harness = Harness(factory, "Splitter", config)

    harness.send({"numbers": ["a", "b"], "other": 1})

    assert harness.events("item") == [
        {"item": "a", "index": 0, "count": 2},
        {"item": "b", "index": 1, "count": 2},
    ]


@pytest.mark.parametrize(
    ("dict_mode", "expected"),
    [
        ("values", [1, 2]),
        ("keys", ["a", "b"]),
        ("items", [("a", 1), ("b", 2)]),
        ("entries", [{"key": "a", "value": 1}, {"key": "b", "value": 2}]),
    ],
)
def test_splitter_dict_modes(factory, dict_mode, expected):
    harness = Harness(factory, "Splitter", {"field": "map", "dict_mode": dict_mode})

    harness.send({"map": {"a": 1, "b": 2}})

    assert [data["item"] for data in harness.events("item")] == expected


def test_splitter_strings_whole_or_by_character(factory):
    whole = Harness(factory, "Splitter", {"field": "text"})
    chars = Harness(factory, "Splitter", {"field": "text", "split_strings": True})

    whole.send({"text": "abc"})
    chars.send({"text": "abc"})

    assert whole.events("item") == [{"item": "abc"}]
    assert [data["item"] for data in chars.events("item")] == ["a", "b", "c"]


def test_splitter_missing_or_empty_field_emits_empty(factory):
    harness = Harness(factory, "Splitter", {"field": "numbers"})

    harness.send({"other": 1}, {"numbers": []})

    assert harness.events("empty") == [{}, {}]
    assert harness.events("item") == []


# -- ConditionalRouter -----------------------------------------------------


def router(factory, **config):
    return Harness(factory, "ConditionalRouter", config)


def test_router_expression_routes_to_first_match(factory):
    harness = router(
        factory,
        routes=[["high", "data.get('v', 0) > config.get('limit', 0)"], ["any", "True"]],
        limit=10,
    )

    harness.send({"data": {"v": 15}}, {"data": {"v": 5}})

    assert {"high", "any"} <= set(harness.routine.events)
    assert harness.events("high") == [{"data": {"v": 15}, "route": "high"}]
    assert harness.events("any") == [{"data": {"v": 5}, "route": "any"}]


def test_router_all_matches_emits_every_route(factory):
    harness = router(
        factory,
        routes=[["a", "data > 1"], ["b", "data > 2"]],
        route_priority="all_matches",
    )

    harness.send({"data": 3})

    assert [event for event, _ in harness.emitted] == ["a", "b"]


def test_router_default_route_and_unmatched_output(factory):
    with_default = router(
        factory, routes=[["big", "data > 100"]], default_route="small"
    )
    without_default = router(factory, routes=[["big", "data > 100"]])

    with_default.send({"data": 1})
    without_default.send({"data": 1})

    assert with_default.events("small") == [{"data": 1, "route": "small"}]
    assert without_default.events("output") == [{"data": 1, "route": "unmatched"}]


def test_router_dict_condition(factory):
    harness = router(
        factory, routes=[["urgent", {"priority": "high"}]], default_route="normal"
    )

    harness.send({"data": {"priority": "high"}}, {"data": {"priority": "low"}})

    assert len(harness.events("urgent")) == 1
    assert len(harness.events("normal")) == 1


@pytest.mark.parametrize(
    ("item", "payload"),
    [
        ({"data": 5, "route": "x"}, 5),
        ({"reply": "hi"}, "hi"),
        ({"a": 1, "b": 2}, {"a": 1, "b": 2}),
        (7, 7),
    ],
    ids=["data-key", "single-value", "whole-dict", "not-a-dict"],
)
def test_router_payload_of_slot_item(factory, item, payload):
    harness = router(factory, routes=[])

    harness.send(item)

    assert harness.events("output") == [{"data": payload, "route": "unmatched"}]


def test_router_expression_that_raises_does_not_match(factory):
    harness = router(
        factory, routes=[["bad", "data['missing'] > 1"]], default_route="fallback"
    )

    harness.send({"data": {}})

    assert len(harness.events("fallback")) == 1


@pytest.mark.parametrize(
    "expression",
    [
        "data.__class__",
        "().__class__.__base__.__subclasses__()",
        "'{0.__class__}'.format(data)",
        "(x for x in []).gi_frame",
        "[c for c in data]",
        "(lambda: 1)()",
        "_secret",
    ],
)
def test_router_rejects_unsafe_expressions(factory, expression):
    with pytest.raises(ValueError, match="is not allowed"):
        factory.create("ConditionalRouter", config={"routes": [["r", expression]]})


def test_router_rejects_malformed_routes(factory):
    with pytest.raises(ValueError, match=r"expected \[route_name, condition\]"):
        factory.create("ConditionalRouter", config={"routes": [["only-a-name"]]})
    with pytest.raises(ValueError, match="is invalid"):
        factory.create("ConditionalRouter", config={"routes": [["r", "data >"]]})


# -- Aggregator ----------------------------------------------------------------


def test_aggregator_creates_configured_slots(factory):
    routine = factory.create("Aggregator", config={"slots": ["left", "right"]})

    assert list(routine.slots) == ["left", "right"]


def test_aggregator_all_mode_waits_for_every_slot(factory, clock):
    harness = Harness(factory, "Aggregator", {"slots": ["a", "b"]})

    assert harness.send({"x": 1}, slot="a") is False
    assert harness.send({"y": 2}, slot="b") is True

    assert harness.events("aggregated") == [
        {"data": {"a": {"x": 1}, "b": {"y": 2}}, "sources": ["a", "b"]}
    ]
    assert harness.messages == ["all_ready"]


def test_aggregator_starts_a_new_round_after_emitting(factory, clock):
    harness = Harness(
        factory, "Aggregator", {"slots": ["a", "b"], "merge_strategy": "list"}
    )

    harness.send(1, slot="a")
    harness.send(2, slot="b")
    harness.send(3, slot="b")
    harness.send(4, slot="a")

    assert [data["data"] for data in harness.events("aggregated")] == [[1, 2], [4, 3]]


def test_aggregator_any_mode_emits_on_first_slot(factory, no_timers):
    harness = Harness(
        factory,
        "Aggregator",
        {"slots": ["cache", "db"], "mode": "any", "timeout": None},
    )

    harness.send({"hit": True}, slot="db")

    assert harness.events("aggregated") == [
        {"data": {"db": {"hit": True}}, "sources": ["db"]}
    ]


def test_aggregator_n_of_m_threshold(factory, clock):
    harness = Harness(
        factory,
        "Aggregator",
        {"slots": ["a", "b", "c"], "mode": "n_of_m", "threshold": 2},
    )

    harness.send(1, slot="a")
    assert harness.events("aggregated") == []
    harness.send(2, slot="c")

    assert harness.events("aggregated")[0]["sources"] == ["a", "c"]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("dict", {"a": [[1, 2], 3], "b": 4}),
        ("list", [[1, 2], 3, 4]),
        ("flatten", [1, 2, 3, 4]),
    ],
)
def test_aggregator_merge_strategies(factory, no_timers, strategy, expected):
    harness = Harness(
        factory,
        "Aggregator",
        {"slots": ["a", "b"], "merge_strategy": strategy, "timeout": None},
    )
    harness.enqueue([1, 2], slot="a")
    harness.enqueue(3, slot="a")
    harness.enqueue(4, slot="b")

    harness.activate()

    assert harness.events("aggregated")[0]["data"] == expected


def test_aggregator_failing_merge_emits_error(factory, no_timers):
    def merge(data):
        raise KeyError("nope")

    harness = Harness(
        factory,
        "Aggregator",
        {"slots": ["a"], "merge_strategy": merge, "timeout": None},
    )

    harness.send(1, slot="a")

    assert harness.events("error") == [{"error": "'nope'", "slot": "aggregator"}]


def test_aggregator_timeout_emits_partial_round(factory, clock):
    harness = Harness(factory, "Aggregator", {"slots": ["a", "b"], "timeout": 2.0})

    harness.send({"x": 1}, slot="a")
    assert [round(t.due - clock.now, 2) for t in clock.pending] == [2.0]
    assert [t.routine_id for t in clock.pending] == ["under_test"]
    harness.advance(clock, 1.0)
    assert harness.emitted == []
    harness.advance(clock, 1.1)

    assert harness.events("timeout") == [
        {"partial_data": {"a": [{"x": 1}]}, "missing_slots": ["b"]}
    ]
    assert harness.messages == ["timeout"]


def test_aggregator_cancels_timeout_when_round_completes(factory, clock):
    harness = Harness(factory, "Aggregator", {"slots": ["a", "b"], "timeout": 30})

    harness.send(1, slot="a")
    harness.send(2, slot="b")

    assert clock.pending == []
    assert clock.timers[0].cancelled


def test_aggregator_timer_without_cancel_fires_harmlessly(factory, clock):
    clock.cancellable = False
    harness = Harness(factory, "Aggregator", {"slots": ["a", "b"], "timeout": 5})
    harness.send(1, slot="a")
    harness.send(2, slot="b")

    harness.advance(clock, 6)

    assert [event for event, _ in harness.emitted] == ["aggregated"]


def test_aggregator_keeps_newest_items_over_limit(factory, no_timers):
    config = {
        "slots": ["a", "b"],
        "max_pending_items": 2,
        "timeout": None,
        "merge_strategy": "list",
    }
    harness = Harness(factory, "Aggregator", config)

    harness.send(1, 2, 3, slot="a")
    harness.send(9, slot="b")

    assert harness.events("aggregated")[0]["data"] == [2, 3, 9]


# -- Batcher -------------------------------------------------------------------


def test_batcher_emits_full_batches_with_numbers(factory, clock):
    harness = Harness(factory, "Batcher", {"batch_size": 2})

    harness.send("a", "b", "c", "d")

    assert harness.events("batch") == [
        {"items": ["a", "b"], "count": 2, "batch_number": 1},
        {"items": ["c", "d"], "count": 2, "batch_number": 2},
    ]
    assert clock.pending == []


def test_batcher_splits_many_items_into_batches(factory, clock):
    harness = Harness(factory, "Batcher", {"batch_size": 2, "batch_timeout": 1})
    for item in range(5):
        harness.enqueue(item)

    harness.activate()

    assert [data["items"] for data in harness.events("batch")] == [[0, 1], [2, 3]]
    assert harness.events("timeout") == []
    assert len(clock.pending) == 1


def test_batcher_flushes_partial_batch_after_timeout(factory, clock):
    harness = Harness(factory, "Batcher", {"batch_size": 10, "batch_timeout": 0.5})

    harness.send("a")
    harness.advance(clock, 0.2)
    harness.send("b")
    assert harness.emitted == []
    assert len(clock.pending) == 1
    harness.advance(clock, 0.4)

    assert harness.events("timeout") == [{"items": ["a", "b"], "count": 2}]
    assert clock.pending == []


def test_batcher_zero_timeout_flushes_without_timer(factory, no_timers):
    harness = Harness(factory, "Batcher", {"batch_size": 3, "batch_timeout": 0})
    for item in (1, 2, 3, 4):
        harness.enqueue(item)

    harness.activate()
    harness.send(5)

    assert harness.events("batch") == [
        {"items": [1, 2, 3], "count": 3, "batch_number": 1}
    ]
    assert harness.events("timeout") == [
        {"items": [4], "count": 1},
        {"items": [5], "count": 1},
    ]


def test_batcher_without_timeout_waits_for_a_full_batch(factory, no_timers):
    harness = Harness(factory, "Batcher", {"batch_size": 3, "batch_timeout": None})

    harness.send(1, 2)

    assert harness.emitted == []
    assert harness.routine.get_pending_count() == 2


def test_batcher_max_batch_size_caps_batches(factory, clock):
    harness = Harness(factory, "Batcher", {"batch_size": 5, "max_batch_size": 2})

    harness.send(1, 2)

    assert harness.events("batch") == [{"items": [1, 2], "count": 2, "batch_number": 1}]


def test_batcher_rejects_invalid_batch_size(factory):
    harness = Harness(factory, "Batcher", {"batch_size": 0})

    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        harness.send(1)


# -- Debouncer -----------------------------------------------------------------


def test_debouncer_emits_latest_after_quiet_period(factory, clock):
    harness = Harness(factory, "Debouncer", {"wait": 0.3})

    harness.send("a")
    harness.advance(clock, 0.1)
    harness.send("b")
    harness.advance(clock, 0.25)
    assert harness.emitted == []
    harness.advance(clock, 0.1)

    assert harness.emitted == [("debounced", {"data": "b"})]
    assert clock.pending == []


def test_debouncer_leading_edge_emits_first_item_only(factory, clock):
    harness = Harness(factory, "Debouncer", {"wait": 0.3, "leading": True})

    harness.send("a")
    harness.advance(clock, 1)

    assert harness.emitted == [("leading", {"data": "a"})]


def test_debouncer_leading_and_trailing_burst(factory, clock):
    harness = Harness(factory, "Debouncer", {"wait": 0.3, "leading": True})

    harness.send("a")
    harness.advance(clock, 0.1)
    harness.send("b")
    harness.advance(clock, 0.1)
    harness.send("c")
    harness.advance(clock, 0.4)
    harness.send("d")

    assert harness.emitted == [
        ("leading", {"data": "a"}),
        ("debounced", {"data": "c"}),
        ("leading", {"data": "d"}),
    ]


def test_debouncer_trailing_false_emits_leading_only(factory, no_timers):
    harness = Harness(
        factory, "Debouncer", {"wait": 0.3, "leading": True, "trailing": False}
    )

    harness.send("a", "b", "c")

    assert harness.emitted == [("leading", {"data": "a"})]


def test_debouncer_max_wait_forces_emission(factory, clock):
    harness = Harness(factory, "Debouncer", {"wait": 0.3, "max_wait": 0.5})

    for _ in range(4):
        harness.send(clock.now)
        harness.advance(clock, 0.2)

    assert harness.events("debounced") == [{"data": pytest.approx(1000.4)}]
    assert harness.messages == ["max_wait_reached"]


def test_debouncer_zero_wait_emits_every_item_without_timer(factory, no_timers):
    harness = Harness(factory, "Debouncer", {"wait": 0})

    harness.send("a", "b")

    assert harness.events("debounced") == [{"data": "a"}, {"data": "b"}]


# -- RetryHandler -----------------------------------------------------------


class Flaky:
    """An operation that fails a given number of times, then returns its input doubled."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or ConnectionError("connection reset")
        self.calls: list[Any] = []

    def __call__(self, value: Any) -> Any:
        self.calls.append(value)
        if len(self.calls) <= self.failures:
            raise self.error
        return value * 2


def test_retry_handler_passes_plain_items_through(factory, no_timers):
    harness = Harness(factory, "RetryHandler")

    harness.send({"value": 1})

    assert harness.emitted == [("success", {"data": {"value": 1}, "attempts": 1})]


def test_retry_handler_retries_at_once_without_delay(factory, no_timers):
    operation = Flaky(failures=2)
    harness = Harness(factory, "RetryHandler", {"base_delay": 0})

    harness.send({"operation": operation, "data": 21})

    assert [event for event, _ in harness.emitted] == ["retry", "retry", "success"]
    assert harness.events("success") == [{"data": 42, "attempts": 3}]
    assert [data["attempt"] for data in harness.events("retry")] == [1, 2]
    assert operation.calls == [21, 21, 21]


def test_retry_handler_waits_with_timers_and_backoff(factory, clock):
    operation = Flaky(failures=2)
    harness = Harness(
        factory, "RetryHandler", {"base_delay": 1.0, "backoff": "exponential"}
    )

    harness.send({"operation": operation, "data": 5})
    assert [data["delay"] for data in harness.events("retry")] == [1.0]
    harness.advance(clock, 0.5)
    assert len(operation.calls) == 1
    harness.advance(clock, 0.6)
    assert [data["delay"] for data in harness.events("retry")] == [1.0, 2.0]
    harness.advance(clock, 2.1)

    assert harness.events("success") == [{"data": 10, "attempts": 3}]
    assert harness.messages == ["slot_activated", "retry_due", "retry_due"]
    assert clock.pending == []


def test_retry_handler_exhausts_attempts(factory, no_timers):
    exhausted_calls = []
    config = {
        "max_attempts": 2,
        "base_delay": 0,
        "on_exhausted": lambda attempts, errors, item: exhausted_calls.append(
            (attempts, errors)
        ),
    }
    harness = Harness(factory, "RetryHandler", config)
    item = {"operation": Flaky(failures=5), "data": 1}

    harness.send(item)

    assert harness.events("exhausted") == [
        {
            "data": item,
            "attempts": 2,
            "errors": ["connection reset", "connection reset"],
        }
    ]
    assert exhausted_calls == [(2, ["connection reset", "connection reset"])]


def test_retry_handler_retryable_exception_names(factory, no_timers):
    config = {"retryable_exceptions": ["OSError"], "base_delay": 0}
    harness = Harness(factory, "RetryHandler", config)
    item = {"operation": Flaky(failures=1, error=ValueError("bad input")), "data": 1}

    harness.send(item, {"operation": Flaky(failures=1), "data": 2})

    assert harness.events("error") == [{"error": "bad input", "data": item}]
    assert harness.events("success") == [{"data": 4, "attempts": 2}]


def test_retry_handler_retryable_error_codes(factory, no_timers):
    class HttpError(Exception):
        def __init__(self, status_code: int) -> None:
            super().__init__(f"HTTP {status_code}")
            self.status_code = status_code

    harness = Harness(
        factory, "RetryHandler", {"retryable_error_codes": [503], "base_delay": 0}
    )

    harness.send(
        {"operation": Flaky(1, HttpError(503)), "data": 1},
        {"operation": Flaky(1, HttpError(404)), "data": 2},
    )

    assert harness.events("success") == [{"data": 2, "attempts": 2}]
    assert harness.events("error")[0]["error"] == "HTTP 404"


def test_retry_handler_on_retry_callback_errors_are_ignored(factory, no_timers):
    seen = []

    def on_retry(attempt, error, delay):
        seen.append((attempt, str(error), delay))
        raise RuntimeError("callback broke")

    harness = Harness(factory, "RetryHandler", {"base_delay": 0, "on_retry": on_retry})

    harness.send({"operation": Flaky(failures=1), "data": 3})

    assert seen == [(1, "connection reset", 0)]
    assert harness.events("success") == [{"data": 6, "attempts": 2}]


def test_retry_handler_non_callable_operation_is_its_result(factory, no_timers):
    harness = Harness(factory, "RetryHandler")

    harness.send({"operation": "cached", "data": 1})

    assert harness.events("success") == [{"data": "cached", "attempts": 1}]


def test_retry_handler_rejects_invalid_max_attempts(factory):
    harness = Harness(factory, "RetryHandler", {"max_attempts": 0})

    with pytest.raises(ValueError, match="max_attempts must be a positive integer"):
        harness.send({"operation": Flaky(0), "data": 1})


# -- ResultExtractor ---------------------------------------------------------


def test_result_extractor_json_code_block(factory):
    harness = Harness(factory, "ResultExtractor")

    harness.send({"reply": 'Done:\n```json\n{"total": 42}\n```'})

    output = harness.events("output")[0]
    assert output["extracted_result"] == {"total": 42}
    assert output["format"] == "json"
    assert output["extraction_path"] == ["json_code_block"]


def test_result_extractor_json_string_and_code_block(factory):
    harness = Harness(factory, "ResultExtractor")

    harness.send({"data": "[1, 2]"}, {"data": "```python\nprint(1)\n```"})

    first, second = harness.events("output")
    assert (first["extracted_result"], first["format"]) == ([1, 2], "json")
    assert (second["extracted_result"], second["format"]) == ("print(1)\n", "python")


def test_result_extractor_interpreter_output(factory):
    harness = Harness(factory, "ResultExtractor")
    outputs = [
        {"format": "output", "content": "line 1"},
        {"format": "image", "content": "..."},
        {"format": "output", "content": "line 2"},
    ]

    harness.send({"data": outputs})

    assert harness.events("output")[0]["extracted_result"] == "line 1\nline 2"


def test_result_extractor_returns_original_when_nothing_matches(factory):
    harness = Harness(factory, "ResultExtractor")

    harness.send({"data": "plain words"})

    output = harness.events("output")[0]
    assert output["extracted_result"] == "plain words"
    assert output["confidence"] == 0.0


def test_result_extractor_raises_when_asked_not_to_fall_back(factory):
    harness = Harness(factory, "ResultExtractor", {"return_original_on_failure": False})

    with pytest.raises(ValueError, match="All extractors failed"):
        harness.send({"data": "plain words"})


# -- timers ----------------------------------------------------------------------


def test_timer_needs_a_routine_id():
    with pytest.raises(RuntimeError, match="routine id"):
        contextvars.copy_context().run(support.Recheck().schedule, 1.0)


def test_timer_reports_missing_engine_module(factory, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, support.TIMERS_MODULE, None)
    harness = Harness(factory, "Batcher", {"batch_size": 5, "batch_timeout": 1})

    with pytest.raises(RuntimeError, match="configure it without a delay"):
        harness.send(1)
