"""Run every benchmark against our server and the stock Routilux 1.1.0 server.

Prints the machine, then one table per benchmark with both servers and
their ratio. On the two-core machine of docs/benchmarks.md the full run
took about six minutes (filling our store to a million jobs is 1.5 of
them) and ``--quick`` (small sizes) under a minute.

Run from the repository root: ``.venv/bin/python -m bench.run_all [--quick]``
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from bench import events, jobs_list, memory, submit
from bench.common import STOCK_VENV
from bench.common import work_dir as make_work_dir
from bench.report import format_table, save_json
from bench.scale import run_scale

BENCHMARKS = ("store", "submit", "events")


def machine() -> dict[str, Any]:
    """Describe the machine the numbers come from."""
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "ram_gb": round(total_kb / 1024**2, 1),
        "python": platform.python_version(),
        "stock_python": _stock_python(),
        "kernel": platform.release(),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "load_average": load_average(),
    }


def load_average() -> str:
    """Return the 1, 5 and 15 minute load averages, to spot other work on the machine."""
    with open("/proc/loadavg", encoding="ascii") as loadavg:
        return " ".join(loadavg.read().split()[:3])


def _stock_python() -> str:
    python = STOCK_VENV / "bin" / "python"
    if not python.exists():
        return "not installed"
    result = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, under a minute here"
    )
    parser.add_argument(
        "--no-stock", action="store_true", help="measure our server only"
    )
    parser.add_argument(
        "--only",
        choices=BENCHMARKS,
        action="append",
        help="run only this benchmark (repeatable); 'store' is jobs list "
        "and memory, which share one store fill",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="folder for databases and logs (default $TMPDIR/overseer-bench)",
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="also write all results here"
    )
    args = parser.parse_args(argv)
    selected = args.only or list(BENCHMARKS)
    workdir = make_work_dir(args.work_dir)
    stock = not args.no_stock

    info = machine()
    print(
        "Machine: " + ", ".join(f"{key} {value}" for key, value in info.items()),
        flush=True,
    )
    results: dict[str, Any] = {"machine": info, "quick": args.quick}
    tables: list[tuple[str, str]] = []

    if "store" in selected:
        config, repeats = (
            (jobs_list.QUICK, jobs_list.QUICK_REPEATS)
            if args.quick
            else (jobs_list.FULL, jobs_list.FULL_REPEATS)
        )
        probes = {"jobs_list": jobs_list.make_probe(repeats), "memory": memory.probe}
        store = run_scale(config, probes, workdir, stock=stock)
        results["store"] = store
        tables.append(("Jobs list", format_table(jobs_list.rows(store))))
        tables.append(("Memory", format_table(memory.rows(store))))
    if "submit" in selected:
        results["submit"] = submit.run(workdir, quick=args.quick, stock=stock)
        tables.append(("Submission", format_table(submit.rows(results["submit"]))))
    if "events" in selected:
        results["events"] = events.run(workdir, quick=args.quick, stock=stock)
        tables.append(
            ("WebSocket delivery", format_table(events.rows(results["events"])))
        )

    results["load_average_at_end"] = load_average()
    save_json(args.json, results)
    print(f"\nLoad average at the end: {results['load_average_at_end']}")
    for title, table in tables:
        print(f"\n## {title}\n\n{table}")


if __name__ == "__main__":
    main()
