"""Tests for starting and stopping the embedded server child process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from app.services.launcher import EmbeddedServer, EmbeddedServerError

FAKE_SERVER = Path(__file__).with_name("fake_server.py")


@pytest.fixture
def record_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "record.json"
    monkeypatch.setenv("FAKE_SERVER_RECORD", str(path))
    return path


def fake_launcher(monkeypatch, mode: str, **options) -> EmbeddedServer:
    monkeypatch.setenv("FAKE_SERVER_MODE", mode)
    return EmbeddedServer(program=[sys.executable, str(FAKE_SERVER)], **options)


def test_start_returns_url_and_key(run, monkeypatch, record_file):
    launcher = fake_launcher(monkeypatch, "serve")

    async def scenario():
        try:
            url, key = await launcher.start()
            return url, key, launcher.is_running, launcher.url
        finally:
            await launcher.stop()

    url, key, was_running, reported_url = run(scenario())
    recorded = json.loads(record_file.read_text())
    assert url == "http://127.0.0.1:54321"
    assert reported_url == url
    assert was_running
    assert len(key) >= 32
    assert recorded["env"]["OVERSEER_API_KEY"] == key
    assert recorded["env"]["OVERSEER_EXIT_WITH_PARENT"] == "1"
    assert key not in " ".join(recorded["argv"])
    assert recorded["argv"] == [
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--allow-evaluate",
        "--demo",
    ]
    assert not launcher.is_running


def test_start_passes_user_folders(run, monkeypatch, record_file, tmp_path):
    launcher = fake_launcher(monkeypatch, "serve")

    async def scenario():
        try:
            await launcher.start(
                routines_dir=tmp_path / "r",
                flows_dir=tmp_path / "f",
                demo=False,
                db=tmp_path / "h.db",
            )
        finally:
            await launcher.stop()

    run(scenario())
    argv = json.loads(record_file.read_text())["argv"]
    assert "--demo" not in argv
    assert argv[argv.index("--routines-dir") + 1] == str(tmp_path / "r")
    assert argv[argv.index("--flows-dir") + 1] == str(tmp_path / "f")
    assert argv[argv.index("--db") + 1] == str(tmp_path / "h.db")


def test_each_start_gets_new_key(run, monkeypatch):
    launcher = fake_launcher(monkeypatch, "serve")

    async def scenario():
        keys = []
        for _ in range(2):
            _, key = await launcher.start()
            keys.append(key)
            await launcher.stop()
        return keys

    first, second = run(scenario())
    assert first != second


def test_early_exit_reports_stderr(run, monkeypatch):
    launcher = fake_launcher(monkeypatch, "exit")

    async def scenario():
        with pytest.raises(EmbeddedServerError) as info:
            await launcher.start()
        return str(info.value)

    message = run(scenario())
    assert "exited during start-up with code 3" in message
    assert "error: flows directory not found" in message
    assert launcher.returncode == 3
    assert not launcher.is_running


def test_missing_url_times_out(run, monkeypatch):
    launcher = fake_launcher(monkeypatch, "silent", startup_timeout=0.5)

    async def scenario():
        with pytest.raises(EmbeddedServerError) as info:
            await launcher.start()
        return str(info.value)

    message = run(scenario())
    assert "didn't report its URL within 0.5 s" in message
    assert "fake server starting" in message
    assert launcher.returncode is not None
    assert not launcher.is_running


def test_stop_kills_child_ignoring_sigterm(run, monkeypatch):
    launcher = fake_launcher(monkeypatch, "stubborn")
    exits = []
    launcher.exited.connect(lambda code, tail: exits.append(code))

    async def scenario():
        await launcher.start()
        await launcher.stop(timeout=0.3)

    run(scenario())
    assert launcher.returncode == -signal.SIGKILL
    assert exits == []


def test_unexpected_exit_emits_exited(run, monkeypatch):
    launcher = fake_launcher(monkeypatch, "serve")
    exited = asyncio.Event()
    reports = []

    def on_exited(code, tail):
        reports.append((code, tail))
        exited.set()

    launcher.exited.connect(on_exited)

    async def scenario():
        await launcher.start()
        os.kill(launcher.pid, signal.SIGKILL)  # the child this test started
        await asyncio.wait_for(exited.wait(), 5.0)
        running_after = launcher.is_running
        await launcher.stop()
        return running_after

    running_after = run(scenario())
    assert reports == [(-signal.SIGKILL, "fake server starting")]
    assert not running_after
    assert launcher.url is None


def test_start_twice_rejected(run, monkeypatch):
    launcher = fake_launcher(monkeypatch, "serve")

    async def scenario():
        await launcher.start()
        try:
            with pytest.raises(RuntimeError, match="already running"):
                await launcher.start()
        finally:
            await launcher.stop()

    run(scenario())


def test_missing_program_reported(run):
    launcher = EmbeddedServer(program=["/nonexistent/overseer-server"])

    async def scenario():
        with pytest.raises(EmbeddedServerError) as info:
            await launcher.start()
        return str(info.value)

    assert "Couldn't start the embedded server (/nonexistent/overseer-server)" in run(
        scenario()
    )
