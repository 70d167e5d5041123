"""Benchmark 3: job submission throughput, threads and memory.

Posts N sample jobs (``{"value": n}``) without a ``worker_id`` at
concurrency 16 from one ``httpx.AsyncClient`` to a fresh server, then waits
until none is running. Reports jobs/s for the posts and for the whole run up
to the last completion, the thread count (before, peak while posting, after)
and RSS. On ours every posted job is then checked to be ``completed``.

The stock server starts a worker thread per job posted without a
``worker_id`` and never ends it, so it is measured at 1,200 jobs: it stalls
at about 1,500.

Run: ``.venv/bin/python -m bench.submit [--quick]``
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from pathlib import Path
from typing import Any

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
from bench.common import work_dir as make_work_dir
from bench.procinfo import MachineCpu
from bench.report import Row, format_table, ratio, save_json

CONCURRENCY = 16
POST_TIME_LIMIT_S = 300.0
COMPLETE_TIMEOUT_S = 300.0
SAMPLE_INTERVAL_S = 0.2
TARGET_RATIO = 5

FULL = {"ours": 2_000, "stock": 1_200}
QUICK = {"ours": 300, "stock": 300}


class StatusSampler:
    """Sampler of a process's peak thread count and RSS, run in a thread while the ``with`` lasts."""

    def __init__(self, server: ServerProcess) -> None:
        self._server = server
        self._stop = threading.Event()
        self.peak_threads = 0
        self.peak_rss_mb = 0.0
        self._thread = threading.Thread(
            target=self._run, name="status-sampler", daemon=True
        )

    def __enter__(self) -> StatusSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            try:
                status = self._server.status()
            except (OSError, KeyError):
                return
            self.peak_threads = max(self.peak_threads, status.threads)
            self.peak_rss_mb = max(self.peak_rss_mb, status.rss_mb)


def measure(server: ServerProcess, count: int) -> dict[str, Any]:
    """Post ``count`` jobs, wait for them to end, and describe the run."""
    before = server.status()
    server_cpu, client_cpu, machine = (
        server.cpu_seconds(),
        time.process_time(),
        MachineCpu(),
    )
    started = time.perf_counter()
    with StatusSampler(server) as sampler:
        posted = asyncio.run(_post(server, count))
        after_posts = server.status()
        with server.client() as client:
            idle = wait_until_idle(client, COMPLETE_TIMEOUT_S, flow_id="study_flow")
        all_done_s = time.perf_counter() - started
    after = server.status()
    server_cpu = server.cpu_seconds() - server_cpu
    client_cpu = time.process_time() - client_cpu
    busy = machine.busy_pct()
    return {
        "posted": len(posted.job_ids),
        "post_errors": len(posted.errors),
        "first_errors": posted.errors[:3],
        "post_s": round(posted.elapsed_s, 2),
        "post_rate": round(posted.rate, 1),
        "all_done": idle,
        "end_to_end_rate": round(len(posted.job_ids) / all_done_s, 1) if idle else None,
        "distinct_worker_ids": len(posted.worker_ids),
        "threads_before": before.threads,
        "threads_peak": max(sampler.peak_threads, after_posts.threads, after.threads),
        "threads_after": after.threads,
        "rss_before_mb": before.rss_mb,
        "rss_after_mb": after.rss_mb,
        "server_cpu_ms_per_job": round(
            1000 * server_cpu / max(1, len(posted.job_ids)), 2
        ),
        "client_cpu_ms_per_job": round(
            1000 * client_cpu / max(1, len(posted.job_ids)), 2
        ),
        "machine_busy_pct": busy,
        "job_ids": posted.job_ids,
    }


async def _post(server: ServerProcess, count: int):
    async with server.async_client(CONCURRENCY) as client:
        return await submit_jobs(
            client,
            count,
            lambda i: {**STUDY_JOB, "data": {"value": i}},
            concurrency=CONCURRENCY,
            time_limit_s=POST_TIME_LIMIT_S,
        )


