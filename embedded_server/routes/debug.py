"""Debug routes for one job: session, resume and steps, pause, variables, call stack, evaluate."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from embedded_server.debug import conditions
from embedded_server.debug.controller import NotPaused
from embedded_server.debug.frames import Frame
from embedded_server.debug.session import CONTINUE, STEP_INTO, STEP_OUT, STEP_OVER
from embedded_server.engine.run import JobRun
from embedded_server.errors import ApiError, Conflict, NotFound
from embedded_server.middleware import RateLimiter
from embedded_server.routes.deps import ServerState, server

router = APIRouter(prefix="/api/v1/jobs/{job_id}/debug", tags=["debug"])


def _evaluate_limiter(request: Request, per_minute: int) -> RateLimiter | None:
    # One limiter per application, tighter than the general limit because
    # each evaluation may run up to its time limit; 0 turns it off.
    if per_minute <= 0:
        return None
    limiter = getattr(request.app.state, "evaluate_limiter", None)
    if limiter is None:
        limiter = request.app.state.evaluate_limiter = RateLimiter(per_minute)
    return limiter


class EvaluateBody(BaseModel):
    expression: str = Field(min_length=1, max_length=2000)
    routine_id: str | None = None
    frame_index: int = Field(default=0, ge=0, le=10_000)
    timeout: float = Field(default=1.0, gt=0, le=5.0)


class VariableBody(BaseModel):
    value: Any


def _run(state: ServerState, job_id: str) -> JobRun:
    run = state.engine.active_run(job_id)
    if run is not None:
        return run
    record = state.jobs.get(job_id)
    if record is None:
        raise NotFound("JOB_NOT_FOUND", f"Job '{job_id}' not found")
    raise Conflict(
        "JOB_NOT_RUNNING",
        f"Job '{job_id}' already ended as {record.status}",
        {"status": record.status},
    )


def _paused_frames(state: ServerState, run: JobRun) -> list[Frame]:
    try:
        return state.debugger.frames(run)
    except NotPaused as exc:
        raise Conflict(
            "JOB_NOT_PAUSED",
            f"{exc}; pause it or set a breakpoint first",
            {"status": run.record.status},
        ) from exc


def _frame_json(index: int, frame: Frame) -> dict[str, Any]:
    return {
        "index": index,
        "frame_id": frame.frame_id,
        **frame.describe(),
        "data": conditions.preview(frame.data),
    }


def _session(state: ServerState, run: JobRun) -> dict[str, Any]:
    pause = run.debug.pause
    body: dict[str, Any] = {
        "job_id": run.job_id,
        "status": run.record.status,
        "paused": pause is not None,
        "pause_point": None,
        "step": run.debug.step.mode if run.debug.step else None,
    }
    if pause is not None:
        body.update(
            pause_point=_frame_json(0, pause.frame),
            reason=pause.reason,
            breakpoint_id=pause.breakpoint_id,
            paused_at=pause.since,
        )
    return body


def _resume(state: ServerState, job_id: str, mode: str) -> dict[str, Any]:
    run = _run(state, job_id)
    try:
        state.debugger.resume(run, mode)
    except NotPaused as exc:
        raise Conflict(
            "JOB_NOT_PAUSED", str(exc), {"status": run.record.status}
        ) from exc
    return _session(state, run)


@router.get("/session", summary="Whether the job is paused, and where")
def session(job_id: str, state: ServerState = Depends(server)) -> dict[str, Any]:
    return _session(state, _run(state, job_id))


@router.post("/resume", summary="Continue a paused job")
def resume(job_id: str, state: ServerState = Depends(server)) -> dict[str, Any]:
    return _resume(state, job_id, CONTINUE)


@router.post("/step-over", summary="Run to the next pause point at the same depth")
def step_over(job_id: str, state: ServerState = Depends(server)) -> dict[str, Any]:
    return _resume(state, job_id, STEP_OVER)


@router.post("/step-into", summary="Run to the very next pause point")
def step_into(job_id: str, state: ServerState = Depends(server)) -> dict[str, Any]:
    return _resume(state, job_id, STEP_INTO)


@router.post("/step-out", summary="Finish the current routine's work, then pause")
def step_out(job_id: str, state: ServerState = Depends(server)) -> dict[str, Any]:
    return _resume(state, job_id, STEP_OUT)


@router.post("/pause", summary="Pause a running job at its next pause point")
def pause(job_id: str, state: ServerState = Depends(server)) -> dict[str, Any]:
    run = _run(state, job_id)
    try:
        state.debugger.request_pause(run)
    except NotPaused as exc:
        raise Conflict("JOB_ALREADY_PAUSED", str(exc)) from exc
    return _session(state, run)


@router.get("/variables", summary="Names visible at a frame of the paused job")
def variables(
    job_id: str, frame_index: int = 0, state: ServerState = Depends(server)
) -> dict[str, Any]:
    run = _run(state, job_id)
    frames = _paused_frames(state, run)
    if not 0 <= frame_index < len(frames):
        raise NotFound(
            "FRAME_NOT_FOUND",
            f"Frame {frame_index} not found; the call stack has {len(frames)} frame(s)",
        )
    frame = frames[frame_index]
    editable = state.debugger.editable(frame) if frame_index == 0 else set()
    names = state.debugger.names(run, frame)
    return {
        "job_id": job_id,
        "frame_index": frame_index,
        "variables": [
            {
                "name": name,
                "type": type(value).__name__,
                "value": conditions.preview(value),
                "editable": name in editable,
            }
            for name, value in names.items()
        ],
    }


@router.put("/variables/{name}", summary="Change data in flight before the job goes on")
def set_variable(
    job_id: str, name: str, body: VariableBody, state: ServerState = Depends(server)
) -> dict[str, Any]:
    run = _run(state, job_id)
    _paused_frames(state, run)
    if isinstance(body.value, float) and not math.isfinite(body.value):
        raise ApiError(422, "VALIDATION_ERROR", "Value must be finite JSON")
    try:
        state.debugger.set_variable(run, name, body.value)
    except KeyError as exc:
        raise NotFound("VARIABLE_NOT_FOUND", str(exc.args[0])) from exc
    except ValueError as exc:
        raise ApiError(422, "VALIDATION_ERROR", str(exc)) from exc
    value = state.debugger.names(run, run.debug.pause.frame).get(name)
    return {
        "name": name,
        "type": type(value).__name__,
        "value": conditions.preview(value),
    }


@router.get(
    "/call-stack", summary="The causal chain of the data at the pause, newest first"
)
def call_stack(job_id: str, state: ServerState = Depends(server)) -> dict[str, Any]:
    frames = _paused_frames(state, _run(state, job_id))
    return {
        "job_id": job_id,
        "frames": [_frame_json(i, f) for i, f in enumerate(frames)],
    }


@router.post("/evaluate", summary="Evaluate an expression in a frame of the paused job")
async def evaluate(
    job_id: str,
    body: EvaluateBody,
    request: Request,
    state: ServerState = Depends(server),
) -> dict[str, Any]:
    if not state.settings.allow_evaluate:
        raise ApiError(
            403,
            "EVALUATE_DISABLED",
            "Evaluate is turned off on this server; "
            "start it with --allow-evaluate to turn it on",
        )
    client = request.client.host if request.client else "unknown"
    limiter = _evaluate_limiter(request, state.settings.evaluate_rate_per_minute)
    wait = limiter.take(client) if limiter is not None else 0.0
    if wait > 0:
        retry = str(math.ceil(wait))
        raise ApiError(429, "RATE_LIMITED", f"Too many evaluations; retry after {retry} s",
                       headers={"Retry-After": retry})
    run = _run(state, job_id)
    frames = _paused_frames(state, run)
    if body.frame_index >= len(frames):
        raise NotFound(
            "FRAME_NOT_FOUND",
            f"Frame {body.frame_index} not found; the call "
            f"stack has {len(frames)} frame(s)",
        )
    names = state.debugger.names(run, frames[body.frame_index])
    # The evaluator checks its deadline as it goes, so it may run in any
    # thread; running it off the event loop keeps the server responsive.
    return await asyncio.to_thread(
        conditions.evaluate, body.expression, names, body.timeout
    )
