"""A duration estimate for a dry run from the flow's earlier completed jobs.

For each routine, the time it spent in one job is the sum of the
``duration_ms`` of its ``routine_completed`` trace entries. The estimate is
the sum, over the routines on the predicted path, of the median of that time
across recent completed jobs. It counts time spent in routine code only:
time waiting for timers (a Batcher's timeout, a retry delay) is not in it.
The jobs' median wall-clock duration is returned beside it for comparison.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from typing import Any

from embedded_server.store.database import Database

logger = logging.getLogger(__name__)

# The newest completed jobs of the flow that the estimate reads.
MAX_HISTORY_JOBS = 200
# Trace rows to read at most. Reading stops after the job that passes this
# count, so a few jobs with huge traces cannot make a dry run slow.
MAX_TRACE_ROWS = 200_000

# Served by the jobs_by_flow_status index (flow_id, status, created_at DESC,
# job_id DESC): no scan and no sort, however many jobs the history holds.
_RECENT_JOBS_SQL = (
    "SELECT job_id, started_at, completed_at FROM jobs "
    "WHERE flow_id = ? AND status = 'completed' "
    "ORDER BY created_at DESC, job_id DESC LIMIT ?"
)
# Served by the trace table's primary key (job_id, position).
_ROUTINE_TIMES_SQL = (
    "SELECT routine_id, "
    "SUM(CASE WHEN action = 'routine_completed' "
    "THEN json_extract(details, '$.duration_ms') END), "
    "COUNT(*) FROM trace WHERE job_id = ? GROUP BY routine_id"
)


def estimate_duration(
    database: Database, flow_id: str, path: Sequence[str]
) -> tuple[float | None, dict[str, Any]]:
    """Return the estimate in milliseconds (None without history) and its basis."""
    reader = database.reader()
    jobs = reader.execute(_RECENT_JOBS_SQL, (flow_id, MAX_HISTORY_JOBS)).fetchall()
    per_routine: dict[str, list[float]] = {}
    wall_ms: list[float] = []
    rows_read, used = 0, 0
    for job_id, started_at, completed_at in jobs:
        if rows_read >= MAX_TRACE_ROWS:
            break
        used += 1
        if started_at is not None and completed_at is not None:
            wall_ms.append((completed_at - started_at) * 1000)
        for routine_id, total_ms, count in reader.execute(
            _ROUTINE_TIMES_SQL, (job_id,)
        ):
            rows_read += count
            if total_ms is not None:
                per_routine.setdefault(routine_id, []).append(float(total_ms))

    basis: dict[str, Any] = {
        "unit": "ms",
        "jobs": used,
        "max_jobs": MAX_HISTORY_JOBS,
        "job_status": "completed",
        "trace_rows_read": rows_read,
        "median_job_duration_ms": _rounded(statistics.median(wall_ms))
        if wall_ms
        else None,
        "routines": {},
        "routines_without_history": [],
    }
    if not used:
        basis["reason"] = f"No completed jobs of flow '{flow_id}' in the history yet"
        return None, basis

    total = 0.0
    for routine_id in path:
        times = per_routine.get(routine_id)
        if not times:
            basis["routines_without_history"].append(routine_id)
            continue
        median = statistics.median(times)
        basis["routines"][routine_id] = {
            "median_ms": _rounded(median),
            "jobs": len(times),
        }
        total += median
    if not basis["routines"]:
        basis["reason"] = (
            f"None of the {used} completed job(s) of flow '{flow_id}' ran a routine "
            "on this path"
        )
        return None, basis
    return _rounded(total), basis


def _rounded(value: float) -> float:
    return round(value, 3)
