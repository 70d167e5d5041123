"""Tests for the event-stream WebSocket against a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from embedded_server.events.bus import EventBus
from embedded_server.events.protocol import EVENT_TYPES
from embedded_server.events.websocket import router
from embedded_server.settings import Settings
from embedded_server.store.database import Database

pytestmark = pytest.mark.anyio

API_KEY = "test-key-7f3a"
HEARTBEAT = 0.2
TIMEOUT = 10.0


@pytest.fixture
def anyio_backend():
    return "asyncio"


class _Server(uvicorn.Server):
    """A uvicorn server that reports when its socket listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        self.ready.set()


@dataclass
class Harness:
    """One running server: its bus, database and base WebSocket URL."""

    bus: EventBus
    database: Database
    base_url: str
    port: int
    server: _Server
    task: asyncio.Task
    stopped: bool = False

    def url(self, path: str = "/api/v1/websocket", **params) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.base_url}{path}{query}"

    def connect(
        self,
        path: str = "/api/v1/websocket",
        *,
        key: str | None = API_KEY,
        origin: str | None = None,
        max_queue: int = 16,
        sock: socket.socket | None = None,
        compression: str | None = "deflate",
        **params,
    ) -> connect:
        headers = {"X-API-Key": key} if key else {}
        return connect(
            self.url(path, **params),
            additional_headers=headers,
            origin=origin,
            proxy=None,
            open_timeout=TIMEOUT,
            max_queue=max_queue,
            sock=sock,
            compression=compression,
        )

    async def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        await self.bus.close()
        self.server.should_exit = True
        await asyncio.wait_for(self.task, TIMEOUT)
        self.database.close()


@pytest.fixture
async def start_server(tmp_path) -> AsyncIterator:
    """Start servers on one database file in tmp_path; stops them at the end."""
    running: list[Harness] = []

    async def start(heartbeat_interval: float = HEARTBEAT, **bus_options) -> Harness:
        database = Database(tmp_path / "history.db")
        bus = EventBus(database, **bus_options)
        await bus.start()
        app = FastAPI()
        app.include_router(router)
        app.state.bus = bus
        app.state.settings = Settings(
            api_key=API_KEY,
            cors_origins=["http://app.example"],
            heartbeat_interval=heartbeat_interval,
        )
        # log_config=None leaves the test process's logging as pytest set it.
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            lifespan="off",
            log_config=None,
            log_level=None,
            access_log=False,
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve())
        await asyncio.wait_for(server.ready.wait(), TIMEOUT)
        port = server.servers[0].sockets[0].getsockname()[1]
        harness = Harness(bus, database, f"ws://127.0.0.1:{port}", port, server, task)
        running.append(harness)
        return harness

    yield start
    for harness in running:
        await harness.stop()


@pytest.fixture
async def harness(start_server) -> Harness:
    return await start_server()


