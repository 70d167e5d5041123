"""Flow version history: every distinct DSL a flow has run, newest first."""

from __future__ import annotations

import json
from typing import Any

import yaml
from fastapi import APIRouter, Depends, Path, Query

from embedded_server.errors import ApiError, NotFound
from embedded_server.routes.deps import ServerState, server
from embedded_server.store.versions import FlowVersionStore

router = APIRouter(prefix="/api/v1/flows", tags=["flows"])


def _store(state: ServerState) -> FlowVersionStore:
    store = state.catalog.versions
    if store is None:
        raise ApiError(503, "NOT_READY", "Flow versions are not recorded yet; retry")
    return store


def _current(state: ServerState, flow_id: str) -> int | None:
    flow = state.catalog.get(flow_id)
    return flow.version if flow is not None else None


def _flow_not_found(state: ServerState, flow_id: str) -> NotFound:
    known = ", ".join(f.flow_id for f in state.catalog.flows()) or "none"
    return NotFound(
        "FLOW_NOT_FOUND",
        f"Flow '{flow_id}' not found and has no stored versions; loaded flows: {known}",
    )


@router.get("/{flow_id}/versions", summary="The flow's stored versions, newest first")
def list_versions(flow_id: str, state: ServerState = Depends(server)) -> dict[str, Any]:
    versions = _store(state).list(flow_id)
    current = _current(state, flow_id)
    if not versions and current is None:
        raise _flow_not_found(state, flow_id)
    return {
        "flow_id": flow_id,
        "current_version": current,
        "versions": [version.summary(current) for version in versions],
        "total": len(versions),
    }


@router.get("/{flow_id}/versions/{version}", summary="One stored version with its DSL")
def get_version(
    flow_id: str,
    version: int = Path(ge=1),
    format: str = Query("yaml", pattern="^(yaml|json)$"),
    state: ServerState = Depends(server),
) -> dict[str, Any]:
    stored = _store(state).get(flow_id, version)
    current = _current(state, flow_id)
    if stored is None:
        if current is None and not _store(state).list(flow_id):
            raise _flow_not_found(state, flow_id)
        raise NotFound(
            "VERSION_NOT_FOUND",
            f"Flow '{flow_id}' has no version {version}; "
            f"list them with GET /api/v1/flows/{flow_id}/versions",
        )
    if format == "json":
        text = json.dumps(stored.dsl, indent=2, ensure_ascii=False)
    else:
        text = yaml.safe_dump(stored.dsl, sort_keys=False, allow_unicode=True)
    return {
        "flow_id": flow_id,
        **stored.summary(current),
        "format": format,
        "dsl": text,
    }
