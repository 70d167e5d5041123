"""The app's client layer against real servers: the stock Routilux 1.1.0 one and ours.

Every test in the first half runs against both servers, through ApiClient and
EventStream only. The fault tests at the end run against our server, because
they kill, stop and restart its process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import time
from datetime import datetime

import pytest
from compat_proxy import CuttingProxy
from compat_servers import ENTRY_ROUTINE, ENTRY_SLOT, FLOW_ID
from compat_support import StreamWatch

from app.controllers.connections import build_session, resolve_startup
from app.controllers.session import Session
from app.models.profiles import ConnectionProfile, ProfileStore, new_profile_id
from app.models.records import JobQuery
from app.services.api import ApiClient, ApiError
from app.services.connection import (
    AUTH,
    REST,
    SERVER,
    WEBSOCKET,
    ConnectionTarget,
    check_connection,
)
from app.services.credentials import KeyStore
from app.services.stream import ConnectionState, EventStream
from tests.support.memory_keyring import memory_keyring

# Covers installing the stock server on first use and starting both servers.
pytestmark = pytest.mark.timeout(600)

HEARTBEAT = 1.0  # seconds; the stream's heartbeat_timeout in the fault tests
SLACK = 0.75  # seconds allowed on top for scheduling on a busy machine


@contextlib.asynccontextmanager
async def client(server, key: str | None = ...):
    api = ApiClient(server.url, server.api_key if key is ... else key, timeout=15.0)
    try:
        yield api
    finally:
        await api.aclose()


@contextlib.asynccontextmanager
async def watched_stream(server, key: str | None = ..., **options):
    """Start an EventStream on ``server``, set up for that server's kind."""
    async with client(server) as api:
        info = await api.server_info()
    options.setdefault("initial_backoff", 0.05)
    options.setdefault("max_backoff", 0.25)
    stream = EventStream(server.url, server.api_key if key is ... else key, **options)
    stream.set_server_info(info)
    watch = StreamWatch(stream)
    stream.start()
    try:
        yield stream, watch
    finally:
        await stream.stop()


async def submit(api: ApiClient, **params):
    params.setdefault("mode", "ok")
    return await api.submit_job(FLOW_ID, ENTRY_ROUTINE, ENTRY_SLOT, params)


# Both servers


def test_discovery_tells_stock_from_ours(server, run_async):
    async def scenario():
        async with client(server) as api:
            return await api.server_info()

    info = run_async(scenario(), 20_000)
    assert info.is_stock is server.is_stock
    assert info.version
    if server.is_stock:
        assert info.version == "1.1.0"
        assert not info.capabilities
    else:
        assert info.supports("cursor")


def test_flows_list_has_sample_flow(server, run_async):
    async def scenario():
        async with client(server) as api:
            return await api.list_flows()

    flows, errors = run_async(scenario(), 20_000)
    assert FLOW_ID in [flow.flow_id for flow in flows]
    assert errors == []


def test_flow_detail_names_entry_routine(server, run_async):
    async def scenario():
        async with client(server) as api:
            return await api.get_flow(FLOW_ID)

    flow = run_async(scenario(), 20_000)
    assert set(flow.routines) == {"feed", "double", "store"}
    assert flow.entry_routines == (ENTRY_ROUTINE,)
    assert ENTRY_SLOT in flow.routines[ENTRY_ROUTINE].slots
    assert "output" in flow.routines[ENTRY_ROUTINE].events
    wires = {(c.source_routine, c.target_routine) for c in flow.connections}
    assert wires == {("feed", "double"), ("double", "store")}


def test_submit_returns_job(server, run_async):
    async def scenario():
        async with client(server) as api:
            job = await submit(api, value=1)
            detail = await api.get_job(job.job_id)
            return job, detail

    job, detail = run_async(scenario(), 20_000)
    assert job.job_id
    assert job.flow_id == FLOW_ID
    assert job.params == {"value": 1, "mode": "ok"}
    assert detail.job_id == job.job_id
    assert detail.created_at is not None
    assert detail.created_at.tzinfo is not None


def test_routine_completes_job(server, run_async):
    async def scenario():
        async with client(server) as api:
            job = await submit(api, value=21)
            finished = await api.wait_for_job(job.job_id, timeout=20)
            return finished, await api.get_job_data(job.job_id)

    finished, data = run_async(scenario(), 40_000)
    assert finished.status == "completed"
    assert finished.is_terminal
    assert finished.completed_at is not None
    assert data["result"] == 42


