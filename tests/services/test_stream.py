"""Tests for the WebSocket event stream against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qs, urlsplit

import pytest
from protocol_server import Changes, ProtocolServer, Recorder

from app.models import records
from app.services.stream import ConnectionState, EventStream, websocket_url


@contextlib.asynccontextmanager
async def running(server: ProtocolServer, **stream_options):
    """Start the server and a stream connected to it; stop both afterwards."""
    url = await server.start()
    stream_options.setdefault("initial_backoff", 0.05)
    stream = EventStream(url, stream_options.pop("api_key", "secret"), **stream_options)
    recorder = Recorder(stream, server.changes)
    stream.start()
    try:
        yield stream, recorder
    finally:
        await stream.stop()
        await server.close()


def test_receives_events_and_answers_pings(run):
    async def scenario():
        changes = Changes()
        server = ProtocolServer(changes, heartbeat_interval=0.05)
        async with running(server) as (stream, recorder):
            await changes.wait_for(
                lambda: recorder.state is ConnectionState.CONNECTED and server.clients
            )
            await server.publish("job_started", job={"job_id": "j1"})
            await server.publish("routine_started", routine_id="reader")
            await changes.wait_for(
                lambda: len(recorder.events) == 2 and server.pongs >= 2
            )
            return server, stream, recorder

    server, stream, recorder = run(scenario())
    assert recorder.seqs() == [1, 2]
    assert recorder.events[0]["data"] == {"job": {"job_id": "j1"}}
    assert stream.last_seq == 2
    assert server.pongs >= 2
    assert server.handshakes[0].headers["X-API-Key"] == "secret"
    assert "api_key" not in server.handshakes[0].path
    assert recorder.statuses[0].state is ConnectionState.CONNECTING


def test_reconnect_replays_missed_events_once(run):
    async def scenario():
        changes = Changes()
        server = ProtocolServer(changes)
        server.replay_overlap = 2  # resend two events the client already has
        async with running(server) as (stream, recorder):
            await changes.wait_for(lambda: server.clients)
            await server.publish()
            await server.publish()
            await changes.wait_for(lambda: len(recorder.events) == 2)

            server.drop_all()
            await changes.wait_for(lambda: not server.clients)
            await server.publish()  # missed while disconnected
            await server.publish()
            await changes.wait_for(
                lambda: len(server.after_seqs) == 2 and server.clients
            )
            await server.publish()  # live again
            await changes.wait_for(lambda: len(recorder.events) >= 5)
            return server, recorder

    server, recorder = run(scenario())
    assert recorder.seqs() == [1, 2, 3, 4, 5]
    assert server.after_seqs == [None, 2]
    assert recorder.count(ConnectionState.RECONNECTING) >= 1
    assert recorder.resyncs == []


def test_silent_server_lost_within_heartbeat_timeout(run):
    timeout = 0.3

    async def scenario():
        changes = Changes()
        server = ProtocolServer(changes)
        server.silent = True
        async with running(server, heartbeat_timeout=timeout, initial_backoff=5.0) as (
            stream,
            recorder,
        ):
            await changes.wait_for(lambda: recorder.state is ConnectionState.CONNECTED)
            connected_at = recorder.status_times[-1]
            await changes.wait_for(
                lambda: recorder.state is ConnectionState.RECONNECTING, timeout=3.0
            )
            lost_at = recorder.status_times[-1]
            return recorder.statuses[-1], lost_at - connected_at

    status, elapsed = run(scenario())
    assert "didn't answer a heartbeat" in status.reason
    assert status.retry_in is not None
    assert timeout * 0.9 <= elapsed <= timeout + 0.2


def test_idle_connection_stays_up(run):
    async def scenario():
        changes = Changes()
        server = ProtocolServer(changes, heartbeat_interval=0.05)
        async with running(server, heartbeat_timeout=0.2) as (stream, recorder):
            # Eight heartbeat timeouts pass with no events at all.
            await changes.wait_for(lambda: server.pongs >= 32, timeout=10.0)
            return list(recorder.statuses)

    statuses = run(scenario())
    states = {status.state for status in statuses}
    assert states == {ConnectionState.CONNECTING, ConnectionState.CONNECTED}
    assert any(status.rtt_ms is not None for status in statuses)
    assert all(status.rtt_ms is None or status.rtt_ms >= 0 for status in statuses)


def test_forbidden_handshake_stops_retrying(run):
    async def scenario():
        changes = Changes()
        server = ProtocolServer(changes)
        async with running(server, api_key="wrong") as (stream, recorder):
            await changes.wait_for(lambda: recorder.state is ConnectionState.FAILED)
            # A retry would come within the 0.05-0.1 s back-off; allow ten times that.
            with pytest.raises(TimeoutError):
                await changes.wait_for(lambda: len(server.handshakes) > 1, timeout=1.0)
            return server, recorder

    server, recorder = run(scenario())
    assert server.rejected == 1
    assert len(server.handshakes) == 1
    assert "rejected the API key" in recorder.statuses[-2].reason
    assert "403" in recorder.statuses[-2].reason
    assert recorder.statuses[-1].state is ConnectionState.DISCONNECTED


def test_query_api_key_for_stock_server(run):
    async def scenario():
        changes = Changes()
        server = ProtocolServer(changes, accept_query_key=True)
        async with running(server, query_api_key=True) as (stream, recorder):
            await changes.wait_for(lambda: recorder.state is ConnectionState.CONNECTED)
            return server

    server = run(scenario())
    query = parse_qs(urlsplit(server.handshakes[0].path).query)
    assert query["api_key"] == ["secret"]
    assert server.handshakes[0].headers["X-API-Key"] == "secret"


def test_stock_server_info_enables_query_key(run):
    async def scenario():
        changes = Changes()
        server = ProtocolServer(changes, accept_query_key=True)
        url = await server.start()
        stream = EventStream(url, "secret")
        recorder = Recorder(stream, changes)
        stream.set_server_info(
            records.ServerInfo("Routilux API", "1.1.0", frozenset(), is_stock=True)
        )
        stream.start()
        try:
            await changes.wait_for(lambda: recorder.state is ConnectionState.CONNECTED)
            return server, recorder.statuses[-1]
        finally:
            await stream.stop()
            await server.close()

    server, status = run(scenario())
    query = parse_qs(urlsplit(server.handshakes[0].path).query)
    assert query["api_key"] == ["secret"]
    assert status.server_name == "Routilux API"
    assert status.server_version == "1.1.0"


def test_incomplete_catch_up_needs_resync(run):
    async def scenario():
        changes = Changes()
        server = ProtocolServer(changes)
        async with running(server) as (stream, recorder):
            await changes.wait_for(lambda: server.clients)
            await server.publish()
            await changes.wait_for(lambda: len(recorder.events) == 1)

            server.drop_all()
            await changes.wait_for(lambda: not server.clients)
            for _ in range(4):
                await server.publish()
            server.first_available = 4  # seq 2 and 3 are gone
            await changes.wait_for(lambda: len(recorder.events) == 3)
            return recorder

    recorder = run(scenario())
    assert recorder.seqs() == [1, 4, 5]
    assert len(recorder.resyncs) == 1
    assert "no longer has" in recorder.resyncs[0]


def test_seq_gap_needs_resync(run):
    async def scenario():
        changes = Changes()
        server = ProtocolServer(changes)
        async with running(server) as (stream, recorder):
            await changes.wait_for(lambda: server.clients)
            await server.publish()
            server.log.append({"type": "routine_started", "seq": 2})  # never sent
            await server.publish()
            await changes.wait_for(lambda: len(recorder.events) == 2)
            return recorder

    recorder = run(scenario())
    assert recorder.seqs() == [1, 3]
    assert recorder.resyncs == ["Events 2 to 2 were missed"]


def test_server_restart_resets_numbering(run):
    async def scenario():
        changes = Changes()
        server = ProtocolServer(changes)
        async with running(server) as (stream, recorder):
            await changes.wait_for(lambda: server.clients)
            for _ in range(3):
                await server.publish()
            await changes.wait_for(lambda: len(recorder.events) == 3)

            server.drop_all()
            await changes.wait_for(lambda: not server.clients)
            server.log.clear()  # a restarted server counts from 1 again
            server.status_extra = {"last_seq": 0}
            await changes.wait_for(lambda: server.clients)
            await server.publish()
            await changes.wait_for(lambda: len(recorder.events) == 4)
            return recorder

    recorder = run(scenario())
    assert recorder.seqs() == [1, 2, 3, 1]
    assert recorder.resyncs == [
        "The server restarted and its event numbering began again"
    ]


def test_reconnect_catches_up_from_server_baseline(run):
    async def scenario():
        changes = Changes()
        server = ProtocolServer(changes)
        for _ in range(3):
            await server.publish()  # history from before the client connected
        server.status_extra = {"last_seq": 3}
        async with running(server) as (stream, recorder):
            await changes.wait_for(lambda: server.clients)
            server.drop_all()
            await changes.wait_for(lambda: not server.clients)
            await server.publish()  # missed while disconnected
            await changes.wait_for(lambda: len(recorder.events) == 1)
            return server, recorder

    server, recorder = run(scenario())
    assert server.after_seqs == [None, 3]
    assert recorder.seqs() == [4]
    assert recorder.resyncs == []


def test_reconnect_now_skips_backoff(run):
    async def scenario():
        changes = Changes()
        server = ProtocolServer(changes)
        async with running(server, initial_backoff=60.0, max_backoff=60.0) as (
            stream,
            recorder,
        ):
            await changes.wait_for(lambda: server.clients)
            server.drop_all()
            await changes.wait_for(
                lambda: (
                    recorder.state is ConnectionState.RECONNECTING
                    and recorder.statuses[-1].retry_in
                )
            )
            waiting = recorder.statuses[-1]
            stream.reconnect_now()
            await changes.wait_for(
                lambda: (
                    len(server.after_seqs) == 2
                    and recorder.state is ConnectionState.CONNECTED
                )
            )
            return waiting

    waiting = run(scenario())
    assert 30.0 <= waiting.retry_in <= 60.0


def test_backoff_grows_and_is_capped(run):
    async def scenario():
        changes = Changes()
        server = ProtocolServer(changes)
        url = await server.start()
        await server.close()  # nothing listens on the port any more
        stream = EventStream(url, None, initial_backoff=0.01, max_backoff=0.04)
        recorder = Recorder(stream, changes)
        stream.start()
        try:
            await changes.wait_for(
                lambda: sum(1 for s in recorder.statuses if s.retry_in) >= 6
            )
        finally:
            await stream.stop()
        return recorder

    recorder = run(scenario())
    delays = [status.retry_in for status in recorder.statuses if status.retry_in]
    assert 0.005 <= delays[0] <= 0.01
    assert all(delay <= 0.04 for delay in delays)
    assert max(delays[3:]) >= 0.02
    assert "connection refused" in recorder.statuses[1].reason


def test_stop_closes_cleanly(run):
    async def scenario():
        changes = Changes()
        server = ProtocolServer(changes)
        async with running(server) as (stream, recorder):
            await changes.wait_for(lambda: recorder.state is ConnectionState.CONNECTED)
            await stream.stop()
            await changes.wait_for(lambda: server.close_codes)
            return server, stream, recorder

    server, stream, recorder = run(scenario())
    assert server.close_codes == [1000]
    assert stream.status.state is ConnectionState.DISCONNECTED
    assert recorder.count(ConnectionState.RECONNECTING) == 0


def test_stop_during_handshake(run):
    async def scenario():
        accepted = asyncio.Event()
        writers = []

        async def never_answer(reader, writer):
            writers.append(writer)
            accepted.set()
            await reader.read()

        server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        stream = EventStream(
            f"http://127.0.0.1:{port}", "secret", heartbeat_timeout=30.0
        )
        stream.start()
        await asyncio.wait_for(accepted.wait(), 5.0)
        await stream.stop()
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()
        return stream

    assert run(scenario()).status.state is ConnectionState.DISCONNECTED


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8000", "ws://127.0.0.1:8000/api/v1/websocket"),
        ("https://host/", "wss://host/api/v1/websocket"),
        ("http://host:1/api/v1", "ws://host:1/api/v1/websocket"),
        ("ws://host:1/api/v1/ws", "ws://host:1/api/v1/ws"),
    ],
)
def test_websocket_url(given, expected):
    assert websocket_url(given) == expected
