"""Start a job on a Routilux server, follow its events and print its result.

Works with this project's server and with a stock Routilux 1.1.x server.

Usage:
    OVERSEER_API_KEY=KEY python docs/examples/run_job.py URL FLOW_ID [PARAMS_JSON]

Example:
    OVERSEER_API_KEY=secret python docs/examples/run_job.py \\
        http://127.0.0.1:8765 etl_orders '{"records": 5, "seed": 1}'
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from app.models.records import TERMINAL_STATUSES
from app.services.api import ApiClient, ApiError, ServerUnreachable
from app.services.stream import ConnectionState, ConnectionStatus, EventStream


async def run_job(url: str, flow_id: str, params: dict[str, Any]) -> int:
    api = ApiClient(url, os.environ.get("OVERSEER_API_KEY"))
    stream: EventStream | None = None
    try:
        info = await api.server_info()
        kind = "stock Routilux server" if info.is_stock else "Overseer server"
        print(f"Connected to {info.name} {info.version} ({kind})")

        # A job starts at an entry routine: one with no incoming connection.
        flow = await api.get_flow(flow_id)
        routine_id = flow.entry_routines[0]
        slot_name = flow.routines[routine_id].slots[0]

        # Follow events live. The stream reconnects by itself until stopped.
        stream = EventStream(url, api.api_key)
        stream.set_server_info(info)  # stock servers need per-job subscriptions
        connected = asyncio.Event()
        ended = asyncio.Event()
        job_id = ""
        # Events can arrive before the submit response names the job.
        early: list[dict[str, Any]] = []

        def on_status(status: ConnectionStatus) -> None:
            if status.state is ConnectionState.CONNECTED:
                connected.set()

        def on_event(event: dict[str, Any]) -> None:
            if not job_id:
                early.append(event)
            elif event.get("job_id") == job_id:
                routine = (event.get("data") or {}).get("routine_id") or ""
                print(f"  event {event['type']:<18} {routine}")
                if event["type"] in ("job_completed", "job_failed", "job_cancelled"):
                    ended.set()

        stream.status_changed.connect(on_status)
        stream.event_received.connect(on_event)
        stream.start()
        await asyncio.wait_for(connected.wait(), timeout=10)

        job = await api.submit_job(flow_id, routine_id, slot_name, params)
        job_id = job.job_id
        stream.subscribe_jobs([job_id])  # harmless on a server that sends everything
        print(f"Started job {job_id} at {routine_id}.{slot_name}")
        for event in early:
            on_event(event)

        finished = await api.wait_for_job(job_id, timeout=60)
        if finished.status not in TERMINAL_STATUSES:
            print(f"Job {job_id} is still {finished.status} after 60 s")
            return 1
        # The last event may arrive just after the wait returns.
        await asyncio.wait_for(ended.wait(), timeout=5)

        data = await api.get_job_data(job_id)
        trace = await api.get_trace(job_id)
        print(f"Job {job_id} {finished.status}; {len(trace)} trace entries")
        if finished.error:
            print(f"Error: {finished.error}")
        print("Data:", json.dumps(data, indent=2, default=str))
        return 0 if finished.status == "completed" else 1
    except (ApiError, ServerUnreachable, TimeoutError) as exc:
        print(f"Failed: {exc}", file=sys.stderr)
        return 2
    finally:
        if stream is not None:
            await stream.stop()
        await api.aclose()


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    params = json.loads(sys.argv[3]) if len(sys.argv) == 4 else {}
    return asyncio.run(run_job(sys.argv[1], sys.argv[2], params))


if __name__ == "__main__":
    sys.exit(main())
