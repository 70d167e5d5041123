"""One accepted event-stream socket: sending, reading client messages and heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from starlette.websockets import WebSocketDisconnect

from embedded_server.events import protocol
from embedded_server.events.protocol import Subscription

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

    from embedded_server.events.bus import EventBus
    from embedded_server.events.subscriber import Subscriber

logger = logging.getLogger(__name__)

# Heartbeat intervals a client may stay silent before it is dropped.
MISSED_HEARTBEATS = 3
HEARTBEAT_TIMEOUT = 4000
INTERNAL_ERROR = 1011
# Messages sent between two yields to the event loop, so one busy socket
# cannot starve the others.
SEND_BATCH = 256
# Seconds to wait for a close frame to get out to a client that reads slowly.
CLOSE_TIMEOUT = 5.0

_GONE = (WebSocketDisconnect, OSError, RuntimeError)


class EventConnection:
    """Runs one accepted WebSocket until either side closes it.

    Three tasks share the socket: the sender drains the subscriber's queue,
    the receiver applies client messages, and the heartbeat sends a ping
    every interval and drops a client that sent nothing for
    `MISSED_HEARTBEATS` intervals.
    """

    def __init__(
        self,
        websocket: WebSocket,
        bus: EventBus,
        *,
        heartbeat_interval: float,
        after_seq: int | None,
        subscription: Subscription,
        peer: str,
    ) -> None:
        self._websocket = websocket
        self._bus = bus
        self._interval = heartbeat_interval
        self._after_seq = after_seq
        self._initial_subscription = subscription
        self._peer = peer
        self._client_gone = False
        self._sent = 0
        self._last_received = 0.0

    async def run(self) -> None:
        """Serve the socket, then close it with the code the ending asked for."""
        subscriber = self._open_subscriber()
        self._last_received = asyncio.get_running_loop().time()
        tasks = [
            asyncio.create_task(self._send_loop(subscriber), name="send"),
            asyncio.create_task(self._receive_loop(subscriber), name="receive"),
            asyncio.create_task(self._heartbeat_loop(subscriber), name="heartbeat"),
            asyncio.create_task(subscriber.wait_closing(), name="closing"),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            self._bus.close_subscriber(subscriber)
        self._log_failures(subscriber, tasks, results)
        await self._close(subscriber)

    def _open_subscriber(self) -> Subscriber:
        # No await between opening and queueing the greeting, so last_seq is
        # exactly where the live stream starts.
        subscriber = self._bus.open_subscriber(
            after_seq=self._after_seq, subscription=self._initial_subscription
        )
        status = protocol.connection_status(
            subscriber_id=subscriber.subscriber_id,
            heartbeat_interval=self._interval,
            last_seq=self._bus.dispatched_seq,
            subscription=subscriber.subscription,
        )
        subscriber.send(protocol.encode(status), urgent=True)
        logger.info(
            "Event subscriber %s connected from %s (after_seq=%s)",
            subscriber.subscriber_id,
            self._peer,
            self._after_seq,
        )
        return subscriber

    async def _send_loop(self, subscriber: Subscriber) -> None:
        send = self._websocket.send
        try:
            while True:
                messages = await subscriber.next_messages(SEND_BATCH)
                if not messages:
                    return
                for text in messages:
                    await send({"type": "websocket.send", "text": text})
                self._sent += len(messages)
                await asyncio.sleep(0)
        except _GONE:
            self._client_gone = True

    async def _receive_loop(self, subscriber: Subscriber) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                message = await self._websocket.receive()
            except _GONE:
                message = {"type": "websocket.disconnect"}
            if message["type"] == "websocket.disconnect":
                self._client_gone = True
                return
            self._last_received = loop.time()
            self._apply(subscriber, message)

    def _apply(self, subscriber: Subscriber, message: dict) -> None:
        text = message.get("text")
        if text is None:
            error = protocol.ProtocolError(
                "INVALID_MESSAGE", "Binary messages are not supported; send JSON text."
            )
            subscriber.send(protocol.encode(error.to_json()))
            return
        logger.debug("< %s %.200s", subscriber.subscriber_id, text)
        subscriber.subscription, reply = protocol.handle_message(
            text, subscriber.subscription, subscriber.subscriber_id
        )
        if reply is not None:
            subscriber.send(protocol.encode(reply))

    async def _heartbeat_loop(self, subscriber: Subscriber) -> None:
        loop = asyncio.get_running_loop()
        limit = MISSED_HEARTBEATS * self._interval
        while True:
            await asyncio.sleep(self._interval)
            silent = loop.time() - self._last_received
            if silent > limit:
                subscriber.request_close(
                    HEARTBEAT_TIMEOUT,
                    f"No message from the client for {silent:.1f} s; answer every ping with a pong",
                )
                return
            subscriber.send(protocol.ping(), urgent=True)

    def _log_failures(
        self, subscriber: Subscriber, tasks: list[asyncio.Task], results: list[object]
    ) -> None:
        for task, result in zip(tasks, results, strict=True):
            if isinstance(result, Exception):
                logger.error(
                    "Event subscriber %s: %s task failed",
                    subscriber.subscriber_id,
                    task.get_name(),
                    exc_info=result,
                )
                subscriber.request_close(INTERNAL_ERROR, "Internal server error")

    async def _close(self, subscriber: Subscriber) -> None:
        code = subscriber.close_code
        logger.info(
            "Event subscriber %s closed (%s, %d messages sent)",
            subscriber.subscriber_id,
            "by the client"
            if self._client_gone
            else f"code {code}: {subscriber.close_reason}",
            self._sent,
        )
        if self._client_gone:
            return
        # A client that stopped reading may never take the close frame;
        # give up after a while and let the server drop the connection.
        with contextlib.suppress(*_GONE, TimeoutError):
            await asyncio.wait_for(
                self._websocket.close(code or INTERNAL_ERROR, subscriber.close_reason),
                CLOSE_TIMEOUT,
            )
