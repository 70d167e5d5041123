"""Tests for the command line of app.main."""

from __future__ import annotations

import pytest

from app import main as entry_point


def test_version_printed(capsys):
    """--version prints the program name and version, then exits cleanly."""
    with pytest.raises(SystemExit) as caught:
        entry_point.main(["--version"])

    assert caught.value.code == 0
    assert capsys.readouterr().out.startswith("overseer-desktop ")


def test_connect_and_server_options_parsed():
    """The server options and --connect are read as documented."""
    args = entry_point.build_parser().parse_args(
        ["--connect", "http://127.0.0.1:8080", "--flows-dir", "flows", "--debug"]
    )

    assert args.connect == "http://127.0.0.1:8080"
    assert str(args.flows_dir) == "flows"
    assert args.debug
    assert args.routines_dir is None


def test_server_mode_runs_server_cli(monkeypatch):
    """A first argument ``server`` hands the rest to the server's command line."""
    import embedded_server.cli

    received = []
    monkeypatch.setattr(
        embedded_server.cli, "main", lambda argv: received.append(argv) or 7
    )

    assert entry_point.main(["server", "--port", "0"]) == 7
    assert received == [["--port", "0"]]