def test_routine_fails_job(server, run_async):
    async def scenario():
        async with client(server) as api:
            job = await submit(api, value=5, mode="fail")
            return await api.wait_for_job(job.job_id, timeout=20)

    finished = run_async(scenario(), 40_000)
    assert finished.status == "failed"
    assert finished.error == "double rejected the value"


def test_trace_lists_routine_steps(server, run_async):
    async def scenario():
        async with client(server) as api:
            job = await submit(api, value=3)
            await api.wait_for_job(job.job_id, timeout=20)
            return await api.get_trace(job.job_id)

    trace = run_async(scenario(), 40_000)
    steps = [(entry.routine_id, entry.action) for entry in trace]
    assert ("feed", "received") in steps
    assert ("double", "doubled") in steps
    assert ("store", "stored") in steps
    assert steps.index(("feed", "received")) < steps.index(("store", "stored"))
    assert trace[0].timestamp is not None


def test_list_filters_by_status(server, run_async):
    async def scenario():
        async with client(server) as api:
            done = await submit(api, value=2)
            failed = await submit(api, value=2, mode="fail")
            await api.wait_for_job(done.job_id, timeout=20)
            await api.wait_for_job(failed.job_id, timeout=20)
            completed = await api.list_jobs(
                JobQuery(flow_id=FLOW_ID, status="completed"), limit=1000
            )
            failures = await api.list_jobs(
                JobQuery(flow_id=FLOW_ID, status="failed"), limit=1000
            )
            return done, failed, completed, failures

    done, failed, completed, failures = run_async(scenario(), 40_000)
    assert {job.status for job in completed.jobs} == {"completed"}
    assert {job.status for job in failures.jobs} == {"failed"}
    assert done.job_id in [job.job_id for job in completed.jobs]
    assert failed.job_id in [job.job_id for job in failures.jobs]
    assert failed.job_id not in [job.job_id for job in completed.jobs]
    assert completed.total >= len(completed.jobs)


def test_list_pages_newest_first(server, run_async):
    async def scenario():
        async with client(server) as api:
            first = await submit(api, value=1)
            second = await submit(api, value=2)
            page = await api.list_jobs(JobQuery(flow_id=FLOW_ID), limit=2)
            return first, second, page

    first, second, page = run_async(scenario(), 20_000)
    assert page.limit == 2
    assert len(page.jobs) == 2
    assert page.total >= 2
    created = [job.created_at for job in page.jobs]
    assert created == sorted(created, reverse=True)
    if not server.is_stock:
        # The stock server stamps whole seconds and breaks ties arbitrarily.
        assert [job.job_id for job in page.jobs] == [second.job_id, first.job_id]


def test_unknown_job_is_404(server, run_async):
    async def scenario():
        async with client(server) as api:
            with pytest.raises(ApiError) as caught:
                await api.get_job("no-such-job")
            return caught.value

    error = run_async(scenario(), 20_000)
    assert error.status == 404
    assert error.code == "JOB_NOT_FOUND"
    assert "no-such-job" in error.message


def test_missing_key_is_401(server, run_async):
    async def scenario():
        async with client(server, None) as api:
            with pytest.raises(ApiError) as caught:
                await api.list_flows()
            return caught.value

    error = run_async(scenario(), 20_000)
    assert error.status == 401
    assert error.code == "UNAUTHORIZED"


def test_wrong_key_is_403(server, run_async):
    async def scenario():
        async with client(server, "wrong-key") as api:
            with pytest.raises(ApiError) as caught:
                await api.list_flows()
            return caught.value

    error = run_async(scenario(), 20_000)
    assert error.status == 403
    assert error.code == "FORBIDDEN"


def test_stream_wrong_key_fails(server, run_async):
    async def scenario():
        async with watched_stream(server, "wrong-key") as (stream, watch):
            await watch.wait_until(
                lambda: watch.state is ConnectionState.FAILED, what="FAILED"
            )
            return watch.statuses[-1][1], stream.is_running

    status, running = run_async(scenario(), 30_000)
    assert "(HTTP 403)" in status.reason
    assert not running