async def receive(ws: ClientConnection, *, answer_pings: bool = True) -> dict:
    """Return the next message that is not a heartbeat, replying to pings."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if message["type"] == "ping" and answer_pings:
            await ws.send('{"type": "pong"}')
            continue
        return message


async def receive_events(ws: ClientConnection, count: int) -> list[dict]:
    """Return the next ``count`` events, skipping heartbeats."""
    events = []
    while len(events) < count:
        message = await receive(ws)
        assert "seq" in message, message
        events.append(message)
    return events


async def greet(ws: ClientConnection) -> dict:
    status = await receive(ws)
    assert status["type"] == "connection:status"
    return status


def publish_range(
    bus: EventBus, count: int, job_id: str = "job-1", flow_id: str = "flow-a"
):
    for index in range(count):
        bus.publish("log_message", job_id, flow_id, {"index": index})


async def test_connection_status_comes_first(harness):
    publish_range(harness.bus, 3)
    async with harness.connect() as ws:
        status = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))

    assert status["type"] == "connection:status"
    assert status["status"] == "connected"
    assert status["heartbeat_interval"] == HEARTBEAT
    assert status["last_seq"] == 3
    assert status["timestamp"].endswith("Z")
    assert status["server_time"].endswith("Z")


async def test_alias_path_serves_events(harness):
    async with harness.connect("/api/v1/ws") as ws:
        await greet(ws)
        harness.bus.publish("job_started", "job-1", "flow-a", {"job": {}})
        [event] = await receive_events(ws, 1)

    assert list(event) == ["type", "seq", "job_id", "flow_id", "timestamp", "data"]
    assert (event["type"], event["seq"], event["job_id"]) == ("job_started", 1, "job-1")


async def test_pings_arrive_on_idle_socket(harness):
    async with harness.connect() as ws:
        await greet(ws)
        pings = []
        for _ in range(4):
            message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            pings.append(message)
            await ws.send('{"type": "pong"}')

    assert [ping["type"] for ping in pings] == ["ping"] * 4
    assert all(ping["timestamp"].endswith("Z") for ping in pings)


async def test_silent_client_is_dropped(harness):
    pings = 0
    async with harness.connect() as ws:
        await greet(ws)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                pings += message["type"] == "ping"

    assert closed.value.rcvd.code == 4000
    assert "pong" in closed.value.rcvd.reason
    assert pings >= 2


async def test_client_ping_gets_pong(harness):
    async with harness.connect() as ws:
        await greet(ws)
        await ws.send('{"type": "ping"}')
        reply = await receive(ws)

    assert reply["type"] == "pong"


async def test_protocol_ping_is_answered(harness):
    async with harness.connect() as ws:
        await greet(ws)
        pong = await ws.ping()
        latency = await asyncio.wait_for(pong, TIMEOUT)

    assert latency >= 0


async def test_server_shutdown_closes_open_sockets(harness):
    async with harness.connect() as idle, harness.connect() as aborted:
        await greet(idle)
        await greet(aborted)
        aborted.transport.abort()
        harness.server.should_exit = True
        await asyncio.wait_for(harness.task, TIMEOUT)
        with pytest.raises(ConnectionClosed) as closed:
            await receive(idle)

    assert closed.value.rcvd.code == 1012


async def test_two_subscribers_both_get_every_event(harness):
    async with harness.connect() as first, harness.connect() as second:
        await greet(first)
        await greet(second)
        threads = [
            threading.Thread(target=publish_range, args=(harness.bus, 250, f"job-{n}"))
            for n in range(4)
        ]
        for thread in threads:
            thread.start()
        received_first = await receive_events(first, 1_000)
        received_second = await receive_events(second, 1_000)
        await asyncio.to_thread(lambda: [thread.join(TIMEOUT) for thread in threads])

    assert [event["seq"] for event in received_first] == list(range(1, 1_001))
    assert [event["seq"] for event in received_second] == list(range(1, 1_001))


async def test_subscribe_filters_by_type_and_job(harness):
    async with harness.connect() as ws:
        await greet(ws)
        await ws.send(
            json.dumps(
                {
                    "action": "subscribe",
                    "events": ["job_failed", "job_completed"],
                    "job_ids": ["job-2"],
                }
            )
        )
        ack = await receive(ws)
        for job in ("job-1", "job-2"):
            for kind in ("job_started", "job_failed", "job_completed"):
                harness.bus.publish(kind, job, "flow-a", {})
        events = await receive_events(ws, 2)

    assert ack == {
        "type": "subscribed",
        "events": ["job_completed", "job_failed"],
        "job_ids": ["job-2"],
        "flow_ids": None,
    }
    assert [(e["type"], e["job_id"]) for e in events] == [
        ("job_failed", "job-2"),
        ("job_completed", "job-2"),
    ]


async def test_subscribe_filters_by_flow(harness):
    async with harness.connect() as ws:
        await greet(ws)
        await ws.send('{"action": "subscribe", "flow_ids": ["flow-b"]}')
        await receive(ws)
        publish_range(harness.bus, 3, flow_id="flow-a")
        publish_range(harness.bus, 2, flow_id="flow-b")
        events = await receive_events(ws, 2)

    assert [(e["seq"], e["flow_id"]) for e in events] == [(4, "flow-b"), (5, "flow-b")]


async def test_unsubscribe_and_subscribe_all(harness):
    async with harness.connect() as ws:
        await greet(ws)
        await ws.send('{"action": "unsubscribe", "events": ["log_message"]}')
        unsubscribed = await receive(ws)
        harness.bus.publish("log_message", "job-1", "flow-a", {})
        harness.bus.publish("job_started", "job-1", "flow-a", {})
        [kept] = await receive_events(ws, 1)
        await ws.send('{"action": "subscribe_all"}')
        subscribed = await receive(ws)
        harness.bus.publish("log_message", "job-1", "flow-a", {})
        [again] = await receive_events(ws, 1)

    assert unsubscribed["type"] == "unsubscribed"
    assert "log_message" not in unsubscribed["events"]
    assert (kept["seq"], kept["type"]) == (2, "job_started")
    assert subscribed == {
        "type": "subscribed",
        "events": None,
        "job_ids": None,
        "flow_ids": None,
    }
    assert (again["seq"], again["type"]) == (3, "log_message")


async def test_unknown_event_type_is_rejected(harness):
    async with harness.connect() as ws:
        await greet(ws)
        await ws.send(
            '{"action": "subscribe", "events": ["job_started", "job_exploded"]}'
        )
        error = await receive(ws)

    assert error["type"] == "error"
    assert error["code"] == "UNKNOWN_EVENT_TYPE"
    assert "job_exploded" in error["message"]
    assert "routine_completed" in error["message"]
    assert error["allowed"] == list(EVENT_TYPES)


async def test_stock_subscribe_narrows_to_job(harness):
    async with harness.connect() as ws:
        status = await greet(ws)
        await ws.send('{"type": "subscribe", "job_id": "job-2"}')
        subscribed = await receive(ws)
        await ws.send('{"type": "subscribe", "job_id": "job-2"}')
        again = await receive(ws)
        publish_range(harness.bus, 2, job_id="job-1")
        publish_range(harness.bus, 1, job_id="job-2")
        [event] = await receive_events(ws, 1)
        await ws.send('{"type": "unsubscribe", "job_id": "job-2"}')
        unsubscribed = await receive(ws)
        await ws.send('{"type": "unsubscribe", "job_id": "job-2"}')
        not_subscribed = await receive(ws)

    assert subscribed == {
        "type": "subscribed",
        "job_id": "job-2",
        "subscriber_id": status["subscriber_id"],
    }
    assert again == {"type": "already_subscribed", "job_id": "job-2"}
    assert (event["seq"], event["job_id"]) == (3, "job-2")
    assert unsubscribed == {"type": "unsubscribed", "job_id": "job-2"}
    assert not_subscribed == {"type": "not_subscribed", "job_id": "job-2"}


async def test_invalid_messages_keep_socket_open(harness):
    async with harness.connect() as ws:
        await greet(ws)
        replies = []
        for text in (
            "not json {",
            "[1, 2]",
            '{"action": "dance"}',
            '{"hello": 1}',
            '{"action": "subscribe", "events": "job_started"}',
        ):
            await ws.send(text)
            replies.append(await receive(ws))
        await ws.send(b"\x00\x01")
        replies.append(await receive(ws))
        harness.bus.publish("job_started", "job-1", "flow-a", {})
        [event] = await receive_events(ws, 1)

    assert [reply["type"] for reply in replies] == ["error"] * 6
    assert [reply["code"] for reply in replies] == [
        "INVALID_JSON",
        "INVALID_MESSAGE",
        "UNKNOWN_MESSAGE",
        "UNKNOWN_MESSAGE",
        "INVALID_MESSAGE",
        "INVALID_MESSAGE",
    ]
    assert event["seq"] == 1


async def test_after_seq_replays_from_memory_without_duplicates(harness):
    publish_range(harness.bus, 500)
    first_batch = threading.Event()

    def publish_more() -> None:
        for index in range(1_500):
            harness.bus.publish("log_message", "job-1", "flow-a", {"index": index})
            if index == 200:
                first_batch.set()

    publisher = threading.Thread(target=publish_more)
    publisher.start()
    assert await asyncio.to_thread(first_batch.wait, TIMEOUT)
    async with harness.connect(after_seq=100) as ws:
        await greet(ws)
        events = await receive_events(ws, 1_900)
    await asyncio.to_thread(publisher.join, TIMEOUT)

    assert [event["seq"] for event in events] == list(range(101, 2_001))


async def test_after_seq_replays_from_sqlite_after_restart(start_server):
    harness = await start_server()
    publish_range(harness.bus, 300)
    await harness.stop()

    restarted = await start_server()
    async with restarted.connect(after_seq=120) as ws:
        status = await greet(ws)
        replayed = await receive_events(ws, 180)
        publish_range(restarted.bus, 5)
        live = await receive_events(ws, 5)

    assert status["last_seq"] == 300
    assert [event["seq"] for event in replayed + live] == list(range(121, 306))
    assert replayed[0]["data"] == {"index": 120}


async def test_after_seq_replay_keeps_job_filter(start_server):
    harness = await start_server(memory_events=10)
    for index in range(90):
        harness.bus.publish(
            "log_message", f"job-{index % 3}", "flow-a", {"index": index}
        )
    await harness.bus.wait_stored()

    async with harness.connect(
        after_seq=0, job_ids="job-1,job-2", events="log_message"
    ) as ws:
        status = await greet(ws)
        events = await receive_events(ws, 60)

    assert status["subscription"]["job_ids"] == ["job-1", "job-2"]
    assert [event["seq"] for event in events] == [s for s in range(1, 91) if s % 3 != 1]


async def test_catch_up_incomplete_after_pruning(start_server):
    harness = await start_server(memory_events=10, keep_events=40)
    publish_range(harness.bus, 400)
    await harness.bus.wait_stored()

    async with harness.connect(after_seq=5) as ws:
        await greet(ws)
        notice = await receive(ws)
        first = notice["first_available_seq"]
        events = await receive_events(ws, 401 - first)

    assert notice["type"] == "catch_up:incomplete"
    assert 6 < first <= 361
    assert [event["seq"] for event in events] == list(range(first, 401))


async def test_slow_subscriber_is_dropped_with_1013(start_server):
    harness = await start_server(subscriber_queue=50)
    async with harness.connect() as ws:
        status = await greet(ws)
        # Published on the event loop without a pause, so all 200 events reach
        # the subscriber in one batch and overflow its queue.
        publish_range(harness.bus, 200)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await receive(ws)

    assert closed.value.rcvd.code == 1013
    assert "after_seq" in closed.value.rcvd.reason
    async with harness.connect(after_seq=status["last_seq"]) as ws:
        await greet(ws)
        events = await receive_events(ws, 200)
    assert [event["seq"] for event in events] == list(range(1, 201))


async def test_stalled_client_does_not_hold_back_others(start_server):
    # A long heartbeat, so the silent client is dropped for its full queue.
    harness = await start_server(heartbeat_interval=60, subscriber_queue=1_000)
    padding = "x" * 2_000
    # A small receive buffer, a one-message queue and no compression in the
    # client, so the server's writes back up soon after it stops reading.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16_384)
    sock.connect(("127.0.0.1", harness.port))
    stalled = await harness.connect(max_queue=1, sock=sock, compression=None)
    try:
        await greet(stalled)
        async with harness.connect(compression=None) as reader:
            await greet(reader)
            # 20 bursts of 500 events, about 20 MB in all, which is far more
            # than the server's socket buffer plus the queue of 1,000. Each
            # burst fits the queue of the client that reads.
            events = []
            for _burst in range(20):
                for _ in range(500):
                    harness.bus.publish(
                        "log_message", "job-1", "flow-a", {"pad": padding}
                    )
                events += await receive_events(reader, 500)

        received = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                received.append(await receive(stalled))
    finally:
        await stalled.close()

    assert [event["seq"] for event in events] == list(range(1, 10_001))
    assert closed.value.rcvd.code == 1013
    assert len(received) < 10_000
    assert [event["seq"] for event in received] == list(range(1, len(received) + 1))


async def test_bus_close_sends_going_away(harness):
    async with harness.connect() as ws:
        await greet(ws)
        await harness.bus.close()
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)

    assert closed.value.rcvd.code == 1001


@pytest.mark.parametrize(
    ("key", "status"),
    [(None, 401), ("wrong-key", 403)],
    ids=["missing-key", "wrong-key"],
)
async def test_handshake_rejects_bad_key(harness, key, status):
    with pytest.raises(InvalidStatus) as rejected:
        async with harness.connect(key=key):
            pass

    response = rejected.value.response
    assert response.status_code == status
    assert json.loads(response.body)["error"]["code"] in ("UNAUTHORIZED", "FORBIDDEN")


async def test_query_key_is_redacted_from_logs(harness, caplog):
    # uvicorn logs each handshake with its query string on "uvicorn.error";
    # listen there directly, because other servers in this process may have
    # turned off its propagation.
    uvicorn_log = logging.getLogger("uvicorn.error")
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="uvicorn.error")
    uvicorn_log.addHandler(caplog.handler)
    try:
        async with connect(harness.url(api_key=API_KEY), proxy=None) as ws:
            status = await greet(ws)
    finally:
        uvicorn_log.removeHandler(caplog.handler)

    assert status["status"] == "connected"
    assert "api_key=***" in caplog.text
    assert API_KEY not in caplog.text


async def test_handshake_rejects_hostile_origin(harness):
    with pytest.raises(InvalidStatus) as rejected:
        async with harness.connect(origin="http://evil.example"):
            pass

    assert rejected.value.response.status_code == 403


async def test_handshake_accepts_configured_origin(harness):
    async with harness.connect(origin="http://app.example") as ws:
        status = await greet(ws)

    assert status["status"] == "connected"


@pytest.mark.parametrize(
    "params",
    [{"after_seq": "-1"}, {"after_seq": "abc"}, {"events": "job_exploded"}],
    ids=["negative-after-seq", "text-after-seq", "unknown-event-type"],
)
async def test_handshake_rejects_bad_query(harness, params):
    with pytest.raises(InvalidStatus) as rejected:
        async with harness.connect(**params):
            pass

    assert rejected.value.response.status_code == 400
