"""Tests for the REST client: error mapping, parameters, retries and parsing."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from app.models import records
from app.services.api import ApiClient, ApiError, ServerUnreachable

BASE = "http://127.0.0.1:9"

JOB = {
    "job_id": "j1",
    "flow_id": "f",
    "status": "running",
    "created_at": "2026-12-04T16:00:00.000Z",
}


def make_client(handler, **kwargs) -> ApiClient:
    return ApiClient(
        BASE,
        kwargs.pop("api_key", "secret"),
        transport=httpx.MockTransport(handler),
        **kwargs,
    )


def json_response(status: int, body) -> httpx.Response:
    return httpx.Response(status, json=body)


@pytest.mark.parametrize(
    ("status", "body", "code", "message"),
    [
        (
            404,
            {
                "code": "JOB_NOT_FOUND",
                "message": "Job 'x' not found",
                "details": None,
                "error": {
                    "code": "JOB_NOT_FOUND",
                    "message": "Job 'x' not found",
                    "details": None,
                    "request_id": "r",
                },
            },
            "JOB_NOT_FOUND",
            "Job 'x' not found",
        ),
        (
            409,
            {"error": {"code": "JOB_NOT_CANCELLABLE", "message": "Job ended"}},
            "JOB_NOT_CANCELLABLE",
            "Job ended",
        ),
        (400, {"code": "BAD_REQUEST", "message": "bad"}, "BAD_REQUEST", "bad"),
        (
            403,
            {"code": "INTERNAL_ERROR", "message": "Invalid API key"},
            "FORBIDDEN",
            "Invalid API key",
        ),
        (404, {"detail": "Not Found"}, "NOT_FOUND", "Not Found"),
        (502, "<html>bad gateway</html>", "HTTP_502", "Bad Gateway"),
    ],
    ids=[
        "dual-shape",
        "nested-only",
        "top-level-only",
        "stock-wrong-code",
        "fastapi-detail",
        "not-json",
    ],
)
def test_error_shapes(run, status, body, code, message):
    def handler(request):
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return json_response(status, body)

    async def scenario():
        client = make_client(handler)
        try:
            with pytest.raises(ApiError) as info:
                await client.get_job("x")
            return info.value
        finally:
            await client.aclose()

    error = run(scenario())
    assert error.status == status
    assert error.code == code
    assert error.message == message


def test_validation_error_keeps_details(run):
    details = {
        "errors": [
            {"loc": ["query", "limit"], "msg": "too big", "type": "less_than_equal"}
        ]
    }

    def handler(request):
        return json_response(
            422,
            {
                "error": {
                    "code": "VALIDATION_ERROR",
                    "message": "invalid",
                    "details": details,
                }
            },
        )

    async def scenario():
        client = make_client(handler)
        try:
            with pytest.raises(ApiError) as info:
                await client.list_jobs(records.JobQuery(), limit=5000)
            return info.value
        finally:
            await client.aclose()

    assert run(scenario()).details == details


def test_rate_limit_reports_retry_after(run):
    def handler(request):
        body = {"code": "RATE_LIMITED", "message": "Too many requests"}
        return httpx.Response(429, json=body, headers={"Retry-After": "7"})

    async def scenario():
        client = make_client(handler)
        try:
            with pytest.raises(ApiError) as info:
                await client.list_flows()
            return info.value
        finally:
            await client.aclose()

    error = run(scenario())
    assert error.code == "RATE_LIMITED"
    assert error.retry_after == 7.0


def test_list_jobs_encodes_filters(run):
    seen: list[httpx.Request] = []

    def handler(request):
        seen.append(request)
        return json_response(
            200,
            {"jobs": [JOB], "total": 1, "limit": 50, "offset": 10, "next_cursor": "c2"},
        )

    query = records.JobQuery(
        flow_id="etl orders",
        status="failed",
        created_from=datetime(2026, 12, 4, 18, 0, tzinfo=timezone(timedelta(hours=2))),
        created_to=datetime(2026, 12, 5, 0, 0),
    )

    async def scenario():
        client = make_client(handler)
        try:
            return await client.list_jobs(query, limit=50, offset=10)
        finally:
            await client.aclose()

    page = run(scenario())
    url = seen[0].url
    assert url.path == "/api/v1/jobs"
    assert url.params["from"] == "2026-12-04T16:00:00.000+00:00"
    assert url.params["to"] == "2026-12-05T00:00:00.000+00:00"
    assert b"from=2026-12-04T16%3A00%3A00.000%2B00%3A00" in url.query
    assert url.params["flow_id"] == "etl orders"
    assert url.params["status"] == "failed"
    assert url.params["limit"] == "50"
    assert url.params["offset"] == "10"
    assert page.next_cursor == "c2"
    assert page.jobs[0].created_at == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)


def test_list_jobs_with_cursor_omits_offset(run):
    seen: list[httpx.Request] = []

    def handler(request):
        seen.append(request)
        return json_response(
            200,
            {"jobs": [], "total": 0, "limit": 100, "offset": 0, "next_cursor": None},
        )

    async def scenario():
        client = make_client(handler)
        try:
            await client.list_jobs(records.JobQuery(), cursor="abc+/=", offset=40)
        finally:
            await client.aclose()

    run(scenario())
    params = seen[0].url.params
    assert params["cursor"] == "abc+/="
    assert "offset" not in params
    assert "flow_id" not in params


def test_api_key_header_sent(run):
    seen: list[httpx.Request] = []

    def handler(request):
        seen.append(request)
        return json_response(
            200, {"job_id": "j1", "output": "", "is_complete": True, "truncated": False}
        )

    async def scenario():
        client = make_client(handler, api_key="k-123")
        try:
            await client.get_output("a/b")
        finally:
            await client.aclose()

    run(scenario())
    assert seen[0].headers["X-API-Key"] == "k-123"
    assert seen[0].url.raw_path == b"/api/v1/jobs/a%2Fb/output"


def test_get_retried_once_after_500(run):
    calls: list[str] = []

    def handler(request):
        calls.append(request.method)
        if len(calls) == 1:
            return json_response(500, {"code": "INTERNAL_ERROR", "message": "boom"})
        return json_response(200, JOB)

    async def scenario():
        client = make_client(handler)
        try:
            return await client.get_job("j1")
        finally:
            await client.aclose()

    assert run(scenario()).job_id == "j1"
    assert calls == ["GET", "GET"]


def test_get_gives_up_after_second_500(run):
    calls: list[str] = []

    def handler(request):
        calls.append(request.method)
        return json_response(500, {"code": "INTERNAL_ERROR", "message": "boom"})

    async def scenario():
        client = make_client(handler)
        try:
            with pytest.raises(ApiError) as info:
                await client.get_job("j1")
            return info.value
        finally:
            await client.aclose()

    assert run(scenario()).status == 500
    assert len(calls) == 2


def test_post_not_retried_after_500(run):
    calls: list[str] = []

    def handler(request):
        calls.append(request.method)
        return json_response(500, {"code": "INTERNAL_ERROR", "message": "boom"})

    async def scenario():
        client = make_client(handler)
        try:
            with pytest.raises(ApiError):
                await client.cancel_job("j1")
        finally:
            await client.aclose()

    run(scenario())
    assert calls == ["POST"]


def test_get_retried_after_protocol_error(run):
    calls: list[str] = []

    def handler(request):
        calls.append(request.method)
        if len(calls) == 1:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return json_response(200, JOB)

    async def scenario():
        client = make_client(handler)
        try:
            return await client.get_job("j1")
        finally:
            await client.aclose()

    assert run(scenario()).job_id == "j1"
    assert len(calls) == 2


def test_repeated_reset_is_unreachable(run):
    def handler(request):
        raise httpx.ReadError("Connection reset by peer", request=request)

    async def scenario():
        client = make_client(handler)
        try:
            with pytest.raises(ServerUnreachable) as info:
                await client.list_flows()
            return str(info.value)
        finally:
            await client.aclose()

    assert run(scenario()) == f"Couldn't reach {BASE}: the connection was reset"


def test_connection_refused_message(run):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port is closed again, so connecting to it is refused.

    async def scenario():
        client = ApiClient(f"http://127.0.0.1:{port}/", None, timeout=2.0)
        try:
            with pytest.raises(ServerUnreachable) as info:
                await client.server_info()
            return str(info.value)
        finally:
            await client.aclose()

    assert (
        run(scenario()) == f"Couldn't reach http://127.0.0.1:{port}: connection refused"
    )


def test_server_info_falls_back_to_stock_root(run):
    paths: list[str] = []

    def handler(request):
        paths.append(request.url.path)
        if request.url.path == "/api/v1/":
            return json_response(
                404, {"code": "INTERNAL_ERROR", "message": "Not Found"}
            )
        return json_response(
            200, {"name": "Routilux API", "version": "1.1.0", "api_version": "v1"}
        )

    async def scenario():
        client = make_client(handler)
        try:
            return await client.server_info()
        finally:
            await client.aclose()

    info = run(scenario())
    assert paths == ["/api/v1/", "/"]
    assert info.is_stock
    assert info.version == "1.1.0"


def test_submit_job_sends_payload(run):
    bodies: list[dict] = []

    def handler(request):
        bodies.append(json.loads(request.content))
        return json_response(201, {**JOB, "worker_id": "w"})

    async def scenario():
        client = make_client(handler)
        try:
            return await client.submit_job("f", "reader", "input", {"records": 3})
        finally:
            await client.aclose()

    job = run(scenario())
    assert bodies == [
        {
            "flow_id": "f",
            "routine_id": "reader",
            "slot_name": "input",
            "data": {"records": 3},
            "metadata": {},
        }
    ]
    assert job.params == {"records": 3}


def test_list_flows_with_load_errors(run):
    def handler(request):
        return json_response(
            200,
            {
                "flows": [{"flow_id": "f", "routines": {}, "connections": []}],
                "total": 1,
                "load_errors": [
                    {"path": "/x.yaml", "kind": "flow", "error": "bad yaml"}
                ],
            },
        )

    async def scenario():
        client = make_client(handler)
        try:
            return await client.list_flows()
        finally:
            await client.aclose()

    flows, errors = run(scenario())
    assert [flow.flow_id for flow in flows] == ["f"]
    assert errors == [records.LoadError("/x.yaml", "flow", "bad yaml")]


def test_unexpected_body_is_api_error(run):
    def handler(request):
        return json_response(200, ["not", "a", "job"])

    async def scenario():
        client = make_client(handler)
        try:
            with pytest.raises(ApiError) as info:
                await client.get_job("j1")
            return info.value
        finally:
            await client.aclose()

    assert run(scenario()).code == "INVALID_RESPONSE"


def test_base_url_is_normalized():
    client = ApiClient("http://127.0.0.1:8000/api/v1/", "k")

    assert client.base_url == "http://127.0.0.1:8000"
    assert client.api_key == "k"


class StockLikeServer:
    """HTTP/1.1 server that resets a keep-alive connection after sending a 500.

    It mimics the stock Routilux 1.1.0 server: the request after a 500 on the
    same connection gets a TCP reset instead of a response.
    """

    def __init__(self):
        self.connections = 0
        self.requests: list[tuple[int, str]] = []
        self.failed_once = False
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def close(self):
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.connections += 1
        connection = self.connections
        poisoned = False
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line = head.split(b"\r\n", 1)[0].decode()
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                if poisoned:
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    writer.transport.abort()
                    return
                self.requests.append((connection, request_line))
                if "/boom" in request_line and not self.failed_once:
                    self.failed_once = True
                    poisoned = True
                    self._respond(
                        writer, 500, {"code": "INTERNAL_ERROR", "message": "boom"}
                    )
                else:
                    self._respond(writer, 200, JOB)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    @staticmethod
    def _respond(writer, status, body):
        payload = json.dumps(body).encode()
        reason = b"OK" if status == 200 else b"Internal Server Error"
        writer.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (status, reason, len(payload), payload)
        )


def test_requests_after_500_use_new_connection(run):
    async def scenario():
        server = StockLikeServer()
        base = await server.start()
        client = ApiClient(base, "k", timeout=5.0)
        try:
            first = await client.get_job("boom")
            second = await client.cancel_job("j1")
            return server, first, second
        finally:
            await client.aclose()
            await server.close()

    server, first, second = run(scenario())
    assert first.job_id == "j1"
    assert second.job_id == "j1"
    assert [connection for connection, _ in server.requests] == [1, 2, 2]
    assert server.requests[2][1].startswith("POST /api/v1/jobs/j1/cancel")