def test_stream_delivers_job_events(server, run_async):
    async def scenario():
        async with (
            client(server) as api,
            watched_stream(server, heartbeat_timeout=5.0) as (stream, watch),
        ):
            await watch.wait_until(
                lambda: watch.state is ConnectionState.CONNECTED, what="CONNECTED"
            )
            job = await submit(api, value=4, hold=0.3)
            stream.subscribe_jobs([job.job_id])
            await watch.wait_until(
                lambda: any(
                    event["type"] == "job_completed"
                    for event in watch.events_of(job.job_id)
                ),
                what="job_completed",
            )
            return job, watch.events_of(job.job_id), stream.job_subscriptions

    job, events, subscriptions = run_async(scenario(), 40_000)
    types = [event["type"] for event in events]
    if server.is_stock:
        # The stock server publishes job and routine events from different
        # threads, so their order on the socket varies.
        assert "job_started" in types
    else:
        assert types[0] == "job_started"
    assert types[-1] == "job_completed"
    assert types.count("job_completed") == 1
    assert "routine_started" in types
    assert subscriptions == {job.job_id}
    for event in events:
        stamp = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
        assert stamp.tzinfo is not None, event


def test_session_follows_submitted_job(server, run_async, qtbot):
    """A job submitted through a session turns completed in the jobs list live."""

    async def start():
        api = ApiClient(server.url, server.api_key)
        stream = EventStream(server.url, server.api_key, initial_backoff=0.05)
        session = Session(api, stream)
        await session.start(JobQuery(flow_id=FLOW_ID))
        return session

    session = run_async(start(), 20_000)
    try:
        qtbot.waitUntil(
            lambda: session.stream.status.state is ConnectionState.CONNECTED,
            timeout=10_000,
        )
        job = run_async(
            session.submit_job(
                FLOW_ID, ENTRY_ROUTINE, ENTRY_SLOT, {"value": 8, "hold": 0.5}
            ),
            20_000,
        )

        def row_completed():
            index = session.job_store.index_of(job.job_id)
            assert index is not None
            assert session.job_store.row(index).job.status == "completed"

        qtbot.waitUntil(row_completed, timeout=20_000)
        qtbot.waitUntil(
            lambda: job.job_id not in session.stream.job_subscriptions, timeout=5_000
        )
        if server.is_stock:
            assert session.stream.per_job_subscriptions
    finally:
        run_async(session.aclose(), 10_000)


def test_connection_check_passes(server, run_async):
    target = ConnectionTarget(server.url, server.api_key)
    report = run_async(check_connection(target, timeout=10.0), 30_000)
    assert report.ok, report.text()
    assert [result.name for result in report.results] == [REST, AUTH, WEBSOCKET, SERVER]
    assert report.server_info.is_stock is server.is_stock
    server_line = report.results[-1].detail
    if server.is_stock:
        assert "stock Routilux server" in server_line
    else:
        assert "debug" in server_line


def test_connection_check_reports_wrong_key(server, run_async):
    target = ConnectionTarget(server.url, "wrong-key")
    report = run_async(check_connection(target, timeout=10.0), 30_000)
    rest, auth, websocket, kind = report.results
    assert rest.ok is True
    assert auth.ok is False
    assert "rejected the API key" in auth.detail
    assert websocket.ok is False
    assert "HTTP 403" in websocket.detail
    assert kind.ok is None
    assert not report.ok


def test_connection_check_reports_missing_key(server, run_async):
    target = ConnectionTarget(server.url, None)
    report = run_async(check_connection(target, timeout=10.0), 30_000)
    auth = report.results[1]
    assert auth.ok is False
    assert "requires an API key" in auth.detail


def test_profile_session_connects(server, run_async, qtbot, tmp_path):
    """A saved profile with its key in the keyring connects a session to the server."""
    with memory_keyring():
        keys = KeyStore()
        store = ProfileStore(tmp_path / "profiles.json")
        profile = store.put(
            ConnectionProfile(new_profile_id(), "compat", url=server.url)
        )
        keys.set(profile.profile_id, server.api_key)
        store.save()
        namespace = argparse.Namespace(connect=None, profile="compat")
        choice = run_async(resolve_startup(namespace, store, keys, {}), 10_000)

    session, info = run_async(build_session(choice.target(), close_timeout=5.0), 20_000)
    try:
        run_async(session.start(JobQuery(flow_id=FLOW_ID), server_info=info), 20_000)
        qtbot.waitUntil(
            lambda: session.stream.status.state is ConnectionState.CONNECTED,
            timeout=10_000,
        )
        assert info.is_stock is server.is_stock
        assert session.stream.per_job_subscriptions is server.is_stock
        assert FLOW_ID in [flow.flow_id for flow in session.flows]
    finally:
        run_async(session.aclose(), 10_000)


