"""A real embedded server with a REST client and event stream, for debugger tests.

Import ``debug_server_fixture`` and ``debug_env_fixture`` into a test module
to use the ``debug_server`` and ``debug_env`` fixtures there.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.services.api import ApiClient
from app.services.stream import ConnectionState, EventStream
from embedded_server.settings import Settings
from tests.conftest import FIXTURES
from tests.serverutil import RunningServer, start_server

API_KEY = "debugger-test-key"


@dataclass
class DebugEnv:
    """A running server and the client objects the app would use with it."""

    server: RunningServer
    api: ApiClient
    stream: EventStream

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        """Send a request from the test thread, outside the Qt loop."""
        with httpx.Client(
            base_url=self.server.url, headers=self.server.headers, timeout=30
        ) as http:
            response = http.post(path, json=body, params=params)
            response.raise_for_status()
            return response.json()

    def wait_paused(self, job_id: str, timeout: float = 10) -> None:
        """Block until the server has paused ``job_id``."""
        run = self.server.state.engine.active_run(job_id)
        assert run is not None, "the job ended before it paused"
        run.wait_state(lambda: run.debug.pause is not None or run.terminal, timeout)
        assert run.debug.pause is not None, f"the job ended as {run.record.status}"


def server_settings(tmp_path, *, demo: bool = False, **overrides: Any) -> Settings:
    """Return settings for a test server with evaluate on."""
    options: dict[str, Any] = {
        "db_path": tmp_path / "history.db",
        "api_key": API_KEY,
        "allow_evaluate": True,
        "rate_limit_per_minute": 0,
        "demo": demo,
    }
    if not demo:
        options.update(
            routines_dirs=[FIXTURES / "routines"], flows_dirs=[FIXTURES / "flows"]
        )
    options.update(overrides)
    return Settings(**options)


@contextlib.contextmanager
def collect_on_main_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    """Keep garbage collection on the main thread while a server thread runs.

    A collection that happens to run in the server's thread destroys the Qt
    objects of finished tests (qasync's timers among them) in that thread,
    which Qt warns about and which can crash. Automatic collection is off
    for the test; at the end the test's fixture values are released and
    everything is collected here. Use it in the first fixture the test sets
    up, so it ends last.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        # pytest keeps every fixture value in item.funcargs until after the
        # teardown; the event loop and clients stay reachable through it.
        request.node.funcargs.clear()
        gc.collect()
        gc.enable()


@pytest.fixture(name="debug_server")
def debug_server_fixture(request, tmp_path) -> Iterator[RunningServer]:
    """Start the server before the Qt loop fixture takes over asyncio."""
    with collect_on_main_thread(request):
        running = start_server(server_settings(tmp_path))
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture(name="debug_env")
def debug_env_fixture(debug_server, qtbot, run_async) -> Iterator[DebugEnv]:
    """Connect a client and a live event stream to ``debug_server``."""
    api = ApiClient(debug_server.url, API_KEY)
    stream = EventStream(debug_server.url, API_KEY)
    stream.start()
    qtbot.waitUntil(
        lambda: stream.status.state is ConnectionState.CONNECTED, timeout=10_000
    )
    yield DebugEnv(debug_server, api, stream)
    run_async(stream.stop(), timeout=10_000)
    run_async(api.aclose())
