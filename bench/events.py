"""Benchmark 4: WebSocket event delivery to 1 and to 5 subscribers.

Jobs of ``burst_flow`` (bench/fixtures) each emit ``count`` events. Every
subscriber is a separate process with its own asyncio loop, so the client
side is not one shared bottleneck. Each uses a ``websockets`` client with
the library's defaults, as the desktop app does. Those offer
permessage-deflate, which the stock server accepts and ours declines.

Ours: each subscriber keeps the default subscription (every event) on
``/api/v1/websocket``. Losses are counted from ``seq``: every seq between
the ``last_seq`` of the greeting and the server's last seq after the run
must arrive once. A subscriber that the server drops as too slow (close code
1013) reconnects with ``?after_seq=`` and counts the reconnect.

Stock: each subscriber sends ``{"type": "subscribe", "job_id"}`` for every
job on the stock generic socket. The stock server forwards only the job and
entry-routine lifecycle events, not the emitted events. Two subscribers
of one job take events from one shared queue, so each receives only part of
them.

Run: ``.venv/bin/python -m bench.events [--quick]``
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
from pathlib import Path
from typing import Any

from bench.common import (
    ServerProcess,
    job_total,
    remove_db,
    start_ours,
    start_stock,
    submit_jobs,
)
from bench.common import work_dir as make_work_dir
from bench.procinfo import MachineCpu
from bench.report import Row, format_table, ratio, save_json
from bench.subscribers import RUN_TIME_LIMIT_S, our_subscriber, stock_subscriber

BURST_JOB = {"flow_id": "burst_flow", "routine_id": "burst", "slot_name": "input"}
# Events ours publishes per job besides the emits: job_started,
# routine_started, routine_completed and job_completed.
OUR_LIFECYCLE_EVENTS = 4

SUBMIT_CONCURRENCY = 4
SUBSCRIBER_COUNTS = (1, 5)
TARGET_RATE = 10_000

FULL = {"jobs": 50, "count": 1000}
QUICK = {"jobs": 5, "count": 200}


# -- one run -----------------------------------------------------------------------


def run_ours(
    server: ServerProcess, subscribers: int, jobs: int, count: int, deflate: bool = True
) -> dict[str, Any]:
    """Deliver ``jobs`` x ``count`` events to ``subscribers`` processes on our server."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    ws_url = server.url.replace("http://", "ws://") + "/api/v1/websocket"
    readies, processes = [], []
    for _ in range(subscribers):
        ready = context.Event()
        arguments = (ws_url, jobs, ready, results, deflate)
        process = context.Process(target=our_subscriber, args=arguments)
        process.start()
        readies.append(ready)
        processes.append(process)
    try:
        _wait_ready(readies)
        server_cpu, machine = server.cpu_seconds(), MachineCpu()
        started = time.monotonic()
        posted = asyncio.run(_post_burst(server, jobs, count))
        outcomes = _collect(results, processes)
        server_cpu = server.cpu_seconds() - server_cpu
        wall = time.monotonic() - started
        busy = machine.busy_pct()
    finally:
        _end(processes)
    with server.client() as client:
        last_seq = client.get("/api/v1/health/stats").json()["last_event_seq"]
        completed = job_total(client, flow_id="burst_flow", status="completed")
    per_subscriber = [_our_summary(o, last_seq, started) for o in outcomes]
    return {
        "subscribers": per_subscriber,
        "submit_errors": posted.errors[:5],
        "jobs": jobs,
        "count": count,
        "jobs_completed": completed,
        "expected_per_subscriber": jobs * (count + OUR_LIFECYCLE_EVENTS),
        "server_cpu_s": round(server_cpu, 2),
        "wall_s": round(wall, 2),
        "machine_busy_pct": busy,
        "subscriber_cpu_s": [round(o["cpu_s"], 2) for o in outcomes],
    }


