"""Flow routes: list, detail, DSL and validation, in the stock shapes."""

from __future__ import annotations

import json
from typing import Any

import yaml
from fastapi import APIRouter, Depends, Query

from embedded_server.engine.catalog import FlowSpec
from embedded_server.errors import NotFound
from embedded_server.routes.deps import ServerState, server

router = APIRouter(prefix="/api/v1/flows", tags=["flows"])


def _flow(state: ServerState, flow_id: str) -> FlowSpec:
    flow = state.catalog.get(flow_id)
    if flow is None:
        known = ", ".join(f.flow_id for f in state.catalog.flows()) or "none"
        raise NotFound(
            "FLOW_NOT_FOUND", f"Flow '{flow_id}' not found; loaded flows: {known}"
        )
    return flow


@router.get("", summary="List flows, with files that failed to load")
def list_flows(state: ServerState = Depends(server)) -> dict[str, Any]:
    flows = [flow.to_json() for flow in state.catalog.flows()]
    return {
        "flows": flows,
        "total": len(flows),
        "load_errors": [error.to_json() for error in state.catalog.load_errors],
    }


@router.get(
    "/{flow_id}", summary="One flow: routines, slots, events, connections, entry points"
)
def get_flow(flow_id: str, state: ServerState = Depends(server)) -> dict[str, Any]:
    return _flow(state, flow_id).to_json()


@router.get("/{flow_id}/routines", summary="The flow's routines")
def get_routines(flow_id: str, state: ServerState = Depends(server)) -> dict[str, Any]:
    return _flow(state, flow_id).to_json()["routines"]


@router.get("/{flow_id}/connections", summary="The flow's connections")
def get_connections(
    flow_id: str, state: ServerState = Depends(server)
) -> list[dict[str, Any]]:
    return _flow(state, flow_id).to_json()["connections"]


@router.get("/{flow_id}/dsl", summary="The flow's DSL as YAML or JSON")
def get_dsl(
    flow_id: str,
    format: str = Query("yaml", pattern="^(yaml|json)$"),
    state: ServerState = Depends(server),
) -> dict[str, str]:
    dsl = _flow(state, flow_id).dsl
    if format == "json":
        text = json.dumps(dsl, indent=2, ensure_ascii=False)
    else:
        text = yaml.safe_dump(dsl, sort_keys=False, allow_unicode=True)
    return {"format": format, "dsl": text}


@router.post("/{flow_id}/validate", summary="Check the flow's structure")
def validate(flow_id: str, state: ServerState = Depends(server)) -> dict[str, Any]:
    flow = _flow(state, flow_id)
    warnings = []
    connected = {(c.source_routine, c.source_event) for c in flow.connections}
    fed = {(c.target_routine, c.target_slot) for c in flow.connections}
    entries = set(flow.entry_routines)
    for rid, routine in flow.routines.items():
        for slot in routine.slots:
            if rid not in entries and (rid, slot) not in fed:
                warnings.append(f"slot '{rid}.{slot}' has no incoming connection")
        for event in routine.events:
            if (rid, event) not in connected:
                warnings.append(f"event '{rid}.{event}' is not connected")
    return {"valid": True, "issues": warnings, "errors": [], "warnings": warnings}
