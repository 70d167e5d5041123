"""Workers in the stock API's sense: named groups of jobs of one flow.

The stock server gives every worker its own thread. Here a worker is a label
with counters; its jobs run on the shared pool like any other.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from embedded_server.store.records import iso


@dataclass
class Worker:
    """A worker record with its job counters."""

    worker_id: str
    flow_id: str
    created_at: float
    jobs_processed: int = 0
    jobs_failed: int = 0
    active_jobs: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "worker_id": self.worker_id,
            "flow_id": self.flow_id,
            "status": "running" if self.active_jobs else "idle",
            "created_at": iso(self.created_at),
            "started_at": iso(self.created_at),
            "jobs_processed": self.jobs_processed,
            "jobs_failed": self.jobs_failed,
            "active_jobs": self.active_jobs,
        }


class WorkerRegistry:
    """Workers by id, plus one default worker per flow for jobs that name none."""

    def __init__(self) -> None:
        self._workers: dict[str, Worker] = {}
        self._defaults: dict[str, str] = {}
        self._lock = threading.Lock()

    def create(self, flow_id: str, worker_id: str | None = None) -> Worker:
        """Add a worker; raise KeyError when the id is taken."""
        worker_id = worker_id or str(uuid.uuid4())
        with self._lock:
            if worker_id in self._workers:
                raise KeyError(worker_id)
            worker = Worker(worker_id, flow_id, time.time())
            self._workers[worker_id] = worker
            return worker

    def default_for(self, flow_id: str) -> Worker:
        with self._lock:
            worker_id = self._defaults.get(flow_id)
            if worker_id is not None:
                return self._workers[worker_id]
            worker = Worker(str(uuid.uuid4()), flow_id, time.time())
            self._workers[worker.worker_id] = worker
            self._defaults[flow_id] = worker.worker_id
            return worker

    def get(self, worker_id: str) -> Worker | None:
        return self._workers.get(worker_id)

    def remove(self, worker_id: str) -> bool:
        with self._lock:
            worker = self._workers.pop(worker_id, None)
            if worker and self._defaults.get(worker.flow_id) == worker_id:
                del self._defaults[worker.flow_id]
            return worker is not None

    def list(self, flow_id: str | None = None) -> list[Worker]:
        with self._lock:
            workers = list(self._workers.values())
        return [w for w in workers if flow_id is None or w.flow_id == flow_id]

    def job_started(self, worker_id: str) -> None:
        with self._lock:
            worker = self._workers.get(worker_id)
            if worker:
                worker.active_jobs += 1

    def job_ended(self, worker_id: str, status: str) -> None:
        with self._lock:
            worker = self._workers.get(worker_id)
            if worker is None:
                return
            worker.active_jobs = max(0, worker.active_jobs - 1)
            if status == "completed":
                worker.jobs_processed += 1
            else:
                worker.jobs_failed += 1
