"""The dry-run route: check a flow from an entry routine, and optionally run it for real."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.exceptions import HTTPException

from embedded_server.dryrun.runner import DryRunRequest, perform
from embedded_server.routes.deps import ServerState, server

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/flows", tags=["flows"])

# Dry runs that execute at the same time. Each occupies a worker thread of the
# event loop's default executor for up to its timeout, and other routes need
# those threads too.
MAX_CONCURRENT_EXECUTIONS = 4
MAX_TIMEOUT_S = 300


class DryRunBody(BaseModel):
    """The body of ``POST /api/v1/flows/{flow_id}/dry-run``."""

    model_config = ConfigDict(extra="forbid")

    entry_routine_id: str = Field(min_length=1, max_length=500)
    entry_slot: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Default: the routine's only slot, else its slot 'input'.",
    )
    entry_params: dict[str, Any] = Field(
        default_factory=dict, description="The data posted to the entry slot."
    )
    timeout: float = Field(
        default=10,
        gt=0,
        le=MAX_TIMEOUT_S,
        allow_inf_nan=False,
        description="Seconds an executed run may take before it is stopped.",
    )
    execute: StrictBool = Field(
        default=False,
        description="Run the flow for real, with its side effects, in a job "
        "that is not stored.",
    )


class _Executions:
    """The count of executing dry runs; read and changed on the event loop only."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0


def _executions(request: Request) -> _Executions:
    executions = getattr(request.app.state, "dry_run_executions", None)
    if executions is None:
        executions = _Executions(MAX_CONCURRENT_EXECUTIONS)
        request.app.state.dry_run_executions = executions
    return executions


@router.post(
    "/{flow_id}/dry-run",
    summary="Check a flow from an entry routine, estimate it and optionally run it",
)
async def dry_run(
    flow_id: str,
    body: DryRunBody,
    request: Request,
    state: ServerState = Depends(server),
) -> dict[str, Any]:
    dry_request = DryRunRequest(
        flow_id=flow_id,
        entry_routine_id=body.entry_routine_id,
        entry_slot=body.entry_slot,
        entry_params=body.entry_params,
        timeout=body.timeout,
        execute=body.execute,
    )
    if not body.execute:
        return await asyncio.to_thread(perform, state.engine, state.jobs, dry_request)

    executions = _executions(request)
    if executions.active >= executions.limit:
        logger.warning(
            "Rejected a dry run of flow %s: %d already executing",
            flow_id,
            executions.active,
        )
        raise HTTPException(
            429,
            detail=f"{executions.active} dry runs are executing, the maximum; "
            "retry when one has ended",
            headers={"Retry-After": "1"},
        )
    executions.active += 1
    try:
        return await asyncio.to_thread(perform, state.engine, state.jobs, dry_request)
    finally:
        executions.active -= 1
