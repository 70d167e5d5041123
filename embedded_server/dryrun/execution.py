"""The path, outputs and errors of a throwaway run, shaped for the dry-run response.

Every list and value returned is bounded, so a run that emits or stores a lot
still gives a response of reasonable size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from embedded_server.engine.run import JobRun
from embedded_server.store.records import dumps, iso

# Events that went nowhere, listed in outputs.
MAX_OUTPUT_EVENTS = 100
# Keys of the job data listed in outputs.
MAX_DATA_KEYS = 200
# A job data value longer than this as JSON is replaced by a preview.
MAX_VALUE_CHARS = 10_000
# The end of what the routines printed.
MAX_PRINTED_CHARS = 10_000
# Trace entries returned with the result, because the run's trace is stored
# nowhere else.
MAX_TRACE_ENTRIES = 1000
# Routine failures listed. The run's final error is also returned on its own.
MAX_ROUTINE_ERRORS = 20


def taken_path(run: JobRun, depths: Mapping[str, int]) -> list[dict[str, Any]]:
    """Return the routines the run started, in order of their first start.

    Each step counts the routine's runs by outcome and lists the connections
    that actually delivered data to it. ``status`` is ``failed`` when any run
    failed, ``interrupted`` when the run ended while the routine was still
    running, ``skipped`` for a routine without logic, else ``completed``.
    """
    steps: dict[str, dict[str, Any]] = {}

    def step(routine_id: str) -> dict[str, Any]:
        if routine_id not in steps:
            steps[routine_id] = {
                "routine_id": routine_id,
                "depth": depths.get(routine_id),
                "via": [],
                "runs": 0,
                "completed": 0,
                "failed": 0,
                "duration_ms": 0.0,
            }
        return steps[routine_id]

    delivered: dict[str, list[str]] = {}
    for entry in list(run.trace):
        routine_id, action, details = (
            entry["routine_id"],
            entry["action"],
            entry["details"],
        )
        if action == "routine_started":
            step(routine_id)["runs"] += 1
        elif action == "routine_completed" and routine_id in steps:
            steps[routine_id]["completed"] += 1
            steps[routine_id]["duration_ms"] += details.get("duration_ms") or 0.0
        elif action == "routine_failed":
            failed = step(routine_id)
            failed["failed"] += 1
            failed["duration_ms"] += details.get("duration_ms") or 0.0
        elif action == "routine_skipped":
            step(routine_id)
        elif action == "event_emitted":
            for target in details.get("targets") or []:
                target_id = target.partition(".")[0]
                label = f"{routine_id}.{details.get('event')} -> {target}"
                labels = delivered.setdefault(target_id, [])
                if label not in labels:
                    labels.append(label)

    for routine_id, item in steps.items():
        item["via"] = delivered.get(routine_id, [])
        item["duration_ms"] = round(item["duration_ms"], 3)
        item["status"] = _step_status(item)
    return list(steps.values())


def _step_status(step: Mapping[str, Any]) -> str:
    if step["failed"]:
        return "failed"
    if step["runs"] == 0:
        return "skipped"
    if step["completed"] + step["failed"] < step["runs"]:
        return "interrupted"
    return "completed"


def outputs(run: JobRun) -> dict[str, Any]:
    """Return the job data, the events that went nowhere and the printed text."""
    data, cut = _bounded_data(dict(run.job_context.data))
    events = [
        entry
        for entry in list(run.trace)
        if entry["action"] == "event_emitted" and not entry["details"].get("targets")
    ]
    printed, printed_truncated = run.output_text()
    if len(printed) > MAX_PRINTED_CHARS:
        printed, printed_truncated = printed[-MAX_PRINTED_CHARS:], True
    return {
        "data": data,
        "data_truncated": cut,
        "events": [_output_event(entry) for entry in events[:MAX_OUTPUT_EVENTS]],
        "events_total": len(events),
        "printed": printed,
        "printed_truncated": printed_truncated,
    }


def _bounded_data(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return the data as plain JSON values, long values replaced by previews."""
    bounded: dict[str, Any] = {}
    cut: list[str] = []
    for index, (key, value) in enumerate(data.items()):
        if index >= MAX_DATA_KEYS:
            cut.append(f"{len(data) - MAX_DATA_KEYS} more key(s) not shown")
            break
        try:
            text = dumps(value)
        except (ValueError, RecursionError, RuntimeError):
            # A circular value, or one a routine still running changes now.
            text = dumps(f"<{type(value).__name__} that cannot be shown as JSON>")
        if len(text) > MAX_VALUE_CHARS:
            bounded[str(key)] = f"{text[:MAX_VALUE_CHARS]}... ({len(text)} characters)"
            cut.append(str(key))
        else:
            # dumps() turned values JSON cannot hold into their repr.
            bounded[str(key)] = json.loads(text)
    return bounded, cut


def _output_event(entry: Mapping[str, Any]) -> dict[str, Any]:
    # The trace keeps an emit's data as JSON text cut to 500 characters. Text
    # that no longer parses as JSON is such a cut preview.
    text = entry["details"].get("data", "")
    try:
        data, truncated = json.loads(text), False
    except (TypeError, ValueError):
        data, truncated = text, True
    return {
        "routine_id": entry["routine_id"],
        "event": entry["details"].get("event"),
        "timestamp": iso(entry["ts"]),
        "data": data,
        "truncated": truncated,
    }


def run_error(run: JobRun) -> dict[str, Any] | None:
    """Return why the run failed or stopped, or None when it completed."""
    record = run.record
    if record.status == "completed":
        return None
    return {
        "status": record.status,
        "message": record.error,
        "failed_routine": record.failed_routine,
        "traceback": record.traceback,
    }


def routine_errors(run: JobRun) -> list[dict[str, Any]]:
    """Return the routine failures in the trace, including those a retry recovered."""
    failures = [
        entry for entry in list(run.trace) if entry["action"] == "routine_failed"
    ]
    return [
        {
            "routine_id": entry["routine_id"],
            "timestamp": iso(entry["ts"]),
            "error": entry["details"].get("error"),
        }
        for entry in failures[:MAX_ROUTINE_ERRORS]
    ]


def trace_entries(run: JobRun) -> tuple[list[dict[str, Any]], int]:
    """Return the first trace entries in the API's trace shape, and how many there are."""
    entries = list(run.trace)
    first_entries = [
        {
            "timestamp": iso(entry["ts"]),
            "routine_id": entry["routine_id"],
            "action": entry["action"],
            # Routines may trace values JSON cannot hold, and dumps() uses their repr.
            "details": json.loads(dumps(entry["details"])),
        }
        for entry in entries[:MAX_TRACE_ENTRIES]
    ]
    return first_entries, len(entries)
