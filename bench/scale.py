"""Growing the job store of both servers step by step and probing each step.

Ours: a fresh SQLite file gets real jobs through the API first, then
synthetic finished jobs are inserted while the server is stopped (see
``bench.dataset``), and the server is restarted on the file at each size.

Stock: the stock server keeps jobs in memory only, so jobs are posted
through its API and the store grows in one process. They all name one
``worker_id``, because the stock server starts a thread per job posted
without one and stalls at about 1,500 such jobs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import dataset
from bench.common import (
    STUDY_JOB,
    ServerProcess,
    job_total,
    remove_db,
    start_ours,
    start_stock,
    submit_jobs,
    wait_until_idle,
)
from bench.procinfo import MachineCpu

Probe = Callable[[ServerProcess, int], dict[str, Any]]

SUBMIT_CONCURRENCY = 16
SUBMIT_TIME_LIMIT_S = 600.0
IDLE_TIMEOUT_S = 300.0


@dataclass
class ScaleConfig:
    """Store sizes to probe on each server and how many real jobs ours gets first."""

    our_sizes: Sequence[int]
    stock_sizes: Sequence[int]
    api_jobs: int


def study_job(index: int, worker_id: str | None = None) -> dict[str, Any]:
    """Return the body of sample job ``index``: every tenth job fails on purpose."""
    data: dict[str, Any] = {"value": index}
    if index % 10 == 9:
        data["mode"] = "fail"
    body = {**STUDY_JOB, "data": data}
    if worker_id:
        body["worker_id"] = worker_id
    return body


def run_scale(
    config: ScaleConfig, probes: dict[str, Probe], workdir: Path, *, stock: bool = True
) -> dict[str, dict[int, dict[str, Any]]]:
    """Probe every size on both servers; return ``{server: {size: {probe: result}}}``."""
    results: dict[str, dict[int, dict[str, Any]]] = {"ours": {}, "stock": {}}
    if config.our_sizes:
        results["ours"] = _scale_ours(config, probes, workdir)
    if stock and config.stock_sizes:
        results["stock"] = _scale_stock(config, probes, workdir)
    return results


def _scale_ours(
    config: ScaleConfig, probes: dict[str, Probe], workdir: Path
) -> dict[int, dict[str, Any]]:
    db_path = workdir / "scale-ours.db"
    remove_db(db_path)
    api_jobs = min(config.api_jobs, min(config.our_sizes))
    print(f"[ours] posting {api_jobs} sample jobs through the API", flush=True)
    with start_ours(db_path, workdir) as server:
        posted = asyncio.run(_post(server, api_jobs, None))
        with server.client() as client:
            if not wait_until_idle(client, IDLE_TIMEOUT_S):
                print("[ours] warning: jobs still running after the wait", flush=True)
    if posted.errors:
        print(
            f"[ours] {len(posted.errors)} submit errors, first: {posted.errors[0]}",
            flush=True,
        )

    stages: dict[int, dict[str, Any]] = {}
    for size in sorted(config.our_sizes):
        started = time.perf_counter()
        added = dataset.fill_to(db_path, size)
        print(
            f"[ours] inserted {added} jobs in {time.perf_counter() - started:.1f} s "
            f"(store: {size})",
            flush=True,
        )
        with start_ours(db_path, workdir) as server:
            stages[size] = _probe_stage(server, size, probes, {"api_jobs": api_jobs})
    return stages


def _scale_stock(
    config: ScaleConfig, probes: dict[str, Probe], workdir: Path
) -> dict[int, dict[str, Any]]:
    stages: dict[int, dict[str, Any]] = {}
    with start_stock(workdir) as server:
        with server.client() as client:
            first = client.post("/api/v1/jobs", json=study_job(0))
            first.raise_for_status()
        worker_id = first.json()["worker_id"]
        posted = 1
        for size in sorted(config.stock_sizes):
            started = time.perf_counter()
            result = asyncio.run(_post(server, size - posted, worker_id, offset=posted))
            posted += len(result.job_ids)
            print(
                f"[stock] posted {len(result.job_ids)} jobs in {result.elapsed_s:.1f} s "
                f"({result.rate:.0f}/s, one worker_id; store: {posted})",
                flush=True,
            )
            if result.errors:
                print(
                    f"[stock] {len(result.errors)} submit errors, first: {result.errors[0]}",
                    flush=True,
                )
            with server.client() as client:
                idle = wait_until_idle(client, IDLE_TIMEOUT_S)
                stored = job_total(client)
            note = {
                "posted_s": round(time.perf_counter() - started, 1),
                "idle": idle,
                "stored": stored,
            }
            stages[size] = _probe_stage(server, size, probes, note)
    return stages


async def _post(
    server: ServerProcess, count: int, worker_id: str | None, offset: int = 0
):
    async with server.async_client(SUBMIT_CONCURRENCY) as client:
        return await submit_jobs(
            client,
            count,
            lambda i: study_job(offset + i, worker_id),
            concurrency=SUBMIT_CONCURRENCY,
            time_limit_s=SUBMIT_TIME_LIMIT_S,
        )


def _probe_stage(
    server: ServerProcess, size: int, probes: dict[str, Probe], extra: dict[str, Any]
) -> dict[str, Any]:
    at_start = server.status()
    stage: dict[str, Any] = {
        "rss_at_start_mb": at_start.rss_mb,
        "threads_at_start": at_start.threads,
        **extra,
    }
    machine = MachineCpu()
    for name, probe in probes.items():
        print(f"[{server.kind}] {name} at {size} jobs", flush=True)
        stage[name] = probe(server, size)
    stage["machine_busy_pct"] = machine.busy_pct()
    return stage
