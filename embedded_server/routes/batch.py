"""``POST /api/v1/jobs/batch``: cancel or delete many jobs in one request."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, model_validator

from embedded_server.engine.batch import cancel_jobs, delete_jobs
from embedded_server.errors import ApiError, validation_error
from embedded_server.routes.deps import ServerState, server
from embedded_server.routes.timeparse import parse_timestamp
from embedded_server.store.batch import Targets
from embedded_server.store.jobs import JobFilter
from embedded_server.store.records import JOB_STATUSES

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])

MAX_JOB_IDS = 100_000


class BatchFilter(BaseModel):
    """The jobs-list filter, as a JSON object; an empty object matches every job."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    flow_id: str | None = Field(default=None, min_length=1, max_length=500)
    status: str | None = None
    created_from: str | None = Field(default=None, alias="from")
    created_to: str | None = Field(default=None, alias="to")
    worker_id: str | None = Field(default=None, min_length=1, max_length=500)


class BatchRequest(BaseModel):
    """The body of ``POST /api/v1/jobs/batch``: an action and either ids or a filter."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["cancel", "delete"]
    job_ids: list[str] | None = Field(
        default=None, min_length=1, max_length=MAX_JOB_IDS
    )
    filter: BatchFilter | None = None

    @model_validator(mode="after")
    def _one_selection(self) -> BatchRequest:
        if (self.job_ids is None) == (self.filter is None):
            raise ValueError("give either 'job_ids' or 'filter', not both or neither")
        return self


def job_filter(body: BatchFilter) -> JobFilter:
    """Check a filter the way ``GET /api/v1/jobs`` checks its query, and build it.

    Raises:
        ApiError: 422 naming the field, in ``body.filter``.
    """
    if body.status is not None and body.status not in JOB_STATUSES:
        raise validation_error(
            ["body", "filter", "status"],
            f"{body.status!r} is not a job status; allowed: {', '.join(JOB_STATUSES)}",
            kind="enum",
        )
    start = _timestamp("from", body.created_from)
    end = _timestamp("to", body.created_to)
    if start is not None and end is not None and start > end:
        raise validation_error(
            ["body", "filter", "from"], "'from' is after 'to'; the range is [from, to)"
        )
    return JobFilter(body.flow_id, body.status, start, end, body.worker_id)


def _timestamp(name: str, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_timestamp(name, value)
    except ApiError as exc:
        # parse_timestamp names a query parameter; here the value is in the body.
        message = exc.details["errors"][0]["msg"] if exc.details else exc.message
        raise validation_error(
            ["body", "filter", name], message, kind="datetime_parsing"
        ) from None


@router.post("/batch", summary="Cancel or delete many jobs, by id or by filter")
def batch(body: BatchRequest, state: ServerState = Depends(server)) -> dict[str, Any]:
    if body.job_ids is not None:
        targets = Targets(job_ids=tuple(dict.fromkeys(body.job_ids)))
    else:
        assert body.filter is not None
        targets = Targets(where=job_filter(body.filter))
    if body.action == "cancel":
        outcome = cancel_jobs(state.engine, targets)
    else:
        outcome = delete_jobs(state.engine, targets)
    return outcome.to_json()
