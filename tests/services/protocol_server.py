"""A small WebSocket server that speaks the event stream protocol, for tests.

It sends ``connection:status`` on connect, periodic ``{"type": "ping"}``
messages, numbered events, replays from ``?after_seq=`` (with
``catch_up:incomplete`` when the requested events were forgotten), and rejects
a wrong API key with an HTTP 403 handshake. Recorder collects what an
EventStream emits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from app.services.stream import ConnectionState, EventStream


class Changes:
    """Wake-up for tests that wait on a condition, without polling."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self, *_args: Any) -> None:
        self._event.set()

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until ``predicate()`` is true, or raise TimeoutError after ``timeout`` s."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._event.clear()
                await self._event.wait()


class Recorder:
    """Collects everything an EventStream emits and wakes waiting tests."""

    def __init__(self, stream: EventStream, changes: Changes) -> None:
        self.statuses = []
        self.status_times: list[float] = []
        self.events: list[dict] = []
        self.resyncs: list[str] = []
        self._changes = changes
        stream.status_changed.connect(self._on_status)
        stream.event_received.connect(self._on_event)
        stream.resync_needed.connect(self._on_resync)

    def _on_status(self, status) -> None:
        self.statuses.append(status)
        self.status_times.append(time.monotonic())
        self._changes.notify()

    def _on_event(self, event: dict) -> None:
        self.events.append(event)
        self._changes.notify()

    def _on_resync(self, reason: str) -> None:
        self.resyncs.append(reason)
        self._changes.notify()

    @property
    def state(self) -> ConnectionState | None:
        return self.statuses[-1].state if self.statuses else None

    def seqs(self) -> list[int]:
        return [event["seq"] for event in self.events]

    def count(self, state: ConnectionState) -> int:
        return sum(1 for status in self.statuses if status.state is state)


class ProtocolServer:
    """Event stream server on 127.0.0.1 with knobs for failure cases.

    Attributes:
        replay_overlap: Replay this many already-seen events again after a
            reconnect, to check that the client drops duplicates.
        silent: Stop reading from each connection after the handshake, so
            protocol pings never get a pong.
        first_available: Lowest seq the server can still replay.
    """

    def __init__(
        self,
        changes: Changes,
        *,
        api_key: str | None = "secret",
        heartbeat_interval: float = 30.0,
        accept_query_key: bool = False,
    ) -> None:
        self.changes = changes
        self.api_key = api_key
        self.heartbeat_interval = heartbeat_interval
        self.accept_query_key = accept_query_key
        self.replay_overlap = 0
        self.silent = False
        self.first_available = 1
        self.status_extra: dict[str, Any] = {}

        self.log: list[dict[str, Any]] = []
        self.clients: set[ServerConnection] = set()
        self.handshakes: list[Request] = []
        self.rejected = 0
        self.after_seqs: list[int | None] = []
        self.pongs = 0
        self.close_codes: list[int | None] = []
        self._server: Server | None = None
        self._silent_connections: list[ServerConnection] = []

    async def start(self) -> str:
        """Start listening; return the server root URL (``http://127.0.0.1:PORT``)."""
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._check_key,
            ping_interval=None,
            close_timeout=0.2,
        )
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        for connection in self._silent_connections:
            with contextlib.suppress(RuntimeError):
                connection.transport.resume_reading()
        self._server.close()
        await self._server.wait_closed()

    async def publish(
        self, event_type: str = "routine_started", job_id: str = "j1", **data: Any
    ) -> dict[str, Any]:
        """Append an event to the log and send it to every connected client."""
        event = {
            "type": event_type,
            "seq": len(self.log) + 1,
            "job_id": job_id,
            "flow_id": "f",
            "timestamp": datetime.now(UTC).isoformat(),
            "data": data,
        }
        self.log.append(event)
        for client in list(self.clients):
            with contextlib.suppress(ConnectionClosed):
                await client.send(json.dumps(event))
        return event

    def drop_all(self) -> None:
        """Abort every client connection, as a crashed server or network would."""
        for client in list(self.clients):
            client.transport.abort()

    def _check_key(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        self.handshakes.append(request)
        self.changes.notify()
        if self.api_key is None:
            return None
        query = parse_qs(urlsplit(request.path).query)
        given = request.headers.get("X-API-Key")
        if self.accept_query_key and given is None:
            given = (query.get("api_key") or [None])[0]
        if given != self.api_key:
            self.rejected += 1
            return connection.respond(403, "Invalid API key\n")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        query = parse_qs(urlsplit(connection.request.path).query)
        after = int(query["after_seq"][0]) if "after_seq" in query else None
        self.after_seqs.append(after)

        status = {
            "type": "connection:status",
            "status": "connected",
            "timestamp": datetime.now(UTC).isoformat(),
            "server_time": datetime.now(UTC).isoformat(),
            "heartbeat_interval": self.heartbeat_interval,
            **self.status_extra,
        }
        await connection.send(json.dumps(status))
        if self.silent:
            connection.transport.pause_reading()
            self._silent_connections.append(connection)
            self.changes.notify()
            await connection.wait_closed()
            return

        await self._replay(connection, after)
        self.clients.add(connection)
        self.changes.notify()
        pinger = asyncio.ensure_future(self._ping(connection))
        try:
            async for raw in connection:
                if json.loads(raw).get("type") == "pong":
                    self.pongs += 1
                    self.changes.notify()
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(connection)
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pinger
            self.close_codes.append(connection.close_code)
            self.changes.notify()

    async def _replay(self, connection: ServerConnection, after: int | None) -> None:
        if after is None:
            return
        if after + 1 < self.first_available:
            await connection.send(
                json.dumps(
                    {
                        "type": "catch_up:incomplete",
                        "first_available_seq": self.first_available,
                    }
                )
            )
        start = max(after + 1 - self.replay_overlap, self.first_available)
        for event in self.log[start - 1 :]:
            await connection.send(json.dumps(event))

    async def _ping(self, connection: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self.heartbeat_interval)
                await connection.send(
                    json.dumps(
                        {"type": "ping", "timestamp": datetime.now(UTC).isoformat()}
                    )
                )
