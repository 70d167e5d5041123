"""Shared lookups for route handlers: the server's state and common checks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request, Response

if TYPE_CHECKING:
    from embedded_server.debug.breakpoints import BreakpointStore
    from embedded_server.debug.controller import Debugger
    from embedded_server.engine.catalog import FlowCatalog
    from embedded_server.engine.scheduler import Engine
    from embedded_server.events.bus import EventBus
    from embedded_server.settings import Settings
    from embedded_server.store.jobs import JobStore


@dataclass
class ServerState:
    """The server's long-lived parts, built once in the app's lifespan."""

    settings: Settings
    catalog: FlowCatalog
    jobs: JobStore
    engine: Engine
    bus: EventBus
    started_at: float
    breakpoints: BreakpointStore
    debugger: Debugger


def server(request: Request) -> ServerState:
    return request.app.state.server


def json_response(body: Any, status_code: int = 200) -> Response:
    """Encode ``body`` once, skipping FastAPI's per-field serialisation on hot routes."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(text.encode(), status_code=status_code, media_type="application/json")
