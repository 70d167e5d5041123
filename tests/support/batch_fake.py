"""The in-memory fake server with batch routes, job deletes and request gates.

``BatchFakeServer`` adds ``POST /jobs/batch`` (as the embedded server has
it) and ``DELETE /jobs/{job_id}`` to FakeServer. ``stock=True`` makes it
look like a stock Routilux server: no capabilities and none of those routes.
A gate (an unset ``asyncio.Event``) keeps the matching requests waiting until it is set,
so tests can stop a batch while requests are in flight.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.fake_api import FakeServer, _error

ENDED = ("completed", "failed", "cancelled")


@dataclass
class BatchFakeServer(FakeServer):
    """FakeServer with batch and delete routes, request counts and gates."""

    stock: bool = False
    batch_route: bool = True
    batch_requests: list[dict[str, Any]] = field(default_factory=list)
    single_requests: list[tuple[str, str]] = field(default_factory=list)
    batch_gate: asyncio.Event | None = None
    single_gate: asyncio.Event | None = None
    in_flight: int = 0
    max_in_flight: int = 0

    def _discovery(self) -> dict[str, Any]:
        body = super()._discovery()
        if self.stock:
            body.pop("capabilities")
            body["version"] = "1.1.0"
        return body

    async def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        parts = [part for part in path.split("/") if part]
        if parts == ["jobs", "batch"] and request.method == "POST":
            if self.stock or not self.batch_route:
                return _error(404, "NOT_FOUND", f"No route POST {path}")
            return await self._batch(json.loads(request.content))
        is_single = (
            len(parts) >= 2
            and parts[0] == "jobs"
            and (request.method == "DELETE" or parts[2:] == ["cancel"])
        )
        if request.method == "POST" and parts == ["jobs"]:
            is_single = True
        if not is_single:
            return await super().handle(request)
        self.single_requests.append((request.method, path))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.single_gate is not None:
                await self.single_gate.wait()
            if request.method == "DELETE":
                return self._delete(parts[1])
            return await super().handle(request)
        finally:
            self.in_flight -= 1

    def _delete(self, job_id: str) -> httpx.Response:
        if self.stock:
            return _error(404, "NOT_FOUND", f"No route DELETE /jobs/{job_id}")
        job = self.jobs.get(job_id)
        if job is None:
            return _error(404, "JOB_NOT_FOUND", f"Job '{job_id}' not found")
        if job["status"] not in ENDED:
            return _error(409, "CONFLICT", f"Job '{job_id}' is {job['status']}")
        del self.jobs[job_id]
        return httpx.Response(204)

    async def _batch(self, body: dict[str, Any]) -> httpx.Response:
        self.batch_requests.append(body)
        if self.batch_gate is not None:
            await self.batch_gate.wait()
        if "job_ids" in body:
            ids = list(dict.fromkeys(body["job_ids"]))
        else:
            ids = [
                job["job_id"]
                for job in self.jobs.values()
                if self._matches(job, body.get("filter", {}))
            ]
        succeeded, failed = 0, []
        for job_id in ids:
            job = self.jobs.get(job_id)
            if job is None:
                failed.append(
                    {
                        "job_id": job_id,
                        "reason": "not_found",
                        "status": None,
                        "message": f"Job '{job_id}' not found",
                    }
                )
            elif body["action"] == "cancel" and job["status"] in ENDED:
                failed.append(
                    {
                        "job_id": job_id,
                        "reason": "already_finished",
                        "status": job["status"],
                        "message": "already ended",
                    }
                )
            elif body["action"] == "delete" and job["status"] not in ENDED:
                failed.append(
                    {
                        "job_id": job_id,
                        "reason": "not_finished",
                        "status": job["status"],
                        "message": "still running",
                    }
                )
            elif body["action"] == "cancel":
                job["status"] = "cancelled"
                succeeded += 1
            else:
                del self.jobs[job_id]
                succeeded += 1
        return httpx.Response(
            200,
            json={
                "action": body["action"],
                "matched": len(ids),
                "succeeded": succeeded,
                "failed": failed,
            },
        )
