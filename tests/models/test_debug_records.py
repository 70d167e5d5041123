"""Tests for the debugger records parsed from the breakpoint and debug routes."""

from __future__ import annotations

import pytest

from app.models.debug_records import (
    BreakpointInfo,
    BreakpointPlace,
    BreakpointSpec,
    EvalResult,
    Frame,
    PausePoint,
    Variable,
)

BREAKPOINT = {
    "breakpoint_id": "b1",
    "flow_id": "etl_orders",
    "job_id": None,
    "scope": "flow",
    "routine_id": "transformer",
    "kind": "slot",
    "slot_name": "input",
    "event_name": None,
    "condition": "amount > 5",
    "hit_condition": ">= 2",
    "log_message": None,
    "enabled": True,
    "hit_count": 3,
    "error_count": 1,
    "last_error": "KeyError: 'amount'",
    "created_at": "2026-12-04T16:34:48.420Z",
    "updated_at": "2026-12-04T16:34:48.420Z",
}

SESSION = {
    "job_id": "j1",
    "status": "paused",
    "paused": True,
    "pause_point": {
        "index": 0,
        "frame_id": 14,
        "kind": "event",
        "routine_id": "validator",
        "slot": None,
        "event": "valid",
        "data": {"repr": "{'a': 1}", "type": "dict", "length": 1, "truncated": False},
    },
    "step": None,
    "reason": "breakpoint",
    "breakpoint_id": "b1",
    "paused_at": 1796402088.5,
}


def test_breakpoint_from_json():
    """A flow breakpoint keeps its place, texts and counters."""
    item = BreakpointInfo.from_json(BREAKPOINT)

    assert item.place() == BreakpointPlace("etl_orders", "transformer", "slot", "input")
    assert item.scope == "flow"
    assert (item.condition, item.hit_condition) == ("amount > 5", ">= 2")
    assert (item.hit_count, item.error_count) == (3, 1)
    assert item.last_error == "KeyError: 'amount'"
    assert item.created_at is not None
    assert item.created_at.tzinfo is not None
    assert not item.is_logpoint


def test_stock_breakpoint_kind_from_port():
    """A stock body without ``kind`` gets it from the port it names."""
    item = BreakpointInfo.from_json(
        {"breakpoint_id": "b", "routine_id": "r", "event_name": "out", "job_id": "j"}
    )

    assert item.kind == "event"
    assert item.port == "out"
    assert item.scope == "job"


def test_breakpoint_without_id_is_rejected():
    """A breakpoint without an id raises ValueError."""
    with pytest.raises(ValueError, match="breakpoint_id"):
        BreakpointInfo.from_json({"routine_id": "r"})


def test_spec_body_names_the_port_by_kind():
    """The request body sends the port as slot_name or event_name by kind."""
    assert BreakpointSpec("r", "event", "out").to_json()["event_name"] == "out"
    assert BreakpointSpec("r", "event", "out").to_json()["slot_name"] is None
    assert (
        BreakpointSpec("r", "routine", None, condition="").to_json()["condition"]
        is None
    )


def test_pause_point_from_session():
    """A paused session gives the frame, the reason and a UTC pause time."""
    pause = PausePoint.from_json(SESSION)

    assert pause.paused
    assert pause.frame == Frame(
        0, "event", "validator", None, "valid", 14, SESSION["pause_point"]["data"]
    )
    assert pause.frame.port == "valid"
    assert pause.frame.describe() == "event validator.valid"
    assert pause.reason == "breakpoint"
    assert pause.paused_at is not None


def test_running_session_has_no_frame():
    """A resume response without a pause point is not paused."""
    pause = PausePoint.from_json({"job_id": "j1", "status": "running", "paused": False,
                                  "pause_point": None, "step": "over"})  # fmt: skip

    assert not pause.paused
    assert pause.frame is None
    assert pause.step == "over"


def test_variable_and_preview_defaults():
    """A variable with a broken preview still gets every preview key."""
    variable = Variable.from_json({"name": "x", "value": "oops", "editable": True})

    assert variable.preview == {
        "repr": "oops",
        "type": "",
        "length": None,
        "truncated": False,
    }
    assert variable.editable


def test_eval_result_error_and_value():
    """Evaluate responses carry either a preview or an error."""
    ok = EvalResult.from_json(
        {"result": {"repr": "96.74", "type": "float", "length": None, "truncated": False},
         "type": "float", "error": None}
    )  # fmt: skip
    failed = EvalResult.from_json(
        {"result": None, "type": None, "error": "NameError: name 'x' is not defined"}
    )

    assert ok.ok
    assert ok.result["repr"] == "96.74"
    assert not failed.ok
    assert failed.result is None
