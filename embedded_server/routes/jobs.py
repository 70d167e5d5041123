"""Job routes: submit, list, detail, trace, logs, output, data, cancel and wait."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field, field_validator

from embedded_server.engine.run import JobRun
from embedded_server.engine.scheduler import SubmitError
from embedded_server.errors import ApiError, Conflict, NotFound, validation_error
from embedded_server.routes.deps import ServerState, json_response, server
from embedded_server.routes.timeparse import parse_timestamp
from embedded_server.store.jobs import InvalidCursor, JobFilter
from embedded_server.store.records import (
    DETAIL_FIELDS,
    JOB_STATUSES,
    SUMMARY_FIELDS,
    TERMINAL_STATUSES,
    JobRecord,
    iso,
)

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])

LIST_PARAMS = frozenset(
    {
        "flow_id",
        "status",
        "from",
        "to",
        "limit",
        "offset",
        "cursor",
        "fields",
        "worker_id",
    }
)


class JobSubmitRequest(BaseModel):
    """The body of ``POST /api/v1/jobs``, as the stock server takes it."""

    flow_id: str = Field(min_length=1, max_length=500)
    routine_id: str = Field(min_length=1, max_length=500)
    slot_name: str = Field(min_length=1, max_length=500)
    data: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    worker_id: str | None = Field(default=None, max_length=500)
    job_id: str | None = Field(default=None, min_length=1, max_length=200)
    idempotency_key: str | None = Field(default=None, max_length=500)

    @field_validator("data", "metadata")
    @classmethod
    def _finite_numbers(cls, value: Any) -> Any:
        if _has_non_finite(value):
            raise ValueError("NaN and Infinity are not valid JSON numbers; send null or a string")
        return value


def _has_non_finite(value: Any, depth: int = 0) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if depth > 100:
        return False
    if isinstance(value, dict):
        return any(_has_non_finite(item, depth + 1) for item in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(item, depth + 1) for item in value)
    return False


# -- helpers ------------------------------------------------------------------


def _record(state: ServerState, job_id: str) -> tuple[JobRecord, JobRun | None]:
    run = state.engine.active_run(job_id)
    if run is not None:
        return run.record, run
    record = state.jobs.get(job_id)
    if record is None:
        raise NotFound("JOB_NOT_FOUND", f"Job '{job_id}' not found")
    return record, None


def _detail(record: JobRecord, run: JobRun | None) -> dict[str, Any]:
    body = record.detail()
    if run is not None:
        body["data"] = dict(run.job_context.data)
    return body


def _parse_fields(value: str | None, allowed: tuple[str, ...]) -> list[str] | None:
    if value is None:
        return None
    fields = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in fields if name not in allowed]
    if unknown or not fields:
        raise validation_error(
            ["query", "fields"],
            f"unknown field(s) {', '.join(unknown) or '(none given)'}; allowed: {', '.join(allowed)}",
        )
    return fields


def _trim(body: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    return body if fields is None else {name: body.get(name) for name in fields}


def _trace_entry(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "timestamp": iso(entry["ts"]),
        "routine_id": entry["routine_id"],
        "action": entry["action"],
        "details": entry["details"],
    }


def _trace(
    state: ServerState, job_id: str, limit: int, offset: int
) -> tuple[list, int]:
    record, run = _record(state, job_id)
    if run is not None:
        entries = list(run.trace)
        return [_trace_entry(e) for e in entries[offset : offset + limit]], len(entries)
    entries, total = state.jobs.trace(record.job_id, limit, offset)
    return [_trace_entry(e) for e in entries], total


# -- routes -------------------------------------------------------------------


@router.post(
    "", status_code=201, summary="Start a job by posting data to an entry slot"
)
async def submit(body: JobSubmitRequest, state: ServerState = Depends(server)) -> Response:
    # Async on purpose: starting a job takes well under a millisecond, less
    # than the hop to the thread pool that a sync route would cost.
    try:
        record = state.engine.submit(
            body.flow_id,
            body.routine_id,
            body.slot_name,
            body.data,
            metadata=body.metadata,
            worker_id=body.worker_id,
            job_id=body.job_id,
        )
    except SubmitError as exc:
        status = 409 if exc.code == "CONFLICT" else 404
        raise ApiError(status, exc.code, str(exc)) from exc
    run = state.engine.active_run(record.job_id)
    return json_response(_detail(record, run), status_code=201)


# Offsets up to this many rows are read on the event loop: such a page costs
# about a millisecond, less than the hop to a worker thread. Deeper offsets
# scan the index row by row and go to a worker thread.
INLINE_OFFSET = 5_000


@router.get("", summary="List jobs, filtered and paged, newest first")
async def list_jobs(
    request: Request,
    flow_id: str | None = None,
    status: str | None = None,
    created_from: str | None = Query(
        None, alias="from", description="ISO 8601, inclusive"
    ),
    created_to: str | None = Query(None, alias="to", description="ISO 8601, exclusive"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    cursor: str | None = None,
    fields: str | None = None,
    worker_id: str | None = None,
) -> Response:
    state: ServerState = request.app.state.server
    unknown = sorted(set(request.query_params) - LIST_PARAMS)
    if unknown:
        raise validation_error(
            ["query", unknown[0]],
            f"unknown parameter(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(LIST_PARAMS))}",
        )
    if status is not None and status not in JOB_STATUSES:
        raise validation_error(
            ["query", "status"],
            f"{status!r} is not a job status; allowed: {', '.join(JOB_STATUSES)}",
            kind="enum",
        )
    start = parse_timestamp("from", created_from) if created_from else None
    end = parse_timestamp("to", created_to) if created_to else None
    if start is not None and end is not None and start > end:
        raise validation_error(
            ["query", "from"], "'from' is after 'to'; the range is [from, to)"
        )
    selected = _parse_fields(fields, SUMMARY_FIELDS)

    where = JobFilter(flow_id, status, start, end, worker_id)

    def read_page() -> dict[str, Any]:
        try:
            jobs, next_cursor = state.jobs.page(where, limit=limit, offset=offset, cursor=cursor)
        except InvalidCursor as exc:
            raise validation_error(["query", "cursor"], str(exc)) from exc
        return {
            "jobs": [_trim(job, selected) for job in jobs],
            "total": state.jobs.count(where),
            "limit": limit,
            "offset": 0 if cursor else offset,
            "next_cursor": next_cursor,
        }

    if offset <= INLINE_OFFSET or cursor is not None:
        return json_response(read_page())
    return json_response(await asyncio.to_thread(read_page))


@router.get("/{job_id}", summary="One job in full")
def get_job(
    job_id: str, fields: str | None = None, state: ServerState = Depends(server)
) -> dict[str, Any]:
    selected = _parse_fields(fields, DETAIL_FIELDS)
    record, run = _record(state, job_id)
    return _trim(_detail(record, run), selected)


@router.get("/{job_id}/status", summary="A job's status")
def get_status(job_id: str, state: ServerState = Depends(server)) -> dict[str, Any]:
    record, _ = _record(state, job_id)
    return {
        "job_id": record.job_id,
        "worker_id": record.worker_id,
        "status": record.status,
        "flow_id": record.flow_id,
    }


@router.get("/{job_id}/trace", summary="What the job's routines did, in order")
def get_trace(
    job_id: str,
    limit: int = Query(10_000, ge=1, le=100_000),
    offset: int = Query(0, ge=0),
    state: ServerState = Depends(server),
) -> dict[str, Any]:
    entries, total = _trace(state, job_id, limit, offset)
    return {"job_id": job_id, "trace_log": entries, "total_entries": total}


@router.get("/{job_id}/logs", summary="The job's trace, in the stock logs shape")
def get_logs(
    job_id: str,
    limit: int = Query(10_000, ge=1, le=100_000),
    offset: int = Query(0, ge=0),
    state: ServerState = Depends(server),
) -> dict[str, Any]:
    entries, total = _trace(state, job_id, limit, offset)
    return {"job_id": job_id, "logs": entries, "total": total}


@router.get("/{job_id}/output", summary="What the job's routines printed")
def get_output(
    job_id: str, incremental: bool = False, state: ServerState = Depends(server)
) -> dict[str, Any]:
    # NOTE: `incremental` is accepted for stock clients; the full output is
    # always returned because it is kept, not consumed, here.
    record, run = _record(state, job_id)
    if run is not None:
        output, truncated = run.output_text()
    else:
        output, truncated = record.output, record.output_truncated
    return {
        "job_id": job_id,
        "output": output,
        "is_complete": record.status in TERMINAL_STATUSES,
        "truncated": truncated,
    }


@router.get(
    "/{job_id}/data", summary="What the job's routines stored with job.set_data"
)
def get_data(job_id: str, state: ServerState = Depends(server)) -> dict[str, Any]:
    record, run = _record(state, job_id)
    return {"job_id": job_id, "data": _detail(record, run)["data"]}


@router.post("/{job_id}/cancel", summary="Cancel a job that has not ended")
def cancel(job_id: str, state: ServerState = Depends(server)) -> dict[str, Any]:
    record = state.engine.cancel(job_id)
    if record is None:
        existing, _ = _record(state, job_id)
        raise Conflict(
            "JOB_NOT_CANCELLABLE",
            f"Job '{job_id}' already ended as {existing.status}; only running or "
            "paused jobs can be cancelled",
            {"status": existing.status},
        )
    return record.detail()


@router.post("/{job_id}/wait", summary="Wait until the job ends, up to a timeout")
async def wait(
    job_id: str,
    timeout: float = Query(60, ge=0.1, le=3600),  # noqa: ASYNC109
    state: ServerState = Depends(server),
) -> dict[str, Any]:
    started = time.monotonic()
    run = state.engine.active_run(job_id)
    if run is None:
        record = await asyncio.to_thread(state.jobs.get, job_id)
        if record is None:
            raise NotFound("JOB_NOT_FOUND", f"Job '{job_id}' not found")
        return {
            "status": "already_complete",
            "job_id": job_id,
            "final_status": record.status,
            "waited_seconds": 0.0,
        }
    finished = await asyncio.to_thread(run.done.wait, timeout)
    waited = round(time.monotonic() - started, 3)
    body = {
        "status": "completed" if finished else "timeout",
        "job_id": job_id,
        "final_status": run.record.status,
        "waited_seconds": waited,
    }
    if not finished:
        body["message"] = f"Job did not end within {timeout:g} seconds"
    return body