def check_completed(server: ServerProcess, job_ids: list[str]) -> dict[str, Any]:
    """Page through every study_flow job with a cursor and count the posted ones by status."""
    expected_ids = set(job_ids)
    statuses: dict[str, int] = {}
    found = 0
    params: dict[str, Any] = {
        "flow_id": "study_flow",
        "limit": 1000,
        "fields": "job_id,status",
    }
    with server.client() as client:
        for _ in range(len(job_ids) // 1000 + 5):
            page = client.get("/api/v1/jobs", params=params)
            page.raise_for_status()
            body = page.json()
            for job in body["jobs"]:
                if job["job_id"] in expected_ids:
                    found += 1
                    statuses[job["status"]] = statuses.get(job["status"], 0) + 1
            if not body.get("next_cursor"):
                break
            params["cursor"] = body["next_cursor"]
    return {
        "found": found,
        "statuses": statuses,
        "all_completed": found == len(expected_ids)
        and statuses.get("completed") == len(expected_ids),
    }


def run(workdir: Path, *, quick: bool = False, stock: bool = True) -> dict[str, Any]:
    """Run the submission benchmark on a fresh server of each kind."""
    counts = QUICK if quick else FULL
    results: dict[str, Any] = {}
    db_path = workdir / "submit-ours.db"
    remove_db(db_path)
    print(f"[ours] posting {counts['ours']} jobs without worker_id", flush=True)
    with start_ours(db_path, workdir) as server:
        ours = measure(server, counts["ours"])
        ours["check"] = check_completed(server, ours.pop("job_ids"))
    results["ours"] = ours
    if stock:
        print(f"[stock] posting {counts['stock']} jobs without worker_id", flush=True)
        with start_stock(workdir) as server:
            result = measure(server, counts["stock"])
            result.pop("job_ids")
            with server.client() as client:
                result["completed"] = job_total(client, status="completed")
        results["stock"] = result
    return results


def rows(results: dict[str, Any]) -> list[Row]:
    """Build the table rows: rates with ours/stock as the ratio, threads and RSS side by side."""
    ours, stock = results.get("ours"), results.get("stock")

    def value(result: dict[str, Any] | None, key: str, fmt: str = "{}") -> str:
        if not result or result.get(key) is None:
            return "not run" if not result else "n/a"
        return fmt.format(result[key])

    n_ours = ours["posted"] if ours else 0
    n_stock = stock["posted"] if stock else 0
    return [
        Row(
            f"Submit jobs/s, no worker_id, concurrency {CONCURRENCY} "
            f"(ours {n_ours:,}, stock {n_stock:,} jobs)",
            value(ours, "post_rate", "{:,.0f}"),
            value(stock, "post_rate", "{:,.0f}"),
            ratio(ours and ours["post_rate"], stock and stock["post_rate"]),
            f">= {TARGET_RATIO}x stock",
        ),
        Row(
            "Jobs/s up to the last completion",
            value(ours, "end_to_end_rate", "{:,.0f}"),
            value(stock, "end_to_end_rate", "{:,.0f}"),
            ratio(ours and ours["end_to_end_rate"], stock and stock["end_to_end_rate"]),
        ),
        Row(
            "Server threads before / peak / after",
            _threads(ours),
            _threads(stock),
            "",
            "flat",
        ),
        Row(
            "Server RSS MB before / after",
            _rss(ours),
            _rss(stock),
            ratio(stock and stock["rss_after_mb"], ours and ours["rss_after_mb"]),
        ),
        Row(
            "Server CPU ms per job (user + system, all threads)",
            value(ours, "server_cpu_ms_per_job", "{:.2f}"),
            value(stock, "server_cpu_ms_per_job", "{:.2f}"),
            ratio(
                stock and stock["server_cpu_ms_per_job"],
                ours and ours["server_cpu_ms_per_job"],
            ),
        ),
        Row(
            "All CPUs busy during the run (any process, %)",
            value(ours, "machine_busy_pct", "{:.0f}"),
            value(stock, "machine_busy_pct", "{:.0f}"),
        ),
        Row(
            "Posted jobs that ended completed",
            _completed(ours, ours and ours["check"]["statuses"].get("completed", 0)),
            _completed(stock, stock and stock.get("completed")),
            "",
            "all",
        ),
    ]


def _threads(result: dict[str, Any] | None) -> str:
    if not result:
        return "not run"
    return f"{result['threads_before']} / {result['threads_peak']} / {result['threads_after']}"


def _rss(result: dict[str, Any] | None) -> str:
    if not result:
        return "not run"
    return f"{result['rss_before_mb']:.0f} / {result['rss_after_mb']:.0f}"


def _completed(result: dict[str, Any] | None, completed: int | None) -> str:
    if not result:
        return "not run"
    return f"{completed or 0:,} of {result['posted']:,}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 jobs per server")
    parser.add_argument(
        "--no-stock", action="store_true", help="measure our server only"
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="folder for databases and logs (default $TMPDIR/overseer-bench)",
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the results here"
    )
    args = parser.parse_args(argv)
    results = run(
        make_work_dir(args.work_dir), quick=args.quick, stock=not args.no_stock
    )
    save_json(args.json, results)
    print(format_table(rows(results)))


if __name__ == "__main__":
    main()
