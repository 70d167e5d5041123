"""The event-stream WebSocket routes, ``/api/v1/websocket`` and its alias ``/api/v1/ws``.

The handshake is checked before the socket is accepted: the ``Origin``
header (browsers only), the API key (``X-API-Key`` header or ``?api_key=``)
and the query parameters. A rejected handshake gets a plain HTTP response
(400, 401, 403 or 503) with the API's JSON error body.
"""

from __future__ import annotations

import hmac
import logging
import re
import uuid
from typing import TYPE_CHECKING

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse

from embedded_server.events import protocol
from embedded_server.events.connection import EventConnection
from embedded_server.events.protocol import ProtocolError, Subscription

if TYPE_CHECKING:
    from embedded_server.events.bus import EventBus
    from embedded_server.settings import Settings

logger = logging.getLogger(__name__)

router = APIRouter(tags=["events"])


class HandshakeRejected(Exception):
    """A handshake the server rejects, with the HTTP status of its response."""

    _CODES = {
        400: "BAD_REQUEST",
        401: "UNAUTHORIZED",
        403: "FORBIDDEN",
        503: "SERVICE_UNAVAILABLE",
    }

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = self._CODES[status]
        self.message = message

    def response(self) -> JSONResponse:
        """Build the HTTP response, in the API's error shape."""
        error = {"code": self.code, "message": self.message, "details": None}
        body = {**error, "error": {**error, "request_id": uuid.uuid4().hex}}
        return JSONResponse(body, status_code=self.status)


async def event_stream(websocket: WebSocket) -> None:
    """Serve one event-stream client."""
    install_log_redaction()
    bus: EventBus = websocket.app.state.bus
    settings: Settings = websocket.app.state.settings
    peer = _peer(websocket)
    try:
        check_origin(websocket, settings.cors_origins)
        check_api_key(websocket, settings.api_key)
        after_seq, subscription = parse_query(websocket)
        if bus.closed:
            raise HandshakeRejected(
                503, "The server is shutting down; reconnect later."
            )
    except HandshakeRejected as rejection:
        logger.warning("Rejected event stream from %s: %s", peer, rejection.message)
        await _deny(websocket, rejection)
        return

    await websocket.accept()
    connection = EventConnection(
        websocket,
        bus,
        heartbeat_interval=settings.heartbeat_interval,
        after_seq=after_seq,
        subscription=subscription,
        peer=peer,
    )
    await connection.run()


router.add_api_websocket_route("/api/v1/websocket", event_stream, name="event_stream")
router.add_api_websocket_route("/api/v1/ws", event_stream, name="event_stream_alias")


async def _deny(websocket: WebSocket, rejection: HandshakeRejected) -> None:
    try:
        await websocket.send_denial_response(rejection.response())
    except RuntimeError:
        # The server lacks the denial-response extension; closing before
        # the accept makes it respond with 403 instead.
        await websocket.close(code=1008, reason=rejection.message[:120])


def _peer(websocket: WebSocket) -> str:
    client = websocket.client
    return f"{client.host}:{client.port}" if client else "unknown client"


# Handshake checks


def check_origin(websocket: WebSocket, allowed: list[str]) -> None:
    """Reject a browser page whose origin is not configured.

    Clients that are not browsers send no ``Origin`` and pass. ``*`` in the
    allowed list admits every origin.
    """
    origin = websocket.headers.get("origin")
    if origin is None:
        return
    normalized = {item.rstrip("/").lower() for item in allowed}
    if "*" in normalized or origin.rstrip("/").lower() in normalized:
        return
    raise HandshakeRejected(
        403, f"Origin {origin!r} is not allowed to open the event stream."
    )


def check_api_key(websocket: WebSocket, expected: str | None) -> None:
    """Require the server's API key when it has one; compared in constant time."""
    if expected is None:
        return
    given = websocket.headers.get("x-api-key") or websocket.query_params.get("api_key")
    if not given:
        raise HandshakeRejected(
            401,
            "Missing API key: send the X-API-Key header or the api_key query parameter.",
        )
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HandshakeRejected(403, "Invalid API key.")


def parse_query(websocket: WebSocket) -> tuple[int | None, Subscription]:
    """Read ``after_seq`` and the optional ``events``, ``job_ids``, ``flow_ids`` filters.

    The filters are comma-separated lists and make up the subscription the
    stream (and its replay) starts with; a missing or empty one admits
    everything.
    """
    params = websocket.query_params
    after_seq = None
    raw = params.get("after_seq")
    if raw is not None:
        if not re.fullmatch(r"\d{1,18}", raw.strip()):
            raise HandshakeRejected(
                400, f"after_seq must be a non-negative integer, got {raw[:40]!r}."
            )
        after_seq = int(raw)
    try:
        events = _query_list(params.get("events"))
        job_ids = _query_list(params.get("job_ids"))
        flow_ids = _query_list(params.get("flow_ids"))
        subscription = Subscription(
            frozenset(protocol.parse_event_types(events)) if events else None,
            frozenset(protocol.parse_ids(job_ids, "job_ids")) if job_ids else None,
            frozenset(protocol.parse_ids(flow_ids, "flow_ids")) if flow_ids else None,
        )
        protocol.check_filter_size(subscription)
    except ProtocolError as error:
        raise HandshakeRejected(400, error.message) from None
    return after_seq, subscription


def _query_list(raw: str | None) -> list[str]:
    if raw is None:
        return []
    return [item.strip() for item in raw.split(",") if item.strip()]


# Logging


_API_KEY_PATTERN = re.compile(r"(api_key=)[^&\s\"']*", re.IGNORECASE)


class ApiKeyRedactingFilter(logging.Filter):
    """Replace the value of ``api_key=`` in log records with ``***``.

    uvicorn logs each WebSocket handshake with its query string on the
    ``uvicorn.error`` logger, which would write a stock client's key to the
    log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Extend `logging.Filter.filter`: rewrite the record, never drop it."""
        if isinstance(record.msg, str) and "api_key" in record.msg.lower():
            record.msg = _API_KEY_PATTERN.sub(r"\1***", record.msg)
        if isinstance(record.args, tuple) and any(
            isinstance(arg, str) and "api_key=" in arg.lower() for arg in record.args
        ):
            record.args = tuple(
                _API_KEY_PATTERN.sub(r"\1***", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


_REDACTED_LOGGERS = ("uvicorn.error", "uvicorn.access")


def install_log_redaction() -> None:
    """Attach `ApiKeyRedactingFilter` to uvicorn's loggers unless already there.

    Called when this module is imported and again for every connection, so
    the filter is in place before uvicorn logs the first handshake.
    """
    for name in _REDACTED_LOGGERS:
        log = logging.getLogger(name)
        if not any(isinstance(f, ApiKeyRedactingFilter) for f in log.filters):
            log.addFilter(ApiKeyRedactingFilter())


install_log_redaction()
