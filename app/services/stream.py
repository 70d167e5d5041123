"""Live event stream from the server's WebSocket, with heartbeats and reconnects.

The stream runs on the asyncio loop that qasync drives, so its signals are
emitted on the Qt thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import random
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from PySide6.QtCore import QObject, Signal
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidStatus,
    InvalidURI,
    WebSocketException,
)

from app.models import records
from app.services.stock_events import ServerClock, normalize_event

logger = logging.getLogger(__name__)

WEBSOCKET_PATH = "/api/v1/websocket"

# Handshake responses that another attempt cannot fix: a bad key, a rejected
# query or no endpoint at this URL.
_FATAL_HANDSHAKE_STATUSES = {
    400: "the server rejected the request",
    401: "the server requires an API key",
    403: "the server rejected the API key",
    404: "the server has no event stream at this address",
}

# Server messages that steer the connection rather than report an event.
_CONTROL_TYPES = frozenset(
    {
        "ping",
        "pong",
        "connection:status",
        "connected",
        "catch_up:incomplete",
        "error",
        "subscribed",
        "unsubscribed",
        "already_subscribed",
        "not_subscribed",
    }
)


class ConnectionState(enum.Enum):
    """Stage of the stream in its connect, reconnect and stop cycle."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DISCONNECTED = "disconnected"
    FAILED = "failed"  # stopped retrying, for example after an HTTP 403 handshake


@dataclass(frozen=True)
class ConnectionStatus:
    """Snapshot of the stream's connection for the status bar.

    Attributes:
        retry_in: Seconds until the next connection attempt, while waiting.
        rtt_ms: Round-trip time of the last WebSocket ping, in milliseconds.
        last_message_at: ``time.monotonic()`` of the last message received.
    """

    state: ConnectionState
    reason: str = ""
    retry_in: float | None = None
    rtt_ms: float | None = None
    last_message_at: float | None = None
    server_name: str = ""
    server_version: str = ""


class _Lost(Exception):
    """The connection ended, for the reason given in plain words."""


