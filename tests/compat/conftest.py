"""Fixtures for the compatibility tests: real server processes on 127.0.0.1."""

from __future__ import annotations

import pytest
from compat_servers import (
    ensure_stock_venv,
    start_our_server,
    start_stock_server,
)

from tests.support.qt_fixtures import qloop, run_async  # noqa: F401

STOCK_KEY = "compat-stock-key"
OUR_KEY = "compat-our-key"


@pytest.fixture(scope="session")
def stock_venv():
    """Virtual environment with the stock server, installed on first use."""
    return ensure_stock_venv()


@pytest.fixture(scope="module")
def stock_server(stock_venv, tmp_path_factory):
    """The stock Routilux 1.1.0 server with the sample flow, for one module."""
    server = start_stock_server(stock_venv, tmp_path_factory.mktemp("stock"), STOCK_KEY)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def our_server(tmp_path_factory):
    """This project's server with the sample flow, for one module."""
    server = start_our_server(tmp_path_factory.mktemp("ours"), OUR_KEY)
    yield server
    server.stop()


@pytest.fixture(
    scope="module",
    params=[pytest.param("stock", marks=pytest.mark.stock), "ours"],
)
def server(request):
    """Each server in turn: the stock one first, then ours."""
    names = {"stock": "stock_server", "ours": "our_server"}
    return request.getfixturevalue(names[request.param])


@pytest.fixture
def make_our_server(tmp_path):
    """Start servers of our own for one test (they may be killed or stopped)."""
    started = []

    def make(folder: str | None = None, **options):
        """Start a server; the same ``folder`` reuses that server's history file."""
        folder = folder or f"server{len(started)}"
        server = start_our_server(tmp_path / folder, OUR_KEY, **options)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()
