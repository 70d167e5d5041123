"""ASGI middleware: request ids, API-key auth, rate limiting, size limits and crash safety."""

from __future__ import annotations

import hmac
import json
import logging
import math
import threading
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from embedded_server.errors import error_body

logger = logging.getLogger(__name__)

# Paths anyone may read: liveness probes and the API description.
OPEN_PATHS = ("/api/v1/health/", "/openapi.json", "/docs", "/redoc")

MAX_BODY_BYTES = 16 * 1024 * 1024


async def _send_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    request_id: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps(error_body(code, message, None, request_id)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def key_matches(expected: str | None, given: str | None) -> bool:
    """Compare API keys in constant time; no key configured means open."""
    if expected is None:
        return True
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


class GuardMiddleware:
    """Every HTTP request gets an id, an auth check, a rate limit and a safety net.

    The safety net turns an unhandled exception into a 500 in the usual
    error shape and does not re-raise it, so the connection stays usable
    (the stock server resets the next request on the same connection).
    """

    def __init__(
        self, app: ASGIApp, *, api_key: str | None, rate_per_minute: int
    ) -> None:
        self.app = app
        self.api_key = api_key
        self.limiter = RateLimiter(rate_per_minute) if rate_per_minute > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        path = scope.get("path", "")
        headers = dict(scope.get("headers") or [])

        if not path.startswith(OPEN_PATHS):
            sent_key = headers.get(b"x-api-key")
            if not key_matches(
                self.api_key, sent_key.decode("latin-1") if sent_key else None
            ):
                status, code = (
                    (401, "UNAUTHORIZED") if sent_key is None else (403, "FORBIDDEN")
                )
                message = (
                    "Missing API key: send it in the X-API-Key header"
                    if sent_key is None
                    else "Invalid API key: check the X-API-Key header"
                )
                await _send_error(send, status, code, message, request_id)
                return
        if self.limiter is not None:
            client = (scope.get("client") or ("unknown", 0))[0]
            wait = self.limiter.take(client)
            if wait > 0:
                retry = str(math.ceil(wait))
                await _send_error(
                    send,
                    429,
                    "RATE_LIMITED",
                    f"Too many requests; retry after {retry} s",
                    request_id,
                    [(b"retry-after", retry.encode())],
                )
                return
        length = headers.get(b"content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            await _send_error(
                send,
                413,
                "PAYLOAD_TOO_LARGE",
                f"Request body of {int(length)} bytes exceeds the limit of "
                f"{MAX_BODY_BYTES} bytes",
                request_id,
            )
            return
        await self._call_safely(scope, receive, send, request_id)

    async def _call_safely(
        self, scope: Scope, receive: Receive, send: Send, request_id: str
    ) -> None:
        started = False

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", []).append(
                    (b"x-request-id", request_id.encode())
                )
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception(
                "Unhandled error in %s %s (request %s)",
                scope.get("method"),
                scope.get("path"),
                request_id,
            )
            if not started:
                await _send_error(
                    send,
                    500,
                    "INTERNAL_ERROR",
                    f"Internal error; the server log has details under request "
                    f"id {request_id}",
                    request_id,
                )


class RateLimiter:
    """A token bucket per client address."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(max(per_minute // 6, 10))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Take one token; return 0, or the seconds to wait when the bucket is empty."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[client] = (tokens, now)
                return (1 - tokens) / self.rate
            self._buckets[client] = (tokens - 1, now)
            if len(self._buckets) > 10_000:
                self._buckets.clear()
            return 0.0
