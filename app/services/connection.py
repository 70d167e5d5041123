"""Connection targets, their TLS settings, and the "Test connection" check.

A ``ConnectionTarget`` is a server URL with its API key and TLS settings.
It builds the ApiClient and the EventStream for that server, and
``check_connection`` tries each layer in turn (REST, API key, WebSocket
handshake) and reports in plain words what worked and what did not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus, WebSocketException

from app.models.records import ServerInfo
from app.services.api import ApiClient, ApiError, ServerUnreachable
from app.services.stream import EventStream, websocket_url

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 10.0


class ConnectionSetupError(Exception):
    """The TLS settings of a target cannot be used, for the reason given."""


def tls_context(verify: bool = True, ca_bundle: str | None = None) -> ssl.SSLContext:
    """Return TLS settings for HTTPS and WSS connections.

    Args:
        verify: Check the server's certificate and host name. False accepts
            any certificate, which only suits a test server.
        ca_bundle: PEM file of certificate authorities trusted in addition
            to the system's.

    Raises:
        ConnectionSetupError: The CA bundle is missing or not a PEM file.
    """
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_bundle:
        path = Path(ca_bundle).expanduser()
        try:
            context.load_verify_locations(cafile=str(path))
        except FileNotFoundError as exc:
            raise ConnectionSetupError(f"The CA bundle {path} does not exist.") from exc
        except (ssl.SSLError, OSError) as exc:
            raise ConnectionSetupError(
                f"The CA bundle {path} is not a readable PEM file: {exc}"
            ) from exc
    return context


@dataclass(frozen=True)
class ConnectionTarget:
    """A server to connect to: URL, API key and TLS settings.

    Attributes:
        name: Profile name for messages, or empty.
    """

    url: str
    api_key: str | None = None
    verify_tls: bool = True
    ca_bundle: str | None = None
    name: str = ""

    @property
    def uses_tls(self) -> bool:
        """Whether the URL is ``https://`` (or ``wss://``)."""
        return urlsplit(self.url).scheme in ("https", "wss")

    def ssl_context(self) -> ssl.SSLContext:
        """Return the TLS settings; see ``tls_context``."""
        return tls_context(self.verify_tls, self.ca_bundle)

    def make_api(self, **options: Any) -> ApiClient:
        """Return an ApiClient for this server; ``options`` go to ApiClient."""
        return ApiClient(self.url, self.api_key, verify=self.ssl_context(), **options)

    def make_stream(
        self, info: ServerInfo | None = None, **options: Any
    ) -> EventStream:
        """Return a stopped EventStream for this server.

        Args:
            info: The server's discovery document; a stock server gets the
                key in the query and per-job subscriptions.
            options: Passed to EventStream.
        """
        stream = EventStream(
            self.url, self.api_key, ssl_context=self.ssl_context(), **options
        )
        if info is not None:
            stream.set_server_info(info)
        return stream


@dataclass(frozen=True)
class CheckResult:
    """One step of a connection check.

    Attributes:
        ok: True when the step worked, False when it failed, None when it
            was skipped because an earlier step failed.
    """

    name: str
    ok: bool | None
    detail: str

    def line(self) -> str:
        """Return the step as one line of the report."""
        mark = {True: "OK", False: "FAILED", None: "SKIPPED"}[self.ok]
        return f"{self.name}: {mark}. {self.detail}"


@dataclass(frozen=True)
class ConnectionReport:
    """Results of a connection check, one per step.

    Attributes:
        server_info: The discovery document, when the API key step worked.
    """

    results: tuple[CheckResult, ...]
    server_info: ServerInfo | None = None

    @property
    def ok(self) -> bool:
        """Whether every step worked."""
        return all(result.ok for result in self.results)

    def text(self) -> str:
        """Return the report as plain lines, one per step."""
        return "\n".join(result.line() for result in self.results)


REST = "REST API"
AUTH = "API key"
WEBSOCKET = "Event stream (WebSocket)"
SERVER = "Server"


async def check_connection(
    target: ConnectionTarget,
    *,
    timeout: float = CHECK_TIMEOUT,  # noqa: ASYNC109 (passed to each request)
) -> ConnectionReport:
    """Try the REST API, the API key and the WebSocket handshake of ``target``.

    A server or network problem raises nothing. Each failure becomes a step
    of the report, and the steps that cannot work after a failed one are
    marked as skipped.
    """
    try:
        ssl_context = target.ssl_context()
    except ConnectionSetupError as exc:
        return _report_failed_early(str(exc))

    api = ApiClient(target.url, target.api_key, timeout=timeout, verify=ssl_context)
    try:
        rest = await _check_rest(api, target)
        if not rest.ok:
            return _report(rest, skipped_reason="the server is unreachable")
        auth, info = await _check_auth(api, target)
    finally:
        await api.aclose()

    websocket = await _check_websocket(target, info, ssl_context, timeout)
    return ConnectionReport((rest, auth, websocket, _describe_server(info)), info)


def _report_failed_early(reason: str) -> ConnectionReport:
    failed = CheckResult(REST, False, reason)
    return _report(failed, skipped_reason="the TLS settings cannot be used")