@pytest.mark.stock
def test_stock_reconnect_resyncs_and_resubscribes(stock_server, run_async, qtbot):
    """After a dropped socket the session marks a gap, reloads and follows the job again."""
    server = stock_server

    async def start():
        proxy = CuttingProxy(server.port)
        proxy_url = await proxy.start()
        api = ApiClient(server.url, server.api_key)
        stream = EventStream(proxy_url, server.api_key, initial_backoff=0.05)
        session = Session(api, stream)
        await session.start(JobQuery(flow_id=FLOW_ID))
        return proxy, session

    proxy, session = run_async(start(), 20_000)
    try:
        qtbot.waitUntil(
            lambda: session.stream.status.state is ConnectionState.CONNECTED,
            timeout=10_000,
        )
        job = run_async(
            session.submit_job(
                FLOW_ID, ENTRY_ROUTINE, ENTRY_SLOT, {"value": 1, "hold": 1.5}
            ),
            20_000,
        )
        qtbot.waitUntil(
            lambda: job.job_id in session.stream.job_subscriptions, timeout=5_000
        )
        generation = session.job_store.generation
        assert proxy.cut() == 1

        def gap_logged():
            rows = [
                session.event_log.row_at(i) for i in range(session.event_log.rowCount())
            ]
            assert any(row.is_gap for row in rows)

        qtbot.waitUntil(gap_logged, timeout=10_000)
        assert session.job_store.generation > generation  # the list was reloaded

        def row_completed():
            index = session.job_store.index_of(job.job_id)
            assert index is not None
            assert session.job_store.row(index).job.status == "completed"

        qtbot.waitUntil(row_completed, timeout=20_000)

        def completion_logged():
            rows = [
                session.event_log.row_at(i) for i in range(session.event_log.rowCount())
            ]
            assert ("job_completed", job.job_id) in [
                (row.event_type, row.job_id) for row in rows
            ]

        qtbot.waitUntil(completion_logged, timeout=5_000)  # arrived live after the cut
        assert proxy.accepted == 2
    finally:
        run_async(session.aclose(), 10_000)
        run_async(proxy.close(), 10_000)


# Faults, against our server


def test_sigkill_is_noticed_and_restart_recovers(make_our_server, run_async):
    server = make_our_server()

    async def scenario():
        async with watched_stream(server, heartbeat_timeout=HEARTBEAT) as (
            stream,
            watch,
        ):
            await watch.wait_until(
                lambda: watch.state is ConnectionState.CONNECTED, what="CONNECTED"
            )
            killed_at = time.monotonic()
            os.kill(server.process.pid, signal.SIGKILL)
            await watch.wait_until(
                lambda: watch.first_time(ConnectionState.RECONNECTING, killed_at),
                timeout=HEARTBEAT + SLACK,
                what="RECONNECTING after SIGKILL",
            )
            lost_after = watch.first_time(ConnectionState.RECONNECTING) - killed_at
            await asyncio.to_thread(server.process.wait, 10)

            restarted = await asyncio.to_thread(
                make_our_server, "server0", port=server.port
            )
            restarted_at = time.monotonic()
            await watch.wait_until(
                lambda: watch.first_time(ConnectionState.CONNECTED, restarted_at),
                what="CONNECTED after restart",
            )
            return lost_after, restarted, stream.status

    lost_after, restarted, status = run_async(scenario(), 60_000)
    assert lost_after <= HEARTBEAT + SLACK
    assert restarted.url == server.url
    assert status.state is ConnectionState.CONNECTED


