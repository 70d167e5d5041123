"""Worker and routine-catalogue routes, in the stock server's shapes."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from routilux.tools.factory.factory import ObjectFactory

from embedded_server.errors import Conflict, NotFound
from embedded_server.routes.deps import ServerState, server

router = APIRouter(prefix="/api/v1", tags=["workers"])


class WorkerCreateRequest(BaseModel):
    flow_id: str = Field(min_length=1, max_length=500)
    worker_id: str | None = Field(default=None, min_length=1, max_length=200)


@router.post("/workers", status_code=201, summary="Create a worker for a flow")
def create_worker(
    body: WorkerCreateRequest, state: ServerState = Depends(server)
) -> dict[str, Any]:
    if state.catalog.get(body.flow_id) is None:
        raise NotFound("FLOW_NOT_FOUND", f"Flow '{body.flow_id}' not found")
    try:
        worker = state.engine.workers.create(body.flow_id, body.worker_id)
    except KeyError:
        raise Conflict(
            "WORKER_ALREADY_EXISTS", f"Worker '{body.worker_id}' already exists"
        ) from None
    return worker.to_json()


@router.get("/workers", summary="List workers")
def list_workers(
    flow_id: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    state: ServerState = Depends(server),
) -> dict[str, Any]:
    workers = state.engine.workers.list(flow_id)
    page = workers[offset : offset + limit]
    return {
        "workers": [w.to_json() for w in page],
        "total": len(workers),
        "limit": limit,
        "offset": offset,
    }


@router.get("/workers/{worker_id}", summary="One worker")
def get_worker(worker_id: str, state: ServerState = Depends(server)) -> dict[str, Any]:
    worker = state.engine.workers.get(worker_id)
    if worker is None:
        raise NotFound("WORKER_NOT_FOUND", f"Worker '{worker_id}' not found")
    return worker.to_json()


@router.delete("/workers/{worker_id}", status_code=204, summary="Forget a worker")
def delete_worker(worker_id: str, state: ServerState = Depends(server)) -> Response:
    if not state.engine.workers.remove(worker_id):
        raise NotFound("WORKER_NOT_FOUND", f"Worker '{worker_id}' not found")
    return Response(status_code=204)


def _describe(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    prototype = entry["prototype"]
    metadata = entry.get("metadata")
    return {
        "name": name,
        "type": "routine",
        "object_type": entry["type"],
        "class_name": getattr(prototype, "__name__", type(prototype).__name__),
        "description": getattr(metadata, "description", "") or "",
        "docstring": inspect.getdoc(prototype) or "",
    }


@router.get("/factory/objects", summary="Routine classes the flows can use")
def list_objects() -> dict[str, Any]:
    registry = ObjectFactory.get_instance()._registry
    objects = [_describe(name, entry) for name, entry in sorted(registry.items())]
    return {"objects": objects, "total": len(objects)}


@router.get("/factory/objects/{name}", summary="One routine class")
def get_object(name: str) -> dict[str, Any]:
    entry = ObjectFactory.get_instance()._registry.get(name)
    if entry is None:
        raise NotFound("OBJECT_NOT_FOUND", f"Routine class '{name}' is not registered")
    return _describe(name, entry)


@router.get(
    "/factory/objects/{name}/interface", summary="A routine class's slots and events"
)
def get_interface(name: str) -> dict[str, Any]:
    factory = ObjectFactory.get_instance()
    if name not in factory._registry:
        raise NotFound("OBJECT_NOT_FOUND", f"Routine class '{name}' is not registered")
    sample = factory.create(name)
    return {
        "name": name,
        "slots": [{"name": slot} for slot in sample.slots],
        "events": [
            {"name": event, "output_params": list(e.output_params or [])}
            for event, e in sample.events.items()
        ],
        "activation_policy": sample.get_activation_policy_info(),
        "config": sample.config(),
    }
