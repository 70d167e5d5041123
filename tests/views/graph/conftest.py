"""Real embedded servers for the flow views' tests, and the clients the app would use."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

import httpx
import pytest

from embedded_server.settings import Settings
from tests.conftest import FIXTURES
from tests.serverutil import RunningServer, start_server

API_KEY = "flow-views-test-key"


@contextlib.contextmanager
def _collect_on_main_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    """Turn automatic garbage collection off while the server thread runs.

    Collected in the server's thread, the Qt objects of finished tests would
    be destroyed outside the Qt thread. pytest keeps fixture values in
    ``item.funcargs`` until after teardown, so they are released first.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        request.node.funcargs.clear()
        gc.collect()
        gc.enable()


def _serve(
    request: pytest.FixtureRequest, settings: Settings
) -> Iterator[RunningServer]:
    with _collect_on_main_thread(request):
        running = start_server(settings)
        try:
            yield running
        finally:
            running.stop()


def _settings(tmp_path, **options) -> Settings:
    return Settings(
        db_path=tmp_path / "history.db",
        api_key=API_KEY,
        rate_limit_per_minute=0,
        allow_evaluate=True,
        **options,
    )


@pytest.fixture
def demo_server(request, tmp_path) -> Iterator[RunningServer]:
    """A server with the demo flows; request it before the Qt loop fixtures."""
    yield from _serve(request, _settings(tmp_path, demo=True))


@pytest.fixture
def dryrun_server(request, tmp_path) -> Iterator[RunningServer]:
    """A server with the dry-run fixture flows (findings, declared inputs)."""
    settings = _settings(
        tmp_path,
        routines_dirs=[FIXTURES / "dryrun" / "routines"],
        flows_dirs=[FIXTURES / "dryrun" / "flows"],
    )
    yield from _serve(request, settings)


def http(server: RunningServer) -> httpx.Client:
    """Return a blocking client for the test thread, outside the Qt loop."""
    return httpx.Client(base_url=server.url, headers=server.headers, timeout=30)