def test_sigstop_is_noticed_and_sigcont_recovers(make_our_server, run_async):
    server = make_our_server()

    async def scenario():
        async with watched_stream(server, heartbeat_timeout=HEARTBEAT) as (
            stream,
            watch,
        ):
            await watch.wait_until(
                lambda: watch.state is ConnectionState.CONNECTED, what="CONNECTED"
            )
            stopped_at = time.monotonic()
            os.kill(server.process.pid, signal.SIGSTOP)
            try:
                await watch.wait_until(
                    lambda: watch.first_time(ConnectionState.RECONNECTING, stopped_at),
                    timeout=HEARTBEAT + SLACK,
                    what="RECONNECTING after SIGSTOP",
                )
            finally:
                os.kill(server.process.pid, signal.SIGCONT)
            lost = watch.first_time(ConnectionState.RECONNECTING, stopped_at)
            lost_reason = next(
                status.reason for moment, status in watch.statuses if moment == lost
            )
            resumed_at = time.monotonic()
            await watch.wait_until(
                lambda: watch.first_time(ConnectionState.CONNECTED, resumed_at),
                what="CONNECTED after SIGCONT",
            )
            return lost - stopped_at, lost_reason, stream.status

    lost_after, reason, status = run_async(scenario(), 60_000)
    assert lost_after <= HEARTBEAT + SLACK
    assert "heartbeat" in reason
    assert status.state is ConnectionState.CONNECTED


def test_handshake_401_fails_without_retry(our_server, run_async):
    async def scenario():
        proxy = CuttingProxy(our_server.port)
        url = await proxy.start()
        stream = EventStream(url, None, initial_backoff=0.01, max_backoff=0.02)
        watch = StreamWatch(stream)
        stream.start()
        try:
            await watch.wait_until(
                lambda: watch.state is ConnectionState.FAILED, what="FAILED"
            )
            await watch.wait_until(lambda: not stream.is_running, what="stopped")
            return watch, proxy.accepted
        finally:
            await stream.stop()
            await proxy.close()

    watch, accepted = run_async(scenario(), 20_000)
    assert watch.states()[:2] == [ConnectionState.CONNECTING, ConnectionState.FAILED]
    assert ConnectionState.RECONNECTING not in watch.states()
    assert "(HTTP 401)" in watch.statuses[1][1].reason
    assert accepted == 1


def test_cut_connections_lose_no_event(make_our_server, run_async):
    """After 20 cuts while events flow, the client has every event exactly once."""
    server = make_our_server()
    cuts_wanted = 20
    max_jobs = 2_000

    async def produce(api: ApiClient, stop: asyncio.Event) -> int:
        submitted = 0
        while not stop.is_set() and submitted < max_jobs:
            await submit(api, value=submitted)
            submitted += 1
        return submitted

    async def scenario():
        proxy = CuttingProxy(server.port)
        proxy_url = await proxy.start()
        stream = EventStream(
            proxy_url,
            server.api_key,
            heartbeat_timeout=5.0,
            initial_backoff=0.02,
            max_backoff=0.1,
        )
        watch = StreamWatch(stream)
        stop = asyncio.Event()
        stream.start()
        try:
            await watch.wait_until(lambda: stream.last_seq is not None, what="baseline")
            baseline = stream.last_seq
            async with client(server) as api:
                producer = asyncio.ensure_future(produce(api, stop))
                try:
                    for _ in range(cuts_wanted):
                        seen = len(watch.events)
                        await watch.wait_until(
                            lambda seen=seen: (
                                watch.state is ConnectionState.CONNECTED
                                and len(watch.events) >= seen + 3
                            ),
                            what="events on a live connection",
                        )
                        proxy.cut()
                        await watch.wait_until(
                            lambda: watch.state is not ConnectionState.CONNECTED,
                            what="the cut noticed",
                        )
                finally:
                    stop.set()
                    submitted = await producer
            # Our server's newest seq, read from a connection that was never cut.
            async with watched_stream(server) as (probe, probe_watch):
                await probe_watch.wait_until(
                    lambda: probe.last_seq is not None, what="probe"
                )
                newest = probe.last_seq
            await watch.wait_until(
                lambda: stream.last_seq >= newest, what=f"seq {newest}"
            )
            return baseline, stream.last_seq, watch.seqs(), watch, proxy.cuts, submitted
        finally:
            await stream.stop()
            await proxy.close()

    baseline, last_seq, seqs, watch, cuts, submitted = run_async(scenario(), 240_000)
    assert cuts == cuts_wanted
    assert submitted < max_jobs
    assert len(seqs) == len(set(seqs)), "some events arrived twice"
    assert seqs == list(range(baseline + 1, last_seq + 1)), "events are missing"
    assert watch.resyncs == []
