"""A WebSocket server that speaks the stock Routilux 1.1.0 generic socket protocol.

Like the real one, it greets with ``{"type": "connected"}``, sends a job's
events only after ``{"type": "subscribe", "job_id"}``, numbers nothing,
stamps events with naive local times, replies ``already_subscribed``,
``not_subscribed`` and ``error`` as the real server does, and sends no
heartbeat of its own. The tests drive it from the loop they run on.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from typing import Any

from protocol_server import Changes
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed


class StockSocketServer:
    """Stock-style generic socket on 127.0.0.1.

    Attributes:
        known_jobs: Jobs that ``subscribe`` accepts; others get an ``error``.
        received: Every client message, per connection, in order.
        stamp: Makes the naive timestamp of each published event.
    """

    def __init__(self, changes: Changes, known_jobs: set[str]) -> None:
        self.changes = changes
        self.known_jobs = known_jobs
        self.received: list[list[dict[str, Any]]] = []
        self.clients: dict[ServerConnection, set[str]] = {}
        self.stamp = lambda: datetime.now().isoformat()
        self._server: Server | None = None

    async def start(self) -> str:
        """Start listening; return the server root URL."""
        self._server = await serve(
            self._handle, "127.0.0.1", 0, ping_interval=None, close_timeout=0.2
        )
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    def subscriptions(self) -> set[str]:
        """Return the jobs the connected clients are subscribed to."""
        return set().union(*self.clients.values()) if self.clients else set()

    async def publish(self, event_type: str, job_id: str, **data: Any) -> None:
        """Send an event to the clients subscribed to ``job_id``."""
        event = {
            "type": event_type,
            "job_id": job_id,
            "timestamp": self.stamp(),
            "data": {"event_id": None, "routine_id": None, **data},
        }
        for client, jobs in list(self.clients.items()):
            if job_id in jobs:
                with contextlib.suppress(ConnectionClosed):
                    await client.send(json.dumps(event))

    def drop_all(self) -> None:
        """Abort every client connection."""
        for client in list(self.clients):
            client.transport.abort()

    async def _handle(self, connection: ServerConnection) -> None:
        messages: list[dict[str, Any]] = []
        self.received.append(messages)
        self.clients[connection] = set()
        await connection.send(json.dumps({"type": "connected", "message": "hi"}))
        self.changes.notify()
        try:
            async for raw in connection:
                message = json.loads(raw)
                messages.append(message)
                reply = self._reply(self.clients[connection], message)
                if reply is not None:
                    await connection.send(json.dumps(reply))
                self.changes.notify()
        except ConnectionClosed:
            pass
        finally:
            del self.clients[connection]
            self.changes.notify()

    def _reply(self, jobs: set[str], message: dict[str, Any]) -> dict | None:
        kind, job_id = message.get("type"), message.get("job_id")
        if kind == "subscribe":
            if job_id not in self.known_jobs:
                return {"type": "error", "message": f"Job '{job_id}' not found"}
            if job_id in jobs:
                return {"type": "already_subscribed", "job_id": job_id}
            jobs.add(job_id)
            return {"type": "subscribed", "job_id": job_id, "subscriber_id": "sub_1"}
        if kind == "unsubscribe":
            if job_id not in jobs:
                return {"type": "not_subscribed", "job_id": job_id}
            jobs.discard(job_id)
            return {"type": "unsubscribed", "job_id": job_id}
        return None
