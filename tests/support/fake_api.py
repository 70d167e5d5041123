"""In-memory stand-in for the server's REST API, served through httpx.MockTransport.

It implements the subset of the API the desktop app's models and views use:
discovery, flows, the filtered and paged jobs list (newest first, with a
keyset cursor), job detail, trace, output, submit and cancel.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

BASE_URL = "http://fake.test"
START = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)

DEMO_FLOW = {
    "flow_id": "demo_flow",
    "routines": {
        "reader": {
            "routine_id": "reader",
            "class_name": "Reader",
            "slots": ["input", "control"],
            "events": ["record"],
            "config": {},
        },
        "writer": {
            "routine_id": "writer",
            "class_name": "Writer",
            "slots": ["input"],
            "events": [],
            "config": {},
        },
    },
    "connections": [
        {
            "connection_id": "c0",
            "source_routine": "reader",
            "source_event": "record",
            "target_routine": "writer",
            "target_slot": "input",
        }
    ],
    "entry_routines": ["reader"],
    "description": "Reads records and writes them",
}
OTHER_FLOW = {
    "flow_id": "other_flow",
    "routines": {
        "start": {"routine_id": "start", "slots": ["go"], "events": [], "config": {}}
    },
    "connections": [],
    "entry_routines": ["start"],
}


def iso(value: datetime) -> str:
    """Format like the server: UTC with milliseconds and a Z suffix."""
    text = value.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _error(status: int, code: str, message: str, details: Any = None) -> httpx.Response:
    body = {"code": code, "message": message, "details": details}
    return httpx.Response(status, json={**body, "error": body})


@dataclass
class FakeServer:
    """Jobs and flows kept in memory, served like the embedded server's API.

    Attributes:
        list_gate: When set to an unset event, ``GET /jobs`` waits for it.
        job_requests: Query parameters of every ``GET /jobs``, in order.
        detail_requests: Job id of every ``GET /jobs/{job_id}``, in order.
    """

    flows: list[dict[str, Any]] = field(default_factory=lambda: [DEMO_FLOW, OTHER_FLOW])
    capabilities: tuple[str, ...] = ("cursor", "time_filter", "cancel")
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    list_gate: asyncio.Event | None = None
    job_requests: list[dict[str, str]] = field(default_factory=list)
    detail_requests: list[str] = field(default_factory=list)
    submitted: list[dict[str, Any]] = field(default_factory=list)
    _counter: itertools.count = field(default_factory=itertools.count)

    def transport(self) -> httpx.MockTransport:
        """Return a transport that sends requests to this fake."""
        return httpx.MockTransport(self.handle)

    def add_job(
        self,
        job_id: str | None = None,
        *,
        flow_id: str = "demo_flow",
        status: str = "completed",
        created_at: datetime | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Store a job; without ``created_at`` each job is a second newer."""
        number = next(self._counter)
        created = created_at or START + timedelta(seconds=number)
        job = {
            "job_id": job_id or f"job-{number:05d}",
            "flow_id": flow_id,
            "worker_id": "w1",
            "routine_id": "reader",
            "slot_name": "input",
            "status": status,
            "created_at": iso(created),
            "started_at": iso(created),
            "completed_at": iso(created + timedelta(seconds=1))
            if status != "running"
            else None,
            "duration_ms": 1000.0 if status != "running" else None,
            "error": None,
            "metadata": {},
            "params": {"n": number},
            "data": {},
            "traceback": None,
            "failed_routine": None,
        }
        job.update(extra)
        self.jobs[job["job_id"]] = job
        return job

    def summary(self, job_id: str) -> dict[str, Any]:
        """Return a job as the JobSummary JSON that events carry."""
        job = self.jobs[job_id]
        hidden = {"params", "data", "traceback", "failed_routine"}
        return {key: value for key, value in job.items() if key not in hidden}

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Route one request."""
        path = request.url.path.removeprefix("/api/v1")
        parts = [part for part in path.split("/") if part]
        if request.method == "GET" and not parts:
            return httpx.Response(200, json=self._discovery())
        if parts == ["flows"]:
            return httpx.Response(
                200,
                json={"flows": self.flows, "total": len(self.flows), "load_errors": []},
            )
        if parts == ["jobs"] and request.method == "GET":
            return await self._list_jobs(request)
        if parts == ["jobs"] and request.method == "POST":
            return self._submit(json.loads(request.content))
        if len(parts) >= 2 and parts[0] == "jobs":
            return self._job_route(request.method, parts[1], parts[2:])
        return _error(404, "NOT_FOUND", f"No route {request.method} {path}")

    def _discovery(self) -> dict[str, Any]:
        return {
            "name": "fake-server",
            "version": "9.9.9",
            "api_version": "v1",
            "capabilities": list(self.capabilities),
        }

    async def _list_jobs(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        self.job_requests.append(params)
        if self.list_gate is not None:
            await self.list_gate.wait()

        jobs = [job for job in self.jobs.values() if self._matches(job, params)]
        jobs.sort(key=lambda job: (job["created_at"], job["job_id"]), reverse=True)
        limit = int(params.get("limit", 100))
        if "cursor" in params:
            ids = [job["job_id"] for job in jobs]
            start = ids.index(params["cursor"]) + 1
        else:
            start = int(params.get("offset", 0))
        page = jobs[start : start + limit]
        has_next = start + limit < len(jobs) and "cursor" in self.capabilities
        body = {
            "jobs": [self.summary(job["job_id"]) for job in page],
            "total": len(jobs),
            "limit": limit,
            "offset": start,
            "next_cursor": page[-1]["job_id"] if has_next and page else None,
        }
        return httpx.Response(200, json=body)

    @staticmethod
    def _matches(job: dict[str, Any], params: dict[str, str]) -> bool:
        if "flow_id" in params and job["flow_id"] != params["flow_id"]:
            return False
        if "status" in params and job["status"] != params["status"]:
            return False
        created = datetime.fromisoformat(job["created_at"])
        if "from" in params and created < datetime.fromisoformat(params["from"]):
            return False
        return not ("to" in params and created >= datetime.fromisoformat(params["to"]))

    def _job_route(self, method: str, job_id: str, rest: list[str]) -> httpx.Response:
        job = self.jobs.get(job_id)
        if job is None:
            return _error(404, "JOB_NOT_FOUND", f"Job '{job_id}' not found")
        if method == "GET" and not rest:
            self.detail_requests.append(job_id)
            return httpx.Response(200, json=job)
        if method == "GET" and rest == ["trace"]:
            return httpx.Response(200, json=self._trace(job))
        if method == "GET" and rest == ["output"]:
            output = f"processed {job['params']}\n"
            return httpx.Response(
                200,
                json={
                    "job_id": job_id,
                    "output": output,
                    "is_complete": True,
                    "truncated": False,
                },
            )
        if method == "POST" and rest == ["cancel"]:
            if job["status"] in ("completed", "failed", "cancelled"):
                return _error(
                    409,
                    "JOB_NOT_CANCELLABLE",
                    f"Job '{job_id}' already {job['status']}",
                )
            job["status"] = "cancelled"
            return httpx.Response(200, json=job)
        return _error(404, "NOT_FOUND", "No such job route")

    @staticmethod
    def _trace(job: dict[str, Any]) -> dict[str, Any]:
        started = datetime.fromisoformat(job["started_at"])
        entries = [
            {
                "timestamp": iso(started),
                "routine_id": "reader",
                "action": "routine_started",
                "details": {},
            },
            {
                "timestamp": iso(started + timedelta(milliseconds=250)),
                "routine_id": "reader",
                "action": "routine_completed",
                "details": {"duration_ms": 250},
            },
        ]
        return {
            "job_id": job["job_id"],
            "trace_log": entries,
            "total_entries": len(entries),
        }

    def _submit(self, body: dict[str, Any]) -> httpx.Response:
        flow = next(
            (flow for flow in self.flows if flow["flow_id"] == body.get("flow_id")),
            None,
        )
        if flow is None:
            return _error(
                404, "FLOW_NOT_FOUND", f"Flow '{body.get('flow_id')}' not found"
            )
        routine = flow["routines"].get(body.get("routine_id"))
        if routine is None:
            return _error(
                404,
                "ROUTINE_NOT_FOUND",
                f"Routine '{body.get('routine_id')}' not found",
            )
        if body.get("slot_name") not in routine["slots"]:
            return _error(
                404, "SLOT_NOT_FOUND", f"Slot '{body.get('slot_name')}' not found"
            )
        if body.get("data", {}).get("reject"):
            return _error(
                422,
                "VALIDATION_ERROR",
                "Invalid job data",
                {
                    "errors": [
                        {
                            "loc": ["body", "data", "reject"],
                            "msg": "rejected by the test",
                            "type": "value_error",
                        }
                    ]
                },
            )

        self.submitted.append(body)
        created = START + timedelta(days=1, seconds=len(self.submitted))
        job = self.add_job(
            flow_id=flow["flow_id"],
            status="running",
            created_at=created,
            routine_id=body["routine_id"],
            slot_name=body["slot_name"],
            params=body.get("data", {}),
        )
        return httpx.Response(201, json=job)
