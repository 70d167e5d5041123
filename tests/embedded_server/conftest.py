"""Fixtures that start a real embedded server on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from embedded_server.settings import Settings
from tests.conftest import FIXTURES
from tests.serverutil import start_server

API_KEY = "test-key-0123456789"


@pytest.fixture
def make_server(tmp_path):
    """Start servers with the test fixtures loaded; stop them after the test."""
    started = []

    def make(**overrides):
        options = {
            "routines_dirs": [FIXTURES / "routines"],
            "flows_dirs": [FIXTURES / "flows"],
            "db_path": tmp_path / "history.db",
            "api_key": API_KEY,
            "rate_limit_per_minute": 0,
            "evaluate_rate_per_minute": 0,
        }
        options.update(overrides)
        running = start_server(Settings(**options))
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=10) as http:
        yield http
