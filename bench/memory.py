"""Benchmark 2: server memory (RSS) as the number of stored jobs grows.

At each store size the server first serves a warm-up of jobs-list calls:
filters, deep offsets and pages of 1000, with eight requests in flight so
several server threads take part. Then RSS and the thread count are read
from /proc/PID/status.

Run: ``.venv/bin/python -m bench.memory [--quick]``
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from bench.common import ServerProcess
from bench.common import work_dir as make_work_dir
from bench.jobs_list import FULL, QUICK
from bench.report import Row, format_table, ratio, save_json
from bench.scale import run_scale

WARMUP_CALLS = 400
CONCURRENCY = 8
WARMUP_TIME_LIMIT_S = 300.0
TARGET_MB = 150


def _warmup_queries(size: int) -> list[dict[str, Any]]:
    offsets = sorted({0, min(1_000, size // 2), size // 2, max(0, size - 100)})
    queries: list[dict[str, Any]] = []
    for offset in offsets:
        queries += [
            {"limit": 100, "offset": offset},
            {"limit": 1000, "offset": offset},
            {"flow_id": "study_flow", "limit": 100, "offset": offset},
            {"status": "failed", "limit": 100, "offset": offset},
            {
                "flow_id": "study_flow",
                "status": "completed",
                "limit": 100,
                "offset": offset,
            },
        ]
    return queries


def probe(server: ServerProcess, size: int) -> dict[str, Any]:
    """Run the warm-up list calls, then read RSS and threads."""
    before = server.status()
    calls, errors, elapsed = asyncio.run(_warm_up(server, _warmup_queries(size)))
    after = server.status()
    return {
        "rss_before_mb": before.rss_mb,
        "rss_mb": after.rss_mb,
        "threads": after.threads,
        "warmup_calls": calls,
        "warmup_errors": errors,
        "warmup_s": round(elapsed, 1),
    }


async def _warm_up(
    server: ServerProcess, queries: list[dict[str, Any]]
) -> tuple[int, int, float]:
    done = errors = 0
    next_index = 0
    deadline = time.monotonic() + WARMUP_TIME_LIMIT_S
    started = time.perf_counter()

    async def caller(client) -> None:
        nonlocal done, errors, next_index
        while next_index < WARMUP_CALLS and time.monotonic() < deadline:
            params = queries[next_index % len(queries)]
            next_index += 1
            response = await client.get("/api/v1/jobs", params=params)
            done += 1
            errors += response.status_code != 200

    async with server.async_client(CONCURRENCY) as client:
        await asyncio.gather(*(caller(client) for _ in range(CONCURRENCY)))
    return done, errors, time.perf_counter() - started


def rows(results: dict[str, dict[int, dict[str, Any]]]) -> list[Row]:
    """Build the table rows: RSS after warm-up per size, stock/ours as the ratio."""
    sizes = sorted(set(results["ours"]) | set(results["stock"]))
    table: list[Row] = []
    for size in sizes:
        ours = results["ours"].get(size, {}).get("memory")
        stock = results["stock"].get(size, {}).get("memory")
        table.append(
            Row(
                metric=f"Server RSS MB after list warm-up @ {size:,}",
                ours=f"{ours['rss_mb']:.0f}" if ours else "not run",
                stock=f"{stock['rss_mb']:.0f}"
                if stock
                else ("not attempted" if size > 10_000 else "not run"),
                ratio=ratio(stock["rss_mb"], ours["rss_mb"]) if ours and stock else "",
                target=f"< {TARGET_MB} MB, flat" if size == 1_000_000 else "",
            )
        )
    our_sizes = sorted(
        size for size in results["ours"] if "memory" in results["ours"][size]
    )
    if len(our_sizes) > 1:
        low = results["ours"][our_sizes[0]]["memory"]["rss_mb"]
        high = results["ours"][our_sizes[-1]]["memory"]["rss_mb"]
        table.append(
            Row(
                f"Ours RSS growth {our_sizes[0]:,} -> {our_sizes[-1]:,} (MB)",
                f"{high - low:+.0f}",
                target="flat",
            )
        )
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small store sizes")
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
    config = QUICK if args.quick else FULL
    results = run_scale(
        config, {"memory": probe}, make_work_dir(args.work_dir), stock=not args.no_stock
    )
    save_json(args.json, results)
    print(format_table(rows(results)))


if __name__ == "__main__":
    main()
