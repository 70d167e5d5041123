"""Subscriber processes of the WebSocket delivery benchmark (see ``bench.events``).

Each function named without a leading underscore is the body of one
``multiprocessing`` process: it connects, sets ``ready`` once it is
subscribed, receives until its stop condition, and puts a summary dict on
``results``. Every wait is bounded by ``RUN_TIME_LIMIT_S``.
"""

from __future__ import annotations

import asyncio
import json
import queue
import time
from collections import Counter
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

RUN_TIME_LIMIT_S = 300.0
# Seconds without a message before a subscriber of ours gives up waiting.
IDLE_LIMIT_S = 20.0
# Seconds without a message, after the last job was posted, before a stock
# subscriber stops, because the stock stream has no end marker it can count.
STOCK_IDLE_S = 3.0
MAX_RECONNECTS = 5


def our_subscriber(
    ws_url: str, expected_jobs: int, ready, results, deflate: bool
) -> None:
    """Process body: receive every event until ``expected_jobs`` burst jobs completed."""
    results.put(asyncio.run(_our_subscriber(ws_url, expected_jobs, ready, deflate)))


async def _our_subscriber(
    ws_url: str, expected_jobs: int, ready, deflate: bool
) -> dict[str, Any]:
    seqs: list[int] = []
    types: Counter[str] = Counter()
    state = {
        "first": None,
        "last": None,
        "start_seq": None,
        "completed": 0,
        "reconnects": 0,
        "close_codes": [],
    }
    deadline = time.monotonic() + RUN_TIME_LIMIT_S
    url = ws_url
    while state["completed"] < expected_jobs and time.monotonic() < deadline:
        try:
            async with connect(
                url, max_size=16 * 2**20, compression="deflate" if deflate else None
            ) as websocket:
                await _receive_ours(
                    websocket, expected_jobs, ready, seqs, types, state, deadline
                )
        except ConnectionClosed as closed:
            state["close_codes"].append(closed.rcvd.code if closed.rcvd else None)
        except TimeoutError:
            break
        except OSError as error:
            state["close_codes"].append(type(error).__name__)
        if state["completed"] >= expected_jobs or state["reconnects"] >= MAX_RECONNECTS:
            break
        state["reconnects"] += 1
        last = seqs[-1] if seqs else state["start_seq"]
        url = f"{ws_url}?after_seq={last}"
    cpu_s = time.process_time() - state.pop("cpu_at_ready", 0.0)
    return {"seqs": seqs, "types": dict(types), "cpu_s": cpu_s, **state}


async def _receive_ours(
    websocket, expected_jobs, ready, seqs, types, state, deadline
) -> None:
    while state["completed"] < expected_jobs:
        remaining = min(IDLE_LIMIT_S, deadline - time.monotonic())
        if remaining <= 0:
            raise TimeoutError
        text = await asyncio.wait_for(websocket.recv(), remaining)
        now = time.monotonic()
        message = json.loads(text)
        kind = message.get("type")
        if kind == "connection:status":
            if state["start_seq"] is None:
                state["start_seq"] = message.get("last_seq")
                state["cpu_at_ready"] = time.process_time()
                ready.set()
            continue
        if kind == "ping":
            await websocket.send('{"type":"pong"}')
            continue
        seq = message.get("seq")
        if seq is None:
            types[f"(no seq) {kind}"] += 1
            continue
        seqs.append(seq)
        types[kind] += 1
        if state["first"] is None:
            state["first"] = now
        state["last"] = now
        if kind == "job_completed" and message.get("flow_id") == "burst_flow":
            state["completed"] += 1


def stock_subscriber(ws_url: str, job_ids, ready, results, deflate: bool) -> None:
    """Process body: subscribe to each job id the parent sends; stop when idle after the last."""
    results.put(asyncio.run(_stock_subscriber(ws_url, job_ids, ready, deflate)))


async def _stock_subscriber(
    ws_url: str, job_ids, ready, deflate: bool
) -> dict[str, Any]:
    types: Counter[str] = Counter()
    state = {"first": None, "last": None, "events": 0, "subscribed": 0, "errors": 0}
    all_sent = asyncio.Event()
    deadline = time.monotonic() + RUN_TIME_LIMIT_S
    async with connect(
        ws_url, max_size=16 * 2**20, compression="deflate" if deflate else None
    ) as websocket:
        greeting = json.loads(await asyncio.wait_for(websocket.recv(), 10))
        state["greeting"] = greeting.get("type")
        cpu_at_ready = time.process_time()
        ready.set()
        feeder = asyncio.create_task(
            _feed_subscriptions(websocket, job_ids, all_sent, deadline)
        )
        last_activity = time.monotonic()
        while time.monotonic() < deadline:
            try:
                text = await asyncio.wait_for(websocket.recv(), 0.5)
            except TimeoutError:
                if (
                    all_sent.is_set()
                    and time.monotonic() - last_activity > STOCK_IDLE_S
                ):
                    break
                continue
            except ConnectionClosed:
                break
            last_activity = now = time.monotonic()
            message = json.loads(text)
            kind = message.get("type")
            if kind == "subscribed":
                state["subscribed"] += 1
            elif kind == "error":
                state["errors"] += 1
            elif kind not in ("already_subscribed", "ping", "connected"):
                types[kind] += 1
                state["events"] += 1
                state["first"] = state["first"] or now
                state["last"] = now
        feeder.cancel()
    return {"types": dict(types), "cpu_s": time.process_time() - cpu_at_ready, **state}


async def _feed_subscriptions(
    websocket, job_ids, all_sent: asyncio.Event, deadline: float
):
    while time.monotonic() < deadline:
        try:
            job_id = await asyncio.to_thread(job_ids.get, True, 1.0)
        except queue.Empty:
            continue
        if job_id is None:
            all_sent.set()
            return
        await websocket.send(json.dumps({"type": "subscribe", "job_id": job_id}))