def _report(first: CheckResult, *, skipped_reason: str) -> ConnectionReport:
    skipped = tuple(
        CheckResult(name, None, f"Not tried because {skipped_reason}.")
        for name in (AUTH, WEBSOCKET, SERVER)
    )
    return ConnectionReport((first, *skipped))


async def _check_rest(api: ApiClient, target: ConnectionTarget) -> CheckResult:
    try:
        healthy = await api.health()
    except ServerUnreachable as exc:
        return CheckResult(REST, False, _unreachable_detail(exc, target))
    except ApiError as exc:
        return CheckResult(
            REST,
            False,
            f"{target.url} answered HTTP {exc.status} on its health check; "
            "check that the URL points at a Routilux server.",
        )
    if not healthy:
        return CheckResult(
            REST, False, f"{target.url} answered, but not like a Routilux server."
        )
    return CheckResult(REST, True, f"{target.url} is reachable.")


def _unreachable_detail(exc: ServerUnreachable, target: ConnectionTarget) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (
                f"The server's TLS certificate is not trusted ({cause.verify_message}). "
                "Add its certificate authority as the profile's CA bundle."
            )
        if isinstance(cause, ssl.SSLError):
            return (
                f"The TLS handshake failed ({cause.reason or cause}). Check that the "
                "server speaks HTTPS on this port."
            )
        cause = cause.__cause__ or cause.__context__
    return f"{exc}. Check the URL and that the server is running."


async def _check_auth(
    api: ApiClient, target: ConnectionTarget
) -> tuple[CheckResult, ServerInfo | None]:
    try:
        info = await api.server_info()
    except ApiError as exc:
        if exc.status == 401:
            detail = "The server requires an API key; enter it in the profile."
        elif exc.status == 403:
            detail = "The server rejected the API key; check it and try again."
        else:
            detail = f"Reading the server's identity failed: {exc.message} (HTTP {exc.status})."
        return CheckResult(AUTH, False, detail), None
    except ServerUnreachable as exc:
        return CheckResult(AUTH, False, _unreachable_detail(exc, target)), None
    if target.api_key:
        return CheckResult(AUTH, True, "The server accepted the API key."), info
    return CheckResult(AUTH, True, "The server needs no API key."), info


async def _check_websocket(
    target: ConnectionTarget,
    info: ServerInfo | None,
    ssl_context: ssl.SSLContext,
    timeout: float,  # noqa: ASYNC109 (also the handshake's open_timeout)
) -> CheckResult:
    """Open the event stream, wait for its first message, then close it."""
    url = websocket_url(target.url)
    headers = {"X-API-Key": target.api_key} if target.api_key else {}
    if target.api_key and (info is None or info.is_stock):
        # The stock server reads the WebSocket key only from the query.
        url = _with_query(url, {"api_key": target.api_key})
    options: dict[str, Any] = {"ssl": ssl_context} if url.startswith("wss:") else {}
    try:
        async with asyncio.timeout(timeout):
            websocket = await connect(
                url,
                additional_headers=headers,
                open_timeout=timeout,
                ping_interval=None,
                close_timeout=1.0,
                **options,
            )
            try:
                first = await websocket.recv()
            finally:
                with contextlib.suppress(WebSocketException, OSError):
                    await websocket.close()
    except InvalidStatus as exc:
        status = exc.response.status_code
        return CheckResult(
            WEBSOCKET,
            False,
            f"The server rejected the WebSocket handshake with HTTP {status}"
            f"{_rejection_hint(status)}.",
        )
    except TimeoutError:
        return CheckResult(
            WEBSOCKET,
            False,
            f"No answer on the event stream within {timeout:g} s; a proxy may be "
            "blocking WebSocket connections.",
        )
    except (OSError, WebSocketException) as exc:
        return CheckResult(
            WEBSOCKET,
            False,
            f"The WebSocket connection failed: {exc or type(exc).__name__}.",
        )
    return CheckResult(
        WEBSOCKET, True, f"Connected; the server sent {_message_kind(first)}."
    )


def _rejection_hint(status: int) -> str:
    hints = {
        401: " (missing API key)",
        403: " (API key rejected, or the origin is not allowed)",
        404: " (no event stream at this address)",
    }
    return hints.get(status, "")


def _message_kind(raw: str | bytes) -> str:
    try:
        message = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "a message that is not JSON"
    kind = message.get("type") if isinstance(message, dict) else None
    return f"'{kind}'" if kind else "a message without a type"


def _describe_server(info: ServerInfo | None) -> CheckResult:
    if info is None:
        return CheckResult(SERVER, None, "Unknown, because the API key step failed.")
    name = f"{info.name} {info.version}".strip()
    if info.is_stock:
        return CheckResult(
            SERVER,
            True,
            f"{name}, a stock Routilux server: live events and the jobs list "
            "work; pausing, stepping, evaluate, dry runs and event catch-up do not.",
        )
    features = ", ".join(sorted(info.capabilities)) or "none"
    return CheckResult(SERVER, True, f"{name}, with these features: {features}.")


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = urlencode([*((k, v) for k, v in extra.items())])
    if parts.query:
        query = f"{parts.query}&{query}"
    return urlunsplit(parts._replace(query=query))
