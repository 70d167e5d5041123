"""Dry-run requests and results as the server sends them."""

from __future__ import annotations

import pytest

from app.models.dry_run import DryRunRequest, DryRunResult


def test_request_leaves_out_an_unset_slot():
    body = DryRunRequest("reader", entry_params={"records": 2}).to_json()

    assert body == {
        "entry_routine_id": "reader",
        "entry_params": {"records": 2},
        "timeout": 10.0,
        "execute": False,
    }
    assert (
        DryRunRequest("reader", "input", execute=True).to_json()["entry_slot"]
        == "input"
    )


def test_result_of_an_executed_run():
    result = DryRunResult.from_json(
        {
            "dry_run_id": "dry-run-1",
            "status": "completed",
            "executed": True,
            "warning": "ran for real",
            "result": {
                "entry_routine_id": "reader",
                "entry_slot": "input",
                "execution_path": [
                    {
                        "routine_id": "reader",
                        "depth": 0,
                        "via": [],
                        "runs": 1,
                        "failed": 0,
                        "duration_ms": 0.3,
                        "status": "completed",
                    },
                ],
                "not_reached": ["writer"],
                "estimated_duration": 12.5,
                "estimate_basis": {"median_job_duration_ms": 14.1},
                "missing_inputs": ["seed"],
                "inputs_declared": True,
                "outputs": {"data": {"x": 1}},
                "duration_ms": 3.0,
            },
        }
    )

    assert result.executed
    assert result.path[0].runs == 1
    assert result.path[0].status == "completed"
    assert result.not_reached == ("writer",)
    assert result.estimated_duration_ms == 12.5
    assert result.median_job_duration_ms == 14.1
    assert result.missing_inputs == ("seed",)
    assert result.outputs == {"data": {"x": 1}}


def test_result_without_estimate_keeps_the_reason():
    result = DryRunResult.from_json(
        {
            "dry_run_id": "d",
            "status": "failed",
            "result": {
                "estimated_duration": None,
                "estimate_basis": {"reason": "No jobs yet"},
            },
        }
    )

    assert result.estimated_duration_ms is None
    assert result.estimate_reason == "No jobs yet"
    assert result.path == ()


def test_findings_keep_their_place():
    result = DryRunResult.from_json(
        {
            "dry_run_id": "d",
            "status": "failed",
            "result": {
                "validation_errors": [
                    {
                        "code": "CONNECTION_SLOT_MISSING",
                        "message": "m",
                        "routine_id": "w",
                        "slot": "in",
                    }
                ],
                "warnings": [
                    {
                        "code": "EVENT_NOT_CONNECTED",
                        "message": "n",
                        "routine_id": "r",
                        "event": "out",
                    }
                ],
            },
        }
    )

    error, warning = result.findings()
    assert error.is_error and error.place == "w.in"
    assert not warning.is_error and warning.place == "r.out"


def test_result_that_is_not_an_object_is_rejected():
    with pytest.raises(ValueError, match="expected a JSON object"):
        DryRunResult.from_json([1, 2])