def _our_summary(
    outcome: dict[str, Any], last_seq: int, started: float
) -> dict[str, Any]:
    start_seq = outcome["start_seq"] or 0
    expected = range(start_seq + 1, last_seq + 1)
    seen = set(outcome["seqs"])
    missing = sum(1 for seq in expected if seq not in seen)
    received = len(outcome["seqs"])
    elapsed = (outcome["last"] - started) if outcome["last"] else 0.0
    return {
        "received": received,
        "expected": len(expected),
        "missing": missing,
        "duplicates": received - len(seen),
        "seq_gaps": _gaps(sorted(seen)),
        "reconnects": outcome["reconnects"],
        "close_codes": outcome["close_codes"],
        "completed_jobs_seen": outcome["completed"],
        "rate": round(received / elapsed) if elapsed else 0,
        "types": outcome["types"],
    }


def _gaps(ordered: list[int]) -> int:
    return sum(
        1
        for before, after in zip(ordered, ordered[1:], strict=False)
        if after > before + 1
    )


def run_stock(
    server: ServerProcess, subscribers: int, jobs: int, count: int, deflate: bool = True
) -> dict[str, Any]:
    """Deliver what the stock server forwards to ``subscribers`` processes."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    ws_url = server.url.replace("http://", "ws://") + "/api/v1/websocket"
    readies, processes, feeds = [], [], []
    for _ in range(subscribers):
        ready, feed = context.Event(), context.Queue()
        arguments = (ws_url, feed, ready, results, deflate)
        process = context.Process(target=stock_subscriber, args=arguments)
        process.start()
        readies.append(ready)
        processes.append(process)
        feeds.append(feed)
    try:
        _wait_ready(readies)
        server_cpu, machine = server.cpu_seconds(), MachineCpu()
        started = time.monotonic()
        posted = asyncio.run(_post_burst(server, jobs, count, feeds))
        for feed in feeds:
            feed.put(None)
        outcomes = _collect(results, processes)
        server_cpu = server.cpu_seconds() - server_cpu
        wall = time.monotonic() - started
        busy = machine.busy_pct()
    finally:
        _end(processes)
    with server.client() as client:
        completed = job_total(client, flow_id="burst_flow", status="completed")
    summaries = []
    for outcome in outcomes:
        elapsed = (outcome["last"] - started) if outcome["last"] else 0.0
        summaries.append(
            {
                "received": outcome["events"],
                "subscribed": outcome["subscribed"],
                "errors": outcome["errors"],
                "types": outcome["types"],
                "rate": round(outcome["events"] / elapsed) if elapsed else 0,
            }
        )
    return {
        "subscribers": summaries,
        "submit_errors": posted.errors[:5],
        "jobs": jobs,
        "count": count,
        "jobs_completed": completed,
        "emitted_per_job": count + OUR_LIFECYCLE_EVENTS,
        "server_cpu_s": round(server_cpu, 2),
        "wall_s": round(wall, 2),
        "machine_busy_pct": busy,
        "subscriber_cpu_s": [round(o["cpu_s"], 2) for o in outcomes],
    }


async def _post_burst(server: ServerProcess, jobs: int, count: int, feeds=None):
    def subscribe_everyone(job: dict[str, Any]) -> None:
        for feed in feeds or []:
            feed.put(job["job_id"])

    async with server.async_client(SUBMIT_CONCURRENCY) as client:
        return await submit_jobs(
            client,
            jobs,
            lambda i: {**BURST_JOB, "data": {"count": count}},
            concurrency=SUBMIT_CONCURRENCY,
            time_limit_s=RUN_TIME_LIMIT_S,
            on_submitted=subscribe_everyone,
        )


def _wait_ready(readies) -> None:
    for ready in readies:
        if not ready.wait(30):
            raise TimeoutError("a subscriber did not connect within 30 s")


def _collect(results, processes) -> list[dict[str, Any]]:
    outcomes = []
    for _ in processes:
        outcomes.append(results.get(timeout=RUN_TIME_LIMIT_S + 60))
    return outcomes


def _end(processes) -> None:
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
            process.join(timeout=10)


# -- driver ------------------------------------------------------------------------


def run(
    workdir: Path, *, quick: bool = False, stock: bool = True, deflate: bool = True
) -> dict[str, Any]:
    """Run the delivery benchmark on both servers; return the raw results."""
    size = QUICK if quick else FULL
    results: dict[str, Any] = {"ours": {}, "stock": {}, "deflate": deflate, **size}
    db_path = workdir / "events-ours.db"
    remove_db(db_path)
    with start_ours(db_path, workdir) as server:
        for subscribers in SUBSCRIBER_COUNTS:
            print(
                f"[ours] {size['jobs']} jobs x {size['count']} events to {subscribers} "
                "subscriber(s)",
                flush=True,
            )
            results["ours"][subscribers] = run_ours(
                server, subscribers, **size, deflate=deflate
            )
    if stock:
        with start_stock(workdir) as server:
            for subscribers in SUBSCRIBER_COUNTS:
                print(
                    f"[stock] {size['jobs']} jobs x {size['count']} events to {subscribers} "
                    "subscriber(s)",
                    flush=True,
                )
                results["stock"][subscribers] = run_stock(
                    server, subscribers, **size, deflate=deflate
                )
    return results


def rows(results: dict[str, Any]) -> list[Row]:
    """Build the table rows: slowest subscriber's rate and the events each one missed."""
    table: list[Row] = []
    for subscribers in SUBSCRIBER_COUNTS:
        ours = results["ours"].get(subscribers)
        stock = results["stock"].get(subscribers)
        our_rate = min(s["rate"] for s in ours["subscribers"]) if ours else None
        stock_rate = min(s["rate"] for s in stock["subscribers"]) if stock else None
        table.append(
            Row(
                metric=f"Events/s to each of {subscribers} subscriber(s) (slowest)",
                ours=f"{our_rate:,}" if ours else "not run",
                stock=f"{stock_rate:,}" if stock else "not run",
                ratio=ratio(our_rate, stock_rate),
                target=f">= {TARGET_RATE:,}/s" if subscribers == 5 else "",
            )
        )
        table.append(
            Row(
                metric=f"Events received per subscriber of {subscribers} (min / max)",
                ours=_received(ours, "received"),
                stock=_received(stock, "received"),
            )
        )
        table.append(
            Row(
                metric=f"CPU s: server / all {subscribers} subscriber(s), over wall s",
                ours=_cpu(ours),
                stock=_cpu(stock),
            )
        )
        if ours:
            missing = max(s["missing"] for s in ours["subscribers"])
            reconnects = sum(s["reconnects"] for s in ours["subscribers"])
            table.append(
                Row(
                    metric=f"Events lost, worst of {subscribers} subscriber(s)",
                    ours=f"{missing} of {ours['subscribers'][0]['expected']:,}"
                    + (f" ({reconnects} reconnects)" if reconnects else ""),
                    stock=_stock_loss(stock),
                    target="0" if subscribers == 5 else "",
                )
            )
    return table


