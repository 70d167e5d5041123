"""The event stream against a server that speaks the stock Routilux socket protocol."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone

from protocol_server import Changes, ProtocolServer, Recorder
from stock_socket_server import StockSocketServer

from app.models import records
from app.services.stream import ConnectionState, EventStream

STOCK_INFO = records.ServerInfo("Routilux API", "1.1.0", frozenset(), is_stock=True)


@contextlib.asynccontextmanager
async def stock_stream(server: StockSocketServer, **options):
    """Start the server and a stream set up for a stock server."""
    url = await server.start()
    options.setdefault("initial_backoff", 0.05)
    options.setdefault("max_backoff", 0.2)
    stream = EventStream(url, None, **options)
    stream.set_server_info(STOCK_INFO)
    recorder = Recorder(stream, server.changes)
    stream.start()
    try:
        yield stream, recorder
    finally:
        await stream.stop()
        await server.close()


def sent_types(messages):
    return [(message["type"], message["job_id"]) for message in messages]


def test_stock_subscribes_each_wanted_job(run):
    async def scenario():
        changes = Changes()
        server = StockSocketServer(changes, {"a", "b", "c"})
        async with stock_stream(server) as (stream, recorder):
            stream.set_job_subscriptions(["a", "b"])
            await changes.wait_for(lambda: server.subscriptions() == {"a", "b"})
            stream.set_job_subscriptions(["b", "c"])
            await changes.wait_for(lambda: server.subscriptions() == {"b", "c"})
            return server, stream

    server, stream = run(scenario())
    assert sent_types(server.received[0]) == [
        ("subscribe", "a"),
        ("subscribe", "b"),
        ("subscribe", "c"),
        ("unsubscribe", "a"),
    ]
    assert stream.per_job_subscriptions
    assert stream.job_subscriptions == {"b", "c"}


def test_stock_events_arrive_once_subscribed(run):
    async def scenario():
        changes = Changes()
        server = StockSocketServer(changes, {"j1"})
        async with stock_stream(server) as (stream, recorder):
            await changes.wait_for(lambda: recorder.state is ConnectionState.CONNECTED)
            stream.subscribe_jobs(["j1"])
            await changes.wait_for(lambda: server.subscriptions() == {"j1"})
            await server.publish("job_started", "j1", flow_id="f1")
            await server.publish("job_completed", "j1", status="completed")
            await changes.wait_for(lambda: len(recorder.events) == 2)
            return recorder

    recorder = run(scenario())
    assert [event["type"] for event in recorder.events] == [
        "job_started",
        "job_completed",
    ]
    assert recorder.events[0]["flow_id"] == "f1"
    assert all("seq" not in event for event in recorder.events)


def test_stock_control_replies_are_not_events(run):
    async def scenario():
        changes = Changes()
        server = StockSocketServer(changes, {"j1"})
        async with stock_stream(server) as (stream, recorder):
            stream.set_job_subscriptions(["j1", "unknown"])
            await changes.wait_for(
                lambda: server.received and len(server.received[0]) == 2
            )
            await server.publish("job_started", "j1")
            await changes.wait_for(lambda: recorder.events)
            return recorder

    recorder = run(scenario())
    assert [event["type"] for event in recorder.events] == ["job_started"]


def test_stock_resubscribes_after_reconnect(run):
    async def scenario():
        changes = Changes()
        server = StockSocketServer(changes, {"a", "b"})
        async with stock_stream(server) as (stream, recorder):
            stream.set_job_subscriptions(["a", "b"])
            await changes.wait_for(lambda: server.subscriptions() == {"a", "b"})
            server.drop_all()
            await changes.wait_for(
                lambda: (
                    len(server.received) == 2 and server.subscriptions() == {"a", "b"}
                )
            )
            await server.publish("job_completed", "a", status="completed")
            await changes.wait_for(lambda: recorder.events)
            return server, recorder

    server, recorder = run(scenario())
    assert sent_types(server.received[1]) == [("subscribe", "a"), ("subscribe", "b")]
    assert recorder.events[0]["job_id"] == "a"
    assert len(recorder.resyncs) == 1
    assert "can't replay events" in recorder.resyncs[0]


def test_stock_first_connect_needs_no_resync(run):
    async def scenario():
        changes = Changes()
        server = StockSocketServer(changes, {"a"})
        async with stock_stream(server) as (stream, recorder):
            stream.set_job_subscriptions(["a"])
            await changes.wait_for(lambda: server.subscriptions() == {"a"})
            return recorder

    recorder = run(scenario())
    assert recorder.resyncs == []


def test_stock_naive_timestamps_become_utc(run):
    # The fake server's clock is two hours ahead of UTC.
    plus_two = timezone(timedelta(hours=2))

    async def scenario():
        changes = Changes()
        server = StockSocketServer(changes, {"j1"})
        server.stamp = lambda: datetime.now(plus_two).replace(tzinfo=None).isoformat()
        async with stock_stream(server) as (stream, recorder):
            stream.subscribe_jobs(["j1"])
            await changes.wait_for(lambda: server.subscriptions() == {"j1"})
            await server.publish("routine_started", "j1", routine_id="feed")
            await changes.wait_for(lambda: recorder.events)
            return recorder

    before = datetime.now(UTC)
    recorder = run(scenario())
    stamp = datetime.fromisoformat(recorder.events[0]["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= stamp <= datetime.now(UTC)


def test_stock_sends_protocol_pings(run):
    async def scenario():
        changes = Changes()
        server = StockSocketServer(changes, set())
        async with stock_stream(server, heartbeat_timeout=0.2) as (stream, recorder):
            await changes.wait_for(
                lambda: recorder.statuses and recorder.statuses[-1].rtt_ms is not None
            )
            return recorder.statuses[-1]

    status = run(scenario())
    assert status.state is ConnectionState.CONNECTED
    assert status.rtt_ms >= 0


def test_own_server_gets_no_job_subscriptions(run):
    async def scenario():
        changes = Changes()
        server = ProtocolServer(changes)
        url = await server.start()
        stream = EventStream(url, "secret")
        recorder = Recorder(stream, changes)
        stream.set_job_subscriptions(["a"])
        stream.start()
        try:
            await changes.wait_for(lambda: server.clients)
            await server.publish("job_started", job_id="other")
            await changes.wait_for(lambda: recorder.events)
            return stream, recorder
        finally:
            await stream.stop()
            await server.close()

    stream, recorder = run(scenario())
    assert not stream.per_job_subscriptions
    assert recorder.events[0]["job_id"] == "other"
    assert recorder.events[0]["seq"] == 1
