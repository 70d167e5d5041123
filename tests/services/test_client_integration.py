"""The REST client, event stream and launcher against a real embedded server."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from protocol_server import Changes, Recorder

from app.models import records
from app.services.api import ApiClient, ApiError
from app.services.launcher import EmbeddedServer
from app.services.stream import ConnectionState, EventStream

PROJECT_ROOT = Path(__file__).resolve().parents[2]
API_KEY = "integration-test-key"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[str]:
    """Run ``python -m embedded_server`` for this module; yield its URL."""
    folder = tmp_path_factory.mktemp("embedded")
    env = {**os.environ, "OVERSEER_API_KEY": API_KEY, "OVERSEER_EXIT_WITH_PARENT": "1"}
    with open(folder / "stderr.txt", "wb") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "embedded_server",
                "--port",
                "0",
                "--demo",
                "--db",
                str(folder / "history.db"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=PROJECT_ROOT,
            env=env,
            text=True,
        )
    try:
        url = process.stdout.readline().strip()  # bounded by the pytest timeout
        if not url.startswith("http://"):
            pytest.fail(
                f"embedded server printed no URL: {(folder / 'stderr.txt').read_text()[-2000:]}"
            )
        yield url
    finally:
        process.stdin.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


@contextlib.asynccontextmanager
async def api(url: str, key: str | None = API_KEY):
    client = ApiClient(url, key, timeout=10.0)
    try:
        yield client
    finally:
        await client.aclose()


def test_discovery_reports_capabilities(run, live_server):
    async def scenario():
        async with api(live_server) as client:
            return await client.server_info()

    info = run(scenario())
    assert not info.is_stock
    assert info.name == "overseer-embedded-server"
    assert info.supports("cursor")
    assert info.supports("time_filter")


def test_jobs_list_accepts_time_filter(run, live_server):
    now = datetime.now(UTC)
    query = records.JobQuery(
        status="completed", created_from=now - timedelta(days=1), created_to=now
    )

    async def scenario():
        async with api(live_server) as client:
            return await client.list_jobs(query, limit=5)

    page = run(scenario())
    assert page.limit == 5
    assert page.total >= len(page.jobs)
    assert all(job.status == "completed" for job in page.jobs)


def test_flows_list_parses(run, live_server):
    async def scenario():
        async with api(live_server) as client:
            return await client.list_flows()

    flows, errors = run(scenario())
    assert all(isinstance(flow, records.FlowInfo) for flow in flows)
    assert all(isinstance(error, records.LoadError) for error in errors)


def test_unknown_job_is_not_found(run, live_server):
    async def scenario():
        async with api(live_server) as client:
            with pytest.raises(ApiError) as info:
                await client.get_job("no-such-job")
            return info.value

    error = run(scenario())
    assert error.status == 404
    assert error.code == "JOB_NOT_FOUND"
    assert "no-such-job" in error.message


def test_wrong_key_is_rejected(run, live_server):
    async def scenario():
        async with api(live_server, "wrong-key") as client:
            with pytest.raises(ApiError) as info:
                await client.list_flows()
            return info.value

    error = run(scenario())
    assert error.status in (401, 403)
    assert error.code in ("UNAUTHORIZED", "FORBIDDEN")


def test_stream_connects_and_measures_rtt(run, live_server):
    async def scenario():
        changes = Changes()
        stream = EventStream(live_server, API_KEY, heartbeat_timeout=0.4)
        recorder = Recorder(stream, changes)
        stream.start()
        try:
            await changes.wait_for(
                lambda: recorder.statuses and recorder.statuses[-1].rtt_ms is not None
            )
            return stream.status, stream.last_seq
        finally:
            await stream.stop()

    status, last_seq = run(scenario())
    assert status.state is ConnectionState.CONNECTED
    assert status.rtt_ms >= 0
    assert last_seq is not None  # the server's baseline from connection:status


def test_stream_wrong_key_fails(run, live_server):
    async def scenario():
        changes = Changes()
        stream = EventStream(live_server, "wrong-key")
        recorder = Recorder(stream, changes)
        stream.start()
        try:
            await changes.wait_for(lambda: recorder.state is ConnectionState.FAILED)
            return recorder.statuses[-1]
        finally:
            await stream.stop()

    status = run(scenario())
    assert "(HTTP 403)" in status.reason
    assert "Invalid API key" in status.reason


def test_stream_delivers_job_events(run, live_server):
    async def scenario():
        async with api(live_server) as client:
            flows, _ = await client.list_flows()
            flow = next((flow for flow in flows if flow.flow_id == "etl_orders"), None)
            if flow is None:
                return None
            changes = Changes()
            stream = EventStream(live_server, API_KEY)
            recorder = Recorder(stream, changes)
            stream.start()
            try:
                await changes.wait_for(
                    lambda: recorder.state is ConnectionState.CONNECTED
                )
                job = await client.submit_job(
                    "etl_orders", "reader", "input", {"records": 3}
                )
                await changes.wait_for(
                    lambda: any(
                        e["type"] == "job_completed" and e["job_id"] == job.job_id
                        for e in recorder.events
                    ),
                    timeout=20.0,
                )
            finally:
                await stream.stop()
            return job, recorder.events

    result = run(scenario(), timeout=30.0)
    if result is None:
        pytest.skip("the demo flow etl_orders is not available")
    job, events = result
    mine = [event for event in events if event["job_id"] == job.job_id]
    seqs = [event["seq"] for event in events]
    assert seqs == sorted(set(seqs))
    assert mine[0]["type"] == "job_started"
    assert mine[-1]["data"]["job"]["status"] == "completed"
    assert any(event["type"] == "routine_completed" for event in mine)


def test_launcher_runs_embedded_server(run, tmp_path):
    launcher = EmbeddedServer(startup_timeout=60.0)

    async def scenario():
        url, key = await launcher.start(db=tmp_path / "history.db")
        try:
            async with api(url, key) as client:
                info = await client.server_info()
        finally:
            await launcher.stop(timeout=10.0)
        return url, info

    url, info = run(scenario(), timeout=90.0)
    assert url.startswith("http://127.0.0.1:")
    assert info.name == "overseer-embedded-server"
    assert launcher.returncode is not None
    assert not launcher.is_running


@pytest.fixture
def fast_heartbeat_server(tmp_path) -> Iterator[str]:
    """Run the embedded server in a thread with a 0.1 s heartbeat; yield its URL.

    The thread starts and stops outside the Qt event loop, so the waits here
    block only the test.
    """
    from embedded_server.settings import Settings
    from tests.serverutil import start_server

    # The server wraps sys.stdout and sys.stderr to capture job output.
    saved_streams = sys.stdout, sys.stderr
    settings = Settings(
        db_path=tmp_path / "history.db", api_key=API_KEY, heartbeat_interval=0.1
    )
    server = start_server(settings)
    try:
        yield server.url
    finally:
        server.stop()
        sys.stdout, sys.stderr = saved_streams


def test_stream_answers_server_heartbeats(run, fast_heartbeat_server):
    # The server drops a client that sends nothing for three heartbeat
    # intervals (0.3 s here), so staying connected for 2 s shows the pongs work.
    async def scenario():
        changes = Changes()
        stream = EventStream(fast_heartbeat_server, API_KEY, heartbeat_timeout=1.0)
        recorder = Recorder(stream, changes)
        stream.start()
        try:
            await changes.wait_for(lambda: recorder.state is ConnectionState.CONNECTED)
            connected_at = stream.status.last_message_at
            with pytest.raises(TimeoutError):
                await changes.wait_for(
                    lambda: recorder.state is not ConnectionState.CONNECTED,
                    timeout=2.0,
                )
            return (
                list(recorder.statuses),
                connected_at,
                stream.status.last_message_at,
            )
        finally:
            await stream.stop()

    statuses, connected_at, last_message_at = run(scenario(), timeout=40.0)
    assert [status.state for status in statuses][:2] == [
        ConnectionState.CONNECTING,
        ConnectionState.CONNECTED,
    ]
    assert all(status.state is ConnectionState.CONNECTED for status in statuses[1:])
    assert last_message_at - connected_at >= 1.5  # server pings kept arriving
