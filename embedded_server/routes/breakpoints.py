"""Breakpoint routes: per flow (every job, including later ones) and per job (stock shape)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from embedded_server.debug import conditions
from embedded_server.debug.breakpoints import KINDS, Breakpoint, kind_for
from embedded_server.debug.frames import EVENT, ROUTINE, SLOT
from embedded_server.engine.catalog import FlowSpec
from embedded_server.errors import ApiError, NotFound, validation_error
from embedded_server.routes.deps import ServerState, server

router = APIRouter(prefix="/api/v1", tags=["breakpoints"])


class BreakpointBody(BaseModel):
    """A breakpoint to create; the stock per-job body is a subset of it."""

    routine_id: str = Field(min_length=1, max_length=500)
    slot_name: str | None = Field(default=None, max_length=500)
    event_name: str | None = Field(default=None, max_length=500)
    kind: str | None = None
    condition: str | None = Field(default=None, max_length=2000)
    hit_condition: str | None = Field(default=None, max_length=200)
    log_message: str | None = Field(default=None, max_length=2000)
    enabled: bool = True


class BreakpointPatch(BaseModel):
    """Fields of a breakpoint to change; absent fields stay as they are."""

    condition: str | None = Field(default=None, max_length=2000)
    hit_condition: str | None = Field(default=None, max_length=200)
    log_message: str | None = Field(default=None, max_length=2000)
    enabled: bool | None = None


def _blank_to_none(text: str | None) -> str | None:
    return text if text is not None and text.strip() else None


def _validate_texts(
    condition: str | None, hit_condition: str | None, log_message: str | None
) -> None:
    checks = (
        ("condition", condition, conditions.validate_condition),
        ("hit_condition", hit_condition, conditions.validate_hit_condition),
        ("log_message", log_message, conditions.validate_template),
    )
    for field, text, validate in checks:
        if text is None:
            continue
        try:
            validate(text)
        except conditions.ExpressionError as exc:
            raise ApiError(
                422,
                "INVALID_EXPRESSION",
                f"Invalid {field} at column {exc.column}: {exc.message}",
                {
                    "field": field,
                    "column": exc.column,
                    "errors": [
                        {
                            "loc": ["body", field],
                            "msg": exc.message,
                            "type": "expression",
                            "column": exc.column,
                        }
                    ],
                },
            ) from exc


def _build(flow: FlowSpec, job_id: str | None, body: BreakpointBody) -> Breakpoint:
    kind = kind_for(body.kind, body.slot_name, body.event_name)
    if kind not in KINDS:
        raise validation_error(
            ["body", "kind"],
            f"{kind!r} is not a kind; use one of {', '.join(KINDS)}",
            kind="enum",
        )
    routine = flow.routines.get(body.routine_id)
    if routine is None:
        raise NotFound(
            "ROUTINE_NOT_FOUND",
            f"Routine '{body.routine_id}' not found in flow "
            f"'{flow.flow_id}'; routines: {', '.join(flow.routines)}",
        )
    port = {SLOT: body.slot_name, EVENT: body.event_name, ROUTINE: None}[kind]
    known = routine.slots if kind == SLOT else routine.events
    if port is not None and port not in known:
        code = "SLOT_NOT_FOUND" if kind == SLOT else "EVENT_NOT_FOUND"
        raise NotFound(
            code,
            f"Routine '{body.routine_id}' has no {kind} '{port}'; it has: "
            f"{', '.join(known) or 'none'}",
        )
    condition = _blank_to_none(body.condition)
    hit_condition = _blank_to_none(body.hit_condition)
    _validate_texts(condition, hit_condition, body.log_message)
    return Breakpoint(
        "",
        flow.flow_id,
        job_id,
        body.routine_id,
        kind,
        port,
        condition,
        hit_condition,
        body.log_message,
        body.enabled,
    )


def _flow(state: ServerState, flow_id: str) -> FlowSpec:
    flow = state.catalog.get(flow_id)
    if flow is None:
        raise NotFound("FLOW_NOT_FOUND", f"Flow '{flow_id}' not found")
    return flow


def _job_flow(state: ServerState, job_id: str) -> FlowSpec:
    run = state.engine.active_run(job_id)
    record = run.record if run else state.jobs.get(job_id)
    if record is None:
        raise NotFound("JOB_NOT_FOUND", f"Job '{job_id}' not found")
    return _flow(state, record.flow_id)


def _existing(
    state: ServerState, breakpoint_id: str, **scope: str | None
) -> Breakpoint:
    item = state.breakpoints.get(breakpoint_id)
    if item is None or any(getattr(item, key) != value for key, value in scope.items()):
        raise NotFound(
            "BREAKPOINT_NOT_FOUND", f"Breakpoint '{breakpoint_id}' not found"
        )
    return item


def _update(
    state: ServerState, item: Breakpoint, patch: BreakpointPatch
) -> dict[str, Any]:
    fields = patch.model_fields_set
    condition = (
        _blank_to_none(patch.condition) if "condition" in fields else item.condition
    )
    hit = (
        _blank_to_none(patch.hit_condition)
        if "hit_condition" in fields
        else item.hit_condition
    )
    log = patch.log_message if "log_message" in fields else item.log_message
    _validate_texts(condition, hit, log)
    if {"condition", "hit_condition", "log_message"} & fields:
        item.last_error, item.error_reported = None, False
    item.condition, item.hit_condition, item.log_message = condition, hit, log
    if patch.enabled is not None:
        item.enabled = patch.enabled
    item.updated_at = time.time()
    state.breakpoints.save(item)
    return item.to_json()


# -- flow breakpoints -----------------------------------------------------------


@router.post(
    "/flows/{flow_id}/breakpoints",
    status_code=201,
    summary="Add a breakpoint to every job of a flow, including later ones",
)
def create_flow_breakpoint(
    flow_id: str, body: BreakpointBody, state: ServerState = Depends(server)
) -> dict[str, Any]:
    return state.breakpoints.add(_build(_flow(state, flow_id), None, body)).to_json()


@router.get("/flows/{flow_id}/breakpoints", summary="The flow's breakpoints")
def list_flow_breakpoints(
    flow_id: str, state: ServerState = Depends(server)
) -> dict[str, Any]:
    _flow(state, flow_id)
    items = state.breakpoints.list(flow_id=flow_id, scope="flow")
    return {"breakpoints": [b.to_json() for b in items], "total": len(items)}


@router.patch(
    "/flows/{flow_id}/breakpoints/{breakpoint_id}", summary="Edit a breakpoint"
)
@router.put("/flows/{flow_id}/breakpoints/{breakpoint_id}", include_in_schema=False)
def update_flow_breakpoint(
    flow_id: str,
    breakpoint_id: str,
    patch: BreakpointPatch,
    state: ServerState = Depends(server),
) -> dict[str, Any]:
    item = _existing(state, breakpoint_id, flow_id=flow_id, job_id=None)
    return _update(state, item, patch)


@router.delete(
    "/flows/{flow_id}/breakpoints/{breakpoint_id}",
    status_code=204,
    summary="Remove a breakpoint",
)
def delete_flow_breakpoint(
    flow_id: str, breakpoint_id: str, state: ServerState = Depends(server)
) -> Response:
    _existing(state, breakpoint_id, flow_id=flow_id, job_id=None)
    state.breakpoints.remove(breakpoint_id)
    return Response(status_code=204)


# -- job breakpoints (stock routes) ---------------------------------------------


@router.post(
    "/jobs/{job_id}/breakpoints", status_code=201, summary="Add a breakpoint to one job"
)
def create_job_breakpoint(
    job_id: str, body: BreakpointBody, state: ServerState = Depends(server)
) -> dict[str, Any]:
    item = state.breakpoints.add(_build(_job_flow(state, job_id), job_id, body))
    return item.to_json()


@router.get("/jobs/{job_id}/breakpoints", summary="The job's own breakpoints")
def list_job_breakpoints(
    job_id: str, state: ServerState = Depends(server)
) -> dict[str, Any]:
    _job_flow(state, job_id)
    items = state.breakpoints.list(job_id=job_id)
    return {"breakpoints": [b.to_json() for b in items], "total": len(items)}


@router.patch(
    "/jobs/{job_id}/breakpoints/{breakpoint_id}", summary="Edit a job's breakpoint"
)
@router.put("/jobs/{job_id}/breakpoints/{breakpoint_id}", include_in_schema=False)
def update_job_breakpoint(
    job_id: str,
    breakpoint_id: str,
    patch: BreakpointPatch,
    state: ServerState = Depends(server),
) -> dict[str, Any]:
    return _update(state, _existing(state, breakpoint_id, job_id=job_id), patch)


@router.delete(
    "/jobs/{job_id}/breakpoints/{breakpoint_id}",
    status_code=204,
    summary="Remove a job's breakpoint",
)
def delete_job_breakpoint(
    job_id: str, breakpoint_id: str, state: ServerState = Depends(server)
) -> Response:
    _existing(state, breakpoint_id, job_id=job_id)
    state.breakpoints.remove(breakpoint_id)
    return Response(status_code=204)


@router.put(
    "/workers/{worker_id}/breakpoints/{breakpoint_id}",
    summary="Enable or disable a breakpoint (stock route)",
)
def update_worker_breakpoint(
    worker_id: str,
    breakpoint_id: str,
    patch: BreakpointPatch,
    state: ServerState = Depends(server),
) -> dict[str, Any]:
    body = _update(state, _existing(state, breakpoint_id), patch)
    return {
        "breakpoint_id": breakpoint_id,
        "enabled": body["enabled"],
        "updated_at": body["updated_at"],
    }
