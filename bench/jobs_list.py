"""Benchmark 1: one page of 100 jobs with its total, as the store grows.

Times ``GET /api/v1/jobs`` from the client for a filtered and an unfiltered
page: one keep-alive connection, sequential requests, gzip accepted as any
client does. Ours is measured at 10 k, 100 k and 1 M stored jobs, the stock
server at the sizes it can hold.

Run: ``.venv/bin/python -m bench.jobs_list [--quick]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from bench.common import ServerProcess
from bench.common import work_dir as make_work_dir
from bench.report import Row, format_table, median, percentile, ratio, save_json
from bench.scale import ScaleConfig, run_scale

QUERIES = {
    "filtered": {"flow_id": "study_flow", "status": "completed", "limit": 100},
    "unfiltered": {"limit": 100},
}
STATS = {
    "median_ms": "median ms",
    "p95_ms": "p95 ms",
    "cpu_ms": "server CPU ms/request",
}
WARMUP_REQUESTS = 10
SERIES_TIME_LIMIT_S = 120.0

FULL = ScaleConfig(
    our_sizes=(10_000, 100_000, 1_000_000), stock_sizes=(1_000, 10_000), api_jobs=2_000
)
QUICK = ScaleConfig(our_sizes=(1_000, 10_000), stock_sizes=(1_000,), api_jobs=500)
FULL_REPEATS = 300
QUICK_REPEATS = 50


def make_probe(repeats: int):
    """Return a scale probe that times each query ``repeats`` times."""

    def probe(server: ServerProcess, size: int) -> dict[str, Any]:
        with server.client() as client:
            return {
                name: _time_query(server, client, params, repeats)
                for name, params in QUERIES.items()
            }

    return probe


def _time_query(
    server: ServerProcess, client, params: dict[str, Any], repeats: int
) -> dict[str, Any]:
    for _ in range(WARMUP_REQUESTS):
        client.get("/api/v1/jobs", params=params).raise_for_status()

    durations: list[float] = []
    deadline = time.monotonic() + SERIES_TIME_LIMIT_S
    body: dict[str, Any] = {}
    size = 0
    # Server CPU per request depends much less on other load on the machine
    # than the latency the client sees.
    server_cpu = server.cpu_seconds()
    while len(durations) < repeats and time.monotonic() < deadline:
        started = time.perf_counter()
        response = client.get("/api/v1/jobs", params=params)
        durations.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        body = response.json()
        size = len(response.content)
    server_cpu = server.cpu_seconds() - server_cpu

    expected = min(params["limit"], body["total"])
    if len(body["jobs"]) != expected:
        raise AssertionError(
            f"page of {len(body['jobs'])} jobs, expected {expected}: {params}"
        )
    return {
        "median_ms": round(median(durations), 2),
        "p95_ms": round(percentile(durations, 95), 2),
        "cpu_ms": round(1000 * server_cpu / len(durations), 2),
        "requests": len(durations),
        "total": body["total"],
        "json_bytes": size,
    }


def rows(results: dict[str, dict[int, dict[str, Any]]]) -> list[Row]:
    """Build the table rows: median, p95 and server CPU per query and size, stock/ours as the ratio."""
    sizes = sorted(set(results["ours"]) | set(results["stock"]))
    table: list[Row] = []
    for name in QUERIES:
        for size in sizes:
            ours = results["ours"].get(size, {}).get("jobs_list", {}).get(name)
            stock = results["stock"].get(size, {}).get("jobs_list", {}).get(name)
            for stat, label in STATS.items():
                table.append(
                    Row(
                        metric=f"Jobs list {name}, {label} @ {size:,}",
                        ours=f"{ours[stat]:.2f}" if ours else "not run",
                        stock=f"{stock[stat]:.2f}" if stock else _stock_gap(size),
                        ratio=(
                            ratio(stock.get(stat), ours.get(stat))
                            if ours and stock
                            else ""
                        ),
                        target=_target(name, stat, size),
                    )
                )
    return table


def _stock_gap(size: int) -> str:
    return "not attempted" if size > 10_000 else "not run"


def _target(name: str, stat: str, size: int) -> str:
    if name == "filtered" and stat == "median_ms":
        if size == 10_000:
            return ">= 5x stock"
        if size == 1_000_000:
            return "<= 5 ms"
    return ""


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
    config, repeats = (QUICK, QUICK_REPEATS) if args.quick else (FULL, FULL_REPEATS)
    results = run_scale(
        config,
        {"jobs_list": make_probe(repeats)},
        make_work_dir(args.work_dir),
        stock=not args.no_stock,
    )
    save_json(args.json, results)
    print(format_table(rows(results)))


if __name__ == "__main__":
    main()
