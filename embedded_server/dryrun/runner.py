"""One dry run, from a checked request to the response body.

Everything here blocks (routine instances are created, the history is read
and, with ``execute``, the flow runs), so callers on an event loop run
:func:`perform` in a worker thread.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from embedded_server.dryrun.analysis import check, default_slot, predict_path
from embedded_server.dryrun.estimate import estimate_duration
from embedded_server.dryrun.execution import (
    outputs,
    routine_errors,
    run_error,
    taken_path,
    trace_entries,
)
from embedded_server.dryrun.graph import FlowGraph, Issue, build_graph, depths_from
from embedded_server.dryrun.inputs import InputDeclaration, declared_inputs
from embedded_server.engine.catalog import FlowSpec
from embedded_server.engine.scheduler import Engine, SubmitError
from embedded_server.errors import NotFound
from embedded_server.store.jobs import JobStore

logger = logging.getLogger(__name__)

EXECUTION_WARNING = (
    "The routines ran for real, with their side effects (files written, "
    "requests sent, records changed). Only the job itself was not stored in "
    "the history or published as events."
)


@dataclass(frozen=True)
class DryRunRequest:
    """A validated dry-run request; ``timeout`` is in seconds."""

    flow_id: str
    entry_routine_id: str
    entry_slot: str | None
    entry_params: dict[str, Any]
    timeout: float
    execute: bool


def perform(engine: Engine, jobs: JobStore, request: DryRunRequest) -> dict[str, Any]:
    """Check, predict and estimate the run and, with ``execute``, run it.

    Raises:
        NotFound: unknown flow, entry routine or entry slot.
    """
    flow = _flow(engine, request.flow_id)
    entry = request.entry_routine_id
    if entry not in flow.routines:
        raise NotFound(
            "ROUTINE_NOT_FOUND",
            f"Routine '{entry}' not found in flow '{flow.flow_id}'; "
            f"routines: {', '.join(flow.routines)}",
        )
    graph = build_graph(flow)
    slot, slot_issue = _entry_slot(graph, entry, request.entry_slot)

    errors, warnings = check(graph, entry, slot)
    if slot_issue is not None:
        errors.insert(0, slot_issue)
    body = _prediction(graph, jobs, request, slot, errors, warnings)
    if not request.execute:
        return body

    blocking = [issue for issue in errors if issue.blocking]
    if blocking or slot is None:
        reasons = " ".join(issue.message for issue in blocking)
        body["warning"] = f"Not executed: the flow cannot run as it stands. {reasons}"
        return body
    return _execute(engine, graph, request, slot, body)


def _prediction(
    graph: FlowGraph,
    jobs: JobStore,
    request: DryRunRequest,
    slot: str | None,
    errors: list[Issue],
    warnings: list[Issue],
) -> dict[str, Any]:
    """Build the response body of a dry run that does not execute."""
    entry = request.entry_routine_id
    path = predict_path(graph, entry)
    estimate, basis = estimate_duration(
        jobs.db, request.flow_id, [step["routine_id"] for step in path]
    )
    declaration = (
        declared_inputs(graph.instances[entry])
        if entry in graph.instances
        else InputDeclaration((), ())
    )
    missing = declaration.missing(request.entry_params)

    result = {
        "entry_routine_id": entry,
        "entry_slot": slot,
        "execution_path": path,
        "predicted_path": path,
        "not_reached": [],
        "estimated_duration": estimate,
        "estimate_basis": basis,
        "validation_errors": [issue.to_json() for issue in errors],
        "warnings": [issue.to_json() for issue in warnings],
        "missing_inputs": missing,
        "inputs_declared": declaration.declared,
        "required_inputs": list(declaration.required),
        "inputs_declared_by": list(declaration.sources),
        "outputs": None,
        "error": None,
        "routine_errors": [],
        "trace": [],
        "trace_total": 0,
        "duration_ms": None,
    }
    return {
        "dry_run_id": f"dry-run-{uuid.uuid4()}",
        "status": "failed" if errors or missing else "completed",
        "executed": False,
        "warning": None,
        "result": result,
    }


def _flow(engine: Engine, flow_id: str) -> FlowSpec:
    flow = engine.catalog.get(flow_id)
    if flow is None:
        known = ", ".join(f.flow_id for f in engine.catalog.flows()) or "none"
        raise NotFound(
            "FLOW_NOT_FOUND", f"Flow '{flow_id}' not found; loaded flows: {known}"
        )
    return flow


def _entry_slot(
    graph: FlowGraph, entry: str, requested: str | None
) -> tuple[str | None, Issue | None]:
    if requested is None:
        return default_slot(graph, entry)
    if requested not in graph.slots[entry]:
        raise NotFound(
            "SLOT_NOT_FOUND",
            f"Slot '{requested}' not found in routine '{entry}'; "
            f"slots: {', '.join(graph.slots[entry]) or 'none'}",
        )
    return requested, None


def _execute(
    engine: Engine,
    graph: FlowGraph,
    request: DryRunRequest,
    slot: str,
    body: dict[str, Any],
) -> dict[str, Any]:
    """Run the flow in a throwaway job and fill in what it did."""
    result = body["result"]
    started = time.perf_counter()
    try:
        run, finished = engine.run_throwaway(
            request.flow_id,
            request.entry_routine_id,
            slot,
            request.entry_params,
            timeout=request.timeout,
        )
    except SubmitError as exc:
        # The flow changed between the checks above and the start of the run.
        raise NotFound(exc.code, str(exc)) from exc
    except Exception as exc:
        # Creating the routines runs their code, which may raise anything.
        logger.exception("Dry run of flow %s could not start", request.flow_id)
        body.update(
            status="failed",
            warning="Not executed: the run could not start; see result.error",
        )
        result["error"] = {
            "status": "failed",
            "message": f"The run could not start: {type(exc).__name__}: {exc}",
            "failed_routine": None,
            "traceback": None,
        }
        return body
    elapsed_ms = round((time.perf_counter() - started) * 1000, 3)

    path_taken = taken_path(run, depths_from(graph, request.entry_routine_id))
    started_ids = {step["routine_id"] for step in path_taken}
    if not finished:
        status = "timeout"
    else:
        status = "completed" if run.record.status == "completed" else "failed"
    body.update(
        dry_run_id=run.job_id, status=status, executed=True, warning=EXECUTION_WARNING
    )
    result.update(
        execution_path=path_taken,
        not_reached=[
            step["routine_id"]
            for step in result["predicted_path"]
            if step["routine_id"] not in started_ids
        ],
        outputs=outputs(run),
        error=run_error(run),
        routine_errors=routine_errors(run),
        duration_ms=elapsed_ms,
    )
    result["trace"], result["trace_total"] = trace_entries(run)
    logger.info(
        "Dry run %s of flow %s from %s.%s ended %s after %.1f ms",
        run.job_id,
        request.flow_id,
        request.entry_routine_id,
        slot,
        status,
        elapsed_ms,
    )
    return body
