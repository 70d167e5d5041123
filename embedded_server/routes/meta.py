"""Discovery, health and load diagnostics."""

from __future__ import annotations

import time
from importlib import metadata
from typing import Any

from fastapi import APIRouter, Depends

from embedded_server import __version__
from embedded_server.routes.deps import ServerState, server
from embedded_server.store.records import iso

router = APIRouter()

SERVER_NAME = "overseer-embedded-server"
CAPABILITIES = (
    "cursor",
    "time_filter",
    "fields",
    "event_filter",
    "event_catch_up",
    "cancel",
    "job_history",
    "flow_entry_points",
    "dry_run",
    "debug",
    "flow_breakpoints",
)


def _routilux_version() -> str:
    try:
        return metadata.version("routilux")
    except metadata.PackageNotFoundError:
        return "unknown"


@router.get("/", include_in_schema=False)
@router.get("/api/v1/", summary="Discover the server and what it supports")
@router.get("/api/v1", include_in_schema=False)
def discovery(state: ServerState = Depends(server)) -> dict[str, Any]:
    capabilities = list(CAPABILITIES)
    if state.settings.allow_evaluate:
        capabilities.append("evaluate")
    return {
        "name": SERVER_NAME,
        "version": __version__,
        "api_version": "v1",
        "description": "Routilux server with job history and a debugger API",
        "routilux_version": _routilux_version(),
        "server_time": iso(time.time()),
        "capabilities": capabilities,
        "endpoints": {
            "v1": "/api/v1",
            "health": "/api/v1/health/live",
            "docs": "/docs",
        },
    }


@router.get("/api/v1/health/live", summary="Liveness probe")
def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/api/v1/health/ready", summary="Readiness probe")
def ready(state: ServerState = Depends(server)) -> dict[str, Any]:
    return {
        "status": "ready",
        "flow_count": len(state.catalog.flows()),
        "active_jobs": state.engine.active_count(),
        "runtime": {"shutdown": False, "active_workers": state.engine.active_count()},
    }


@router.get("/api/v1/health/stats", summary="Server statistics")
def stats(state: ServerState = Depends(server)) -> dict[str, Any]:
    return {
        "status": "ok",
        "uptime_s": round(time.time() - state.started_at, 3),
        "runtime": {"shutdown": False, "active_jobs": state.engine.active_count()},
        "last_event_seq": state.bus.last_seq,
    }


@router.get("/api/v1/load-errors", summary="Files that failed to load, with the reason")
def load_errors(state: ServerState = Depends(server)) -> dict[str, Any]:
    return {"load_errors": [error.to_json() for error in state.catalog.load_errors]}
