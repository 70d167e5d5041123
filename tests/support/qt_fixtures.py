"""Fixtures shared by the model, controller and view tests.

Each test folder's conftest imports these names, which registers them there.
"""

from __future__ import annotations

import asyncio

import pytest

from app.services.api import ApiClient
from tests.support.async_helpers import install_qasync_loop, run_until_done
from tests.support.fake_api import BASE_URL, FakeServer


@pytest.fixture
def qloop(qapp, qtbot):
    """Run asyncio on the Qt event loop for the duration of the test."""
    with install_qasync_loop(qapp, qtbot) as loop:
        yield loop


@pytest.fixture
def run_async(qloop, qtbot):
    """Return a function that runs a coroutine to completion and returns its result."""

    def run(coroutine, timeout: int = 5000):
        return run_until_done(qtbot, asyncio.ensure_future(coroutine), timeout)

    return run


@pytest.fixture
def fake_server():
    """Return an empty in-memory server with two flows."""
    return FakeServer()


@pytest.fixture
def api(fake_server, run_async):
    """Return an ApiClient that talks to the fake server."""
    client = ApiClient(BASE_URL, "test-key", transport=fake_server.transport())
    yield client
    run_async(client.aclose())