class EventStream(QObject):
    """Server events over one WebSocket that reconnects until stopped.

    Liveness comes from WebSocket protocol pings sent every half
    ``heartbeat_timeout``. A ping without a pong for the other half drops the
    connection, so a dead server is noticed within ``heartbeat_timeout`` even
    when no events flow. The stream replies to the server's own
    ``{"type": "ping"}`` messages with ``{"type": "pong"}``.

    After a reconnect the stream requests the events it missed with
    ``?after_seq=``, drops any event whose ``seq`` it has already emitted, and
    emits ``resync_needed`` when it cannot prove that nothing was missed.

    A stock Routilux server (see ``set_server_info``) sends events only for
    jobs the client subscribed to, one ``{"type": "subscribe", "job_id"}``
    message per job. The stream keeps the set of jobs given to
    ``set_job_subscriptions``, sends the subscribe and unsubscribe messages
    that bring the server in line with it, and subscribes again after every
    reconnect. Such a server cannot replay missed events, so every reconnect
    emits ``resync_needed``. Its naive local timestamps are rewritten as
    aware UTC (see ``app.services.stock_events``).

    NOTE: the stock server shares a job's events among all its subscribers,
    and it keeps the subscriptions of a dropped socket until it notices the
    drop. Until then, events that it hands to the dead socket are lost, and
    only the REST reload after ``resync_needed`` recovers the job's state.

    Signals:
        status_changed(ConnectionStatus): the state, reason, retry delay or
            round-trip time changed.
        event_received(dict): one server event, at most once per ``seq``
            until the server restarts its numbering.
        resync_needed(str): events may have been missed, for the reason in
            the argument. Consumers refetch what they show over REST.
    """

    status_changed = Signal(object)  # ConnectionStatus
    event_received = Signal(dict)  # one server event
    resync_needed = Signal(str)  # reason

    def __init__(
        self,
        url: str,
        api_key: str | None,
        parent: QObject | None = None,
        *,
        heartbeat_timeout: float = 10.0,
        max_backoff: float = 30.0,
        initial_backoff: float = 0.5,
        query_api_key: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        per_job_subscriptions: bool = False,
    ) -> None:
        """Create a stopped stream.

        Args:
            url: The server root (``http://host:port``) or the full WebSocket
                URL; a root gets ``/api/v1/websocket`` appended.
            api_key: Sent in the ``X-API-Key`` handshake header.
            heartbeat_timeout: Seconds without a pong before the connection
                counts as lost.
            max_backoff: Cap on the delay between reconnect attempts, seconds.
            initial_backoff: Delay before the first reconnect attempt, seconds.
            query_api_key: Also send the key as ``?api_key=``, which the stock
                Routilux server needs because it ignores the header.
            ssl_context: TLS settings for a ``wss://`` URL, for example with a
                custom CA file. None uses the system's default verification.
            per_job_subscriptions: Subscribe to each job of
                ``set_job_subscriptions`` by message, as the stock Routilux
                server needs. ``set_server_info`` turns it on for a stock
                server.
        """
        super().__init__(parent)
        self._url = websocket_url(url)
        self._api_key = api_key
        self._query_api_key = query_api_key
        self._heartbeat_timeout = heartbeat_timeout
        self._max_backoff = max_backoff
        self._initial_backoff = initial_backoff
        self._ssl_context = ssl_context

        self._status = ConnectionStatus(ConnectionState.DISCONNECTED)
        self._task: asyncio.Task[None] | None = None
        self._websocket: ClientConnection | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._last_seq: int | None = None
        self._last_message_at: float | None = None
        self._heartbeat_failure: str | None = None

        self._per_job = per_job_subscriptions
        self._wanted_jobs: frozenset[str] = frozenset()
        self._subscriptions_changed = asyncio.Event()
        self._clock: ServerClock | None = (
            ServerClock() if per_job_subscriptions else None
        )

    @property
    def status(self) -> ConnectionStatus:
        """Current connection status."""
        return replace(self._status, last_message_at=self._last_message_at)

    @property
    def last_seq(self) -> int | None:
        """``seq`` of the last event received, or the server's newest seq at connect time.

        None until either is known. The next reconnect requests the events after it.
        """
        return self._last_seq

    @property
    def is_running(self) -> bool:
        """Whether the stream is connected or still trying to connect."""
        return self._task is not None and not self._task.done()

    @property
    def per_job_subscriptions(self) -> bool:
        """Whether the server sends events only for jobs subscribed one by one."""
        return self._per_job

    @property
    def job_subscriptions(self) -> frozenset[str]:
        """Jobs the stream keeps subscribed while ``per_job_subscriptions`` is on."""
        return self._wanted_jobs

    def set_job_subscriptions(self, job_ids: Iterable[str]) -> None:
        """Keep exactly ``job_ids`` subscribed, now and after every reconnect.

        Without ``per_job_subscriptions`` the set is only stored, because the
        server already sends the events of every job.
        """
        wanted = frozenset(job_ids)
        if wanted != self._wanted_jobs:
            self._wanted_jobs = wanted
            self._subscriptions_changed.set()

    def subscribe_jobs(self, job_ids: Iterable[str]) -> None:
        """Add ``job_ids`` to the subscribed jobs."""
        self.set_job_subscriptions(self._wanted_jobs | frozenset(job_ids))

    def unsubscribe_jobs(self, job_ids: Iterable[str]) -> None:
        """Remove ``job_ids`` from the subscribed jobs."""
        self.set_job_subscriptions(self._wanted_jobs - frozenset(job_ids))

    def set_server_info(self, info: records.ServerInfo) -> None:
        """Apply the REST discovery document to later connections and statuses.

        Statuses then carry the server's name and version. A stock server
        also gets the key as ``?api_key=`` from the next handshake on, because
        it ignores the header, and per-job subscriptions with timestamp
        conversion.
        """
        self._status = replace(
            self._status, server_name=info.name, server_version=info.version
        )
        if info.is_stock:
            self._query_api_key = True
            self._per_job = True
            if self._clock is None:
                self._clock = ServerClock()
            self._subscriptions_changed.set()

    def start(self) -> None:
        """Start connecting in the background, unless already running."""
        if self._task is not None and not self._task.done():
            return
        self._stopping = False
        self._wake = asyncio.Event()
        self._subscriptions_changed = asyncio.Event()
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """Close the connection cleanly and stop reconnecting."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        websocket = self._websocket
        if websocket is not None:
            with contextlib.suppress(ConnectionClosed, OSError):
                await websocket.close()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._set_status(ConnectionState.DISCONNECTED, "Disconnected")
        logger.info("Event stream stopped: %s", self._safe_url())

    def reconnect_now(self) -> None:
        """Skip the back-off wait, or start again after a failure."""
        if self._task is None or self._task.done():
            self.start()
        else:
            self._wake.set()

    async def _run(self) -> None:
        try:
            await self._connect_until_stopped()
        except Exception as exc:
            logger.exception("Event stream stopped by an unexpected error")
            self._set_status(
                ConnectionState.FAILED,
                f"Event stream stopped by an unexpected error: {exc}",
            )

    async def _connect_until_stopped(self) -> None:
        """Connect, serve and reconnect with back-off until stopped or refused.

        NOTE: websockets' own reconnecting ``async for ... in connect()`` is
        not used because every attempt needs a new URL (``after_seq``) and the
        wait between attempts must be visible (``retry_in``) and skippable.
        """
        attempt = 0
        ever_connected = False
        while not self._stopping:
            state = (
                ConnectionState.RECONNECTING
                if attempt or ever_connected
                else ConnectionState.CONNECTING
            )
            self._set_status(state, "Connecting", retry_in=None)
            try:
                websocket = await self._open()
            except _Fatal as exc:
                logger.error("Event stream failed, not retrying: %s", exc)
                self._set_status(ConnectionState.FAILED, str(exc))
                return
            except _Lost as exc:
                reason = str(exc)
            else:
                attempt = 0
                reason = await self._serve(websocket, reconnected=ever_connected)
                ever_connected = True
                if self._stopping:
                    return

            delay = self._backoff(attempt)
            attempt += 1
            logger.info("Event stream reconnecting in %.1f s: %s", delay, reason)
            self._set_status(ConnectionState.RECONNECTING, reason, retry_in=delay)
            await self._wait(delay)

    async def _open(self) -> ClientConnection:
        """Perform the handshake, raising _Fatal or _Lost when it fails."""
        headers = {"X-API-Key": self._api_key} if self._api_key else {}
        options: dict[str, Any] = {}
        if self._ssl_context is not None and self._url.startswith("wss:"):
            options["ssl"] = self._ssl_context
        try:
            return await connect(
                self._connect_url(),
                additional_headers=headers,
                **options,
                open_timeout=self._heartbeat_timeout,
                ping_interval=None,
                ping_timeout=None,
                close_timeout=min(self._heartbeat_timeout, 5.0),
                max_size=16 * 2**20,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            detail = _rejection_detail(exc.response.body)
            if status in _FATAL_HANDSHAKE_STATUSES:
                reason = detail or _FATAL_HANDSHAKE_STATUSES[status]
                raise _Fatal(
                    f"Couldn't connect to the event stream: {reason} (HTTP {status})"
                ) from exc
            raise _Lost(
                f"Couldn't connect to the event stream: {detail or 'HTTP error'} (HTTP {status})"
            ) from exc
        except InvalidURI as exc:
            raise _Fatal(f"Invalid event stream URL: {exc}") from exc
        except TimeoutError as exc:
            raise _Lost(
                f"Couldn't connect to the event stream: no response within {self._heartbeat_timeout:g} s"
            ) from exc
        except ConnectionRefusedError as exc:
            raise _Lost(
                "Couldn't connect to the event stream: connection refused"
            ) from exc
        except (OSError, WebSocketException) as exc:
            raise _Lost(
                f"Couldn't connect to the event stream: {exc or type(exc).__name__}"
            ) from exc

    async def _serve(self, websocket: ClientConnection, *, reconnected: bool) -> str:
        """Receive messages until the connection ends and return the reason."""
        self._websocket = websocket
        self._heartbeat_failure = None
        self._last_message_at = time.monotonic()
        self._set_status(ConnectionState.CONNECTED, "Connected", retry_in=None)
        logger.info("Event stream connected: %s", self._safe_url())
        if reconnected and self._per_job:
            self.resync_needed.emit(
                "This server can't replay events, so events sent while disconnected may be missing"
            )
        elif reconnected and self._last_seq is None:
            self.resync_needed.emit(
                "Reconnected without a replay point, so events sent while disconnected may be missing"
            )

        heartbeat = asyncio.ensure_future(self._heartbeat(websocket))
        subscriptions = asyncio.ensure_future(self._sync_subscriptions(websocket))
        try:
            async for message in websocket:
                await self._handle(websocket, message)
            reason = websocket.close_reason or f"code {websocket.close_code}"
            return f"The server closed the connection ({reason})"
        except ConnectionClosed as exc:
            if self._heartbeat_failure is not None:
                return self._heartbeat_failure
            return f"Lost connection to the server ({_describe_close(exc)})"
        finally:
            self._websocket = None
            for helper in (heartbeat, subscriptions):
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await helper
            await websocket.close()

    async def _heartbeat(self, websocket: ClientConnection) -> None:
        """Ping every half ``heartbeat_timeout`` and abort the socket when a pong is late."""
        half = self._heartbeat_timeout / 2
        while True:
            await asyncio.sleep(half)
            started = time.monotonic()
            try:
                async with asyncio.timeout(half):
                    pong = await websocket.ping()
                    await pong
            except TimeoutError:
                logger.warning("Event stream heartbeat: no pong within %.1f s", half)
                self._heartbeat_failure = f"Lost connection: the server didn't answer a heartbeat within {self._heartbeat_timeout:g} s"
                websocket.transport.abort()
                return
            except ConnectionClosed:
                return
            rtt_ms = (time.monotonic() - started) * 1000
            self._set_status(self._status.state, self._status.reason, rtt_ms=rtt_ms)

    async def _sync_subscriptions(self, websocket: ClientConnection) -> None:
        """Send the subscribe and unsubscribe messages that match the wanted jobs.

        Runs for one connection. The set starts empty on every connection,
        because the server forgets a client's subscriptions when it leaves.
        """
        subscribed: set[str] = set()
        try:
            while True:
                self._subscriptions_changed.clear()
                if self._per_job:
                    wanted = self._wanted_jobs
                    for job_id in sorted(wanted - subscribed):
                        await websocket.send(
                            json.dumps({"type": "subscribe", "job_id": job_id})
                        )
                        subscribed.add(job_id)
                    for job_id in sorted(subscribed - wanted):
                        await websocket.send(
                            json.dumps({"type": "unsubscribe", "job_id": job_id})
                        )
                        subscribed.discard(job_id)
                    logger.debug("> subscribed to %d jobs", len(subscribed))
                await self._subscriptions_changed.wait()
        except ConnectionClosed:
            return

    async def _handle(self, websocket: ClientConnection, raw: str | bytes) -> None:
        self._last_message_at = time.monotonic()
        try:
            message = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            logger.warning("Event stream: ignoring a message that is not JSON")
            return
        if not isinstance(message, dict):
            logger.warning("Event stream: ignoring a message that is not a JSON object")
            return

        kind = message.get("type")
        if kind == "ping":
            await websocket.send(json.dumps({"type": "pong"}))
        elif kind == "connection:status":
            self._on_connection_status(message)
        elif kind == "catch_up:incomplete":
            self._on_catch_up_incomplete(message)
        elif isinstance(message.get("seq"), int) or kind not in _CONTROL_TYPES:
            self._on_event(message)
        elif kind == "error":
            logger.warning(
                "Event stream: the server reported an error: %s", message.get("message")
            )
        else:
            logger.debug("< %s", kind)

    def _on_connection_status(self, message: dict[str, Any]) -> None:
        name = message.get("server_name") or self._status.server_name
        version = message.get("server_version") or self._status.server_version
        self._status = replace(
            self._status, server_name=str(name), server_version=str(version)
        )

        # The server's newest seq is the replay point for the next reconnect
        # when no event has arrived yet. A server whose newest seq is behind
        # ours was restarted with its history reset and counts from 1 again.
        # Unless last_seq is lowered, every new event would look like a duplicate.
        server_seq = message.get("last_seq")
        if not isinstance(server_seq, int) or isinstance(server_seq, bool):
            return
        if self._last_seq is None:
            self._last_seq = server_seq
        elif server_seq < self._last_seq:
            self._last_seq = server_seq
            self.resync_needed.emit(
                "The server restarted and its event numbering began again"
            )

    def _on_catch_up_incomplete(self, message: dict[str, Any]) -> None:
        first = message.get("first_available_seq")
        if isinstance(first, int) and not isinstance(first, bool):
            if first - 1 == self._last_seq:
                return  # already handled when connection:status showed the reset
            self._last_seq = first - 1
        self.resync_needed.emit(
            "The server no longer has all the events missed while disconnected"
        )

    def _on_event(self, event: dict[str, Any]) -> None:
        if self._per_job and self._clock is not None:
            event = normalize_event(event, self._clock, datetime.now(UTC))
        seq = event.get("seq")
        if isinstance(seq, int) and not isinstance(seq, bool):
            if self._last_seq is not None and seq <= self._last_seq:
                logger.debug("< dropping duplicate event seq=%d", seq)
                return
            if self._last_seq is not None and seq > self._last_seq + 1:
                self.resync_needed.emit(
                    f"Events {self._last_seq + 1} to {seq - 1} were missed"
                )
            self._last_seq = seq
        self.event_received.emit(event)

    async def _wait(self, delay: float) -> None:
        """Sleep ``delay`` seconds unless ``reconnect_now`` or ``stop`` wakes us."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)

    def _backoff(self, attempt: int) -> float:
        """Exponential delay with equal jitter: half fixed, half random."""
        ceiling = min(self._max_backoff, self._initial_backoff * 2 ** min(attempt, 30))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _connect_url(self) -> str:
        query: dict[str, str] = {}
        if self._last_seq is not None:
            query["after_seq"] = str(self._last_seq)
        if self._query_api_key and self._api_key:
            query["api_key"] = self._api_key
        return _with_query(self._url, query)

    def _safe_url(self) -> str:
        """URL for logs, with any ``api_key`` query parameter removed."""
        parts = urlsplit(self._url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "api_key"]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def _set_status(self, state: ConnectionState, reason: str, **changes: Any) -> None:
        if state is not ConnectionState.CONNECTED:
            changes.setdefault("rtt_ms", None)
        status = replace(
            self._status,
            state=state,
            reason=reason,
            last_message_at=self._last_message_at,
            **changes,
        )
        self._status = status
        self.status_changed.emit(status)


class _Fatal(Exception):
    """A failure that no retry can fix."""


def websocket_url(url: str) -> str:
    """Turn a server root or WebSocket URL into the event stream's ``ws(s)://`` URL."""
    parts = urlsplit(url.strip())
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/")
    if path in ("", "/api/v1"):
        path = WEBSOCKET_PATH
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in extra]
    query.extend(extra.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _rejection_detail(body: bytes | None) -> str:
    """Return the ``message`` of a JSON error body, or an empty string."""
    try:
        parsed = json.loads(body or b"")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    if not isinstance(parsed, dict):
        return ""
    nested = parsed.get("error")
    message = parsed.get("message") or (
        nested.get("message") if isinstance(nested, dict) else None
    )
    return str(message).rstrip(".") if message else ""


def _describe_close(exc: ConnectionClosed) -> str:
    received = exc.rcvd
    if received is None:
        return "no close frame"
    return f"code {received.code}{': ' + received.reason if received.reason else ''}"
