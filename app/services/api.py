"""Async REST client for the embedded server and stock Routilux servers.

Exceptions:

    Exception
    ├── ApiError           the server responded with an error status
    └── ServerUnreachable  no usable response: refused, reset or timed out
"""

from __future__ import annotations

import dataclasses
import json
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from app.models import records

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

# Bounds of ``POST /jobs/{id}/wait?timeout=`` on the stock server, in seconds.
MIN_WAIT = 1.0
MAX_WAIT = 3600.0

# Errors that a reused keep-alive connection gives when the server closed or
# reset it. A GET that fails with one of these is sent once more.
_STALE_CONNECTION_ERRORS = (
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)

# The stock Routilux 1.1.0 server labels several client errors INTERNAL_ERROR.
_CODES_BY_STATUS = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
}


class ApiError(Exception):
    """The server responded with an error status.

    Attributes:
        status: HTTP status code.
        code: Machine-readable error code such as ``JOB_NOT_FOUND``.
        message: The server's message, fit to show to a user.
        details: Extra data from the server (for a 422, ``{"errors": [...]}``).
        retry_after: Seconds to wait before retrying, from a 429's
            ``Retry-After`` header, or None.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{message} (HTTP {status} {code})")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        """Build from an error response in any shape the servers send.

        Reads the top-level ``code``/``message``/``details``, the nested
        ``error`` object and FastAPI's plain ``detail``.
        """
        status = response.status_code
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None

        fields: dict[str, Any] = {}
        if isinstance(body, Mapping):
            nested = body.get("error")
            if isinstance(nested, Mapping):
                fields.update({k: v for k, v in nested.items() if v is not None})
            fields.update(
                {
                    k: v
                    for k, v in body.items()
                    if k in ("code", "message", "details") and v is not None
                }
            )
            if "message" not in fields and "detail" in body:
                fields["message"] = _describe_detail(body["detail"])
                fields.setdefault("details", body["detail"])

        fallback_code = _CODES_BY_STATUS.get(status, f"HTTP_{status}")
        code = str(fields.get("code") or fallback_code)
        if code == "INTERNAL_ERROR" and status != 500:
            code = fallback_code
        message = str(
            fields.get("message") or response.reason_phrase or f"HTTP {status}"
        )
        retry_after = _parse_retry_after(response.headers.get("Retry-After"))
        return cls(
            status, code, message, fields.get("details"), retry_after=retry_after
        )


class ServerUnreachable(Exception):
    """The server could not be reached or sent no usable response."""


def _parse_retry_after(value: str | None) -> float | None:
    """Return the delay in a ``Retry-After`` header in seconds, or None for an HTTP date."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0)


def _describe_detail(detail: Any) -> str:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list) and detail and isinstance(detail[0], Mapping):
        return str(detail[0].get("msg", detail[0]))
    return str(detail)


