"""Fixtures for these tests: a qasync loop and an in-memory fake server."""

from tests.support.qt_fixtures import api, fake_server, qloop, run_async  # noqa: F401