def _received(result: dict[str, Any] | None, key: str) -> str:
    if not result:
        return "not run"
    values = [s[key] for s in result["subscribers"]]
    return f"{min(values):,} / {max(values):,}"


def _cpu(result: dict[str, Any] | None) -> str:
    if not result:
        return "not run"
    clients = sum(result["subscriber_cpu_s"])
    return (
        f"{result['server_cpu_s']:.1f} / {clients:.1f} over {result['wall_s']:.1f} "
        f"(all CPUs {result['machine_busy_pct']:.0f}% busy)"
    )


def _stock_loss(stock: dict[str, Any] | None) -> str:
    if not stock:
        return "not run"
    produced = stock["jobs"] * stock["emitted_per_job"]
    worst = min(s["received"] for s in stock["subscribers"])
    return f"{produced - worst:,} of {produced:,} not delivered"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, smaller jobs")
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
    parser.add_argument(
        "--no-deflate",
        action="store_true",
        help="subscribers do not offer permessage-deflate (default: offer it, "
        "as the desktop app does)",
    )
    args = parser.parse_args(argv)
    results = run(
        make_work_dir(args.work_dir),
        quick=args.quick,
        stock=not args.no_stock,
        deflate=not args.no_deflate,
    )
    save_json(args.json, results)
    print(format_table(rows(results)))


if __name__ == "__main__":
    main()