def _describe_transport_error(exc: httpx.TransportError, timeout: float) -> str:
    """Return a plain-words reason for a transport error."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"the connection timed out after {timeout:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"the server didn't respond within {timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ConnectionRefusedError):
                return "connection refused"
            cause = cause.__cause__ or cause.__context__
        return f"couldn't connect ({exc or type(exc).__name__})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server closed the connection without a response"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return "the connection was reset"
    return str(exc) or type(exc).__name__


def _format_time(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def job_query_params(query: records.JobQuery) -> dict[str, str]:
    """Return the ``GET /jobs`` filter parameters for ``query``, omitting unset ones."""
    params: dict[str, str] = {}
    if query.flow_id:
        params["flow_id"] = query.flow_id
    if query.status:
        params["status"] = query.status
    if query.created_from is not None:
        params["from"] = _format_time(query.created_from)
    if query.created_to is not None:
        params["to"] = _format_time(query.created_to)
    return params


class _RecyclingStream(httpx.AsyncByteStream):
    """Response body that notifies its transport when the request is finished."""

    def __init__(
        self, inner: httpx.AsyncByteStream, on_close: Callable[[], Awaitable[None]]
    ) -> None:
        self._inner = inner
        self._on_close = on_close
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._inner.aclose()
        finally:
            await self._on_close()


class _RecyclingTransport(httpx.AsyncBaseTransport):
    """HTTP transport that moves to a fresh connection pool after a server fault.

    The stock Routilux 1.1.0 server re-raises the exception behind a 500 after
    sending it, and the next request on that keep-alive connection is reset.
    httpx offers no way to drop one pooled connection, so after a 500 or a
    broken connection this transport sends later requests through a new pool
    and closes the old pool once its in-flight requests end.
    """

    def __init__(self, factory: Callable[[], httpx.AsyncHTTPTransport]) -> None:
        self._factory = factory
        self._current = factory()
        self._in_flight: dict[httpx.AsyncHTTPTransport, int] = {self._current: 0}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._current
        self._in_flight[pool] += 1
        try:
            response = await pool.handle_async_request(request)
        except httpx.TransportError:
            self._retire(pool)
            await self._release(pool)
            raise
        except BaseException:
            await self._release(pool)
            raise

        if response.status_code == 500:
            self._retire(pool)
        response.stream = _RecyclingStream(response.stream, lambda: self._release(pool))
        return response

    def _retire(self, pool: httpx.AsyncHTTPTransport) -> None:
        if pool is self._current:
            logger.debug("= switching to a new connection pool after a server fault")
            self._current = self._factory()
            self._in_flight[self._current] = 0

    async def _release(self, pool: httpx.AsyncHTTPTransport) -> None:
        if pool not in self._in_flight:
            return  # the transport was closed while the request ran
        self._in_flight[pool] -= 1
        if pool is not self._current and self._in_flight[pool] == 0:
            del self._in_flight[pool]
            await pool.aclose()

    async def aclose(self) -> None:
        pools = list(self._in_flight)
        self._in_flight.clear()
        for pool in pools:
            await pool.aclose()


class ApiClient:
    """REST client over one shared ``httpx.AsyncClient``.

    Every method raises ApiError when the server responds with an error status
    or an unreadable body, and ServerUnreachable when it sends no response. GET
    requests are sent once more after a 500 or a broken keep-alive connection,
    on a new connection; other methods are never repeated.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """Create the client; no connection is made until the first request.

        Args:
            base_url: Server root such as ``http://127.0.0.1:8000``; a trailing
                ``/api/v1`` is removed.
            api_key: Sent as the ``X-API-Key`` header when given.
            timeout: Seconds allowed for connecting and for each read or write.
            transport: Replaces the network transport, for tests.
            verify: TLS verification: True, False, or an SSL context built
                with a custom CA file. Ignored when ``transport`` is given.
        """
        self._base_url = _normalize_base_url(base_url)
        self._api_key = api_key
        self._timeout = timeout
        if transport is None:
            transport = _RecyclingTransport(
                lambda: httpx.AsyncHTTPTransport(verify=verify)
            )
        headers = {"Accept": "application/json"}
        if api_key:
            headers["X-API-Key"] = api_key
        self._client = httpx.AsyncClient(
            base_url=self._base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    @property
    def base_url(self) -> str:
        """Server root URL without a trailing slash or ``/api/v1``."""
        return self._base_url

    @property
    def api_key(self) -> str | None:
        """API key sent as ``X-API-Key``, never logged."""
        return self._api_key

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def health(self) -> bool:
        """Return whether ``GET /api/v1/health/live`` reports ``ok``.

        The route needs no API key on either server, so it separates an
        unreachable server from one that rejects the key.
        """
        body = await self._request("GET", f"{API_PREFIX}/health/live")
        return isinstance(body, Mapping) and body.get("status") == "ok"

    async def server_info(self) -> records.ServerInfo:
        """Fetch the discovery document, falling back to the stock server's ``GET /``."""
        try:
            body = await self._request("GET", f"{API_PREFIX}/")
        except ApiError as exc:
            if exc.status not in (404, 405):
                raise
            body = await self._request("GET", "/")
        return self._parse(records.ServerInfo.from_json, body)

    async def list_flows(
        self,
    ) -> tuple[list[records.FlowInfo], list[records.LoadError]]:
        """Fetch all flows and the files that failed to load."""
        body = await self._request("GET", f"{API_PREFIX}/flows")
        return self._parse(_parse_flow_list, body)

    async def get_flow(self, flow_id: str) -> records.FlowInfo:
        """Fetch one flow."""
        body = await self._request("GET", f"{API_PREFIX}/flows/{_segment(flow_id)}")
        return self._parse(records.FlowInfo.from_json, body)

    async def list_jobs(
        self,
        query: records.JobQuery,
        *,
        limit: int = 100,
        offset: int = 0,
        cursor: str | None = None,
    ) -> records.JobPage:
        """Fetch one page of jobs matching ``query``, newest first.

        With ``cursor`` (a previous page's ``next_cursor``) the server ignores
        ``offset``, so it is not sent.
        """
        params = job_query_params(query)
        params["limit"] = str(limit)
        if cursor is not None:
            params["cursor"] = cursor
        else:
            params["offset"] = str(offset)
        body = await self._request("GET", f"{API_PREFIX}/jobs", params=params)
        return self._parse(records.JobPage.from_json, body)

    async def get_job(self, job_id: str) -> records.JobDetail:
        """Fetch one job with its params, data and failure details."""
        body = await self._request("GET", f"{API_PREFIX}/jobs/{_segment(job_id)}")
        return self._parse(records.JobDetail.from_json, body)

    async def get_trace(
        self, job_id: str, *, limit: int = 1000, offset: int = 0
    ) -> list[records.TraceEntry]:
        """Fetch a job's trace entries in the order they were written."""
        params = {"limit": str(limit), "offset": str(offset)}
        body = await self._request(
            "GET", f"{API_PREFIX}/jobs/{_segment(job_id)}/trace", params=params
        )
        return self._parse(_parse_trace, body)

    async def get_output(self, job_id: str) -> records.JobOutput:
        """Fetch what a job's routines printed."""
        body = await self._request(
            "GET", f"{API_PREFIX}/jobs/{_segment(job_id)}/output"
        )
        return self._parse(records.JobOutput.from_json, body)

    async def get_job_data(self, job_id: str) -> dict[str, Any]:
        """Fetch what a job's routines stored with ``job.set_data``.

        The stock server leaves this out of the job detail, so a script that
        reads a result uses this method on either server.
        """
        body = await self._request("GET", f"{API_PREFIX}/jobs/{_segment(job_id)}/data")
        return self._parse(_parse_job_data, body)

    async def wait_for_job(
        self,
        job_id: str,
        timeout: float = 60.0,  # noqa: ASYNC109 (the server does the waiting)
    ) -> records.JobDetail:
        """Wait on the server until a job ends or ``timeout`` seconds pass.

        Returns the job as it is after the wait, so a caller checks
        ``is_terminal`` to tell an ended job from a timeout. ``timeout`` is
        clamped to the 1 to 3600 seconds that the stock server accepts.
        """
        seconds = min(max(timeout, MIN_WAIT), MAX_WAIT)
        await self._request(
            "POST",
            f"{API_PREFIX}/jobs/{_segment(job_id)}/wait",
            params={"timeout": f"{seconds:g}"},
            read_timeout=seconds + self._timeout,
        )
        return await self.get_job(job_id)

    async def submit_job(
        self,
        flow_id: str,
        routine_id: str,
        slot_name: str,
        params: dict[str, Any],
        metadata: dict[str, Any] | None = None,
    ) -> records.JobDetail:
        """Start a job by posting ``params`` to an entry routine's slot.

        The stock server leaves ``params`` out of its response, so the returned
        JobDetail then carries the params that were sent.
        """
        payload = {
            "flow_id": flow_id,
            "routine_id": routine_id,
            "slot_name": slot_name,
            "data": params,
            "metadata": metadata or {},
        }
        body = await self._request("POST", f"{API_PREFIX}/jobs", json_body=payload)
        job = self._parse(records.JobDetail.from_json, body)
        if isinstance(body, Mapping) and "params" not in body:
            job = dataclasses.replace(job, params=dict(params))
        return job

    async def cancel_job(self, job_id: str) -> records.JobDetail:
        """Cancel a job. A job that already ended raises ApiError 409."""
        body = await self._request(
            "POST", f"{API_PREFIX}/jobs/{_segment(job_id)}/cancel"
        )
        return self._parse(records.JobDetail.from_json, body)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        read_timeout: float | None = None,
    ) -> Any:
        """Send one request and return its decoded JSON body.

        ``read_timeout`` replaces the client's read timeout for this request,
        for routes that hold the response back on purpose.
        """
        retries_left = 1 if method == "GET" else 0
        timeout: Any = httpx.USE_CLIENT_DEFAULT
        if read_timeout is not None:
            timeout = httpx.Timeout(self._timeout, read=read_timeout)
        while True:
            try:
                response = await self._client.request(
                    method, path, params=params, json=json_body, timeout=timeout
                )
            except _STALE_CONNECTION_ERRORS as exc:
                if retries_left:
                    retries_left -= 1
                    logger.info(
                        "Retrying %s %s on a new connection: %s", method, path, exc
                    )
                    continue
                raise self._unreachable(method, path, exc) from exc
            except httpx.TransportError as exc:
                raise self._unreachable(
                    method, path, exc, read_timeout or self._timeout
                ) from exc

            if response.status_code == 500 and retries_left:
                retries_left -= 1
                logger.info(
                    "Retrying %s %s on a new connection after HTTP 500", method, path
                )
                continue
            return self._decode(response)

    def _unreachable(
        self,
        method: str,
        path: str,
        exc: httpx.TransportError,
        timeout: float | None = None,
    ) -> ServerUnreachable:
        reason = _describe_transport_error(exc, timeout or self._timeout)
        logger.warning("%s %s failed: %s", method, path, reason)
        return ServerUnreachable(f"Couldn't reach {self._base_url}: {reason}")

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        if not response.is_success:
            error = ApiError.from_response(response)
            logger.debug(
                "< %s %s: HTTP %d %s",
                response.request.method,
                response.request.url.path,
                error.status,
                error.code,
            )
            raise error
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(
                response.status_code,
                "INVALID_RESPONSE",
                f"The server sent a body that is not JSON: {exc}",
            ) from exc

    @staticmethod
    def _parse(parser: Callable[[Any], Any], body: Any) -> Any:
        try:
            return parser(body)
        except (ValueError, TypeError) as exc:
            raise ApiError(
                200,
                "INVALID_RESPONSE",
                f"The server sent an unexpected response: {exc}",
            ) from exc


def _normalize_base_url(base_url: str) -> str:
    url = base_url.strip().rstrip("/")
    if url.endswith(API_PREFIX):
        url = url[: -len(API_PREFIX)]
    return url


def _segment(value: str) -> str:
    """Percent-encode one path segment, slashes included."""
    return quote(value, safe="")


def _parse_flow_list(
    body: Any,
) -> tuple[list[records.FlowInfo], list[records.LoadError]]:
    if not isinstance(body, Mapping):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    flows = [records.FlowInfo.from_json(raw) for raw in body.get("flows") or []]
    errors = [records.LoadError.from_json(raw) for raw in body.get("load_errors") or []]
    return flows, errors


def _parse_job_data(body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    data = body.get("data")
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ValueError(
            f"expected data to be a JSON object, got {type(data).__name__}"
        )
    return dict(data)


def _parse_trace(body: Any) -> list[records.TraceEntry]:
    if not isinstance(body, Mapping):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    return [records.TraceEntry.from_json(raw) for raw in body.get("trace_log") or []]
