"""Tests for app.logs: per-run files, rotation, pruning and API key masking."""

from __future__ import annotations

import io
import logging

import pytest

from app import logs


@pytest.fixture
def clean_logging(monkeypatch):
    """Undo setup_logging() and the registered secrets after the test."""
    root = logging.getLogger()
    level = root.level
    monkeypatch.delenv(logs.API_KEY_ENV, raising=False)
    yield
    logs.shutdown_logging()
    root.setLevel(level)
    logs._registered_secrets.clear()


def _read(path):
    return path.read_text(encoding="utf-8")


def test_setup_writes_run_files(tmp_path, clean_logging):
    console = io.StringIO()
    files = logs.setup_logging(folder=tmp_path, stream=console)
    logging.getLogger("tests.logs").info("hello from the test")
    logging.getLogger("tests.logs").debug("wire detail")

    assert files.app_log == tmp_path / f"overseer-desktop-{files.run_id}.log"
    assert files.server_log == tmp_path / f"server-{files.run_id}.log"
    assert "hello from the test" in _read(files.app_log)
    assert "hello from the test" in console.getvalue()
    assert "wire detail" not in _read(files.app_log)
    assert logs.current() == files


def test_debug_flag_logs_debug(tmp_path, clean_logging):
    files = logs.setup_logging(debug=True, folder=tmp_path, stream=io.StringIO())
    logging.getLogger("tests.logs").debug("wire detail")

    assert "DEBUG tests.logs: wire detail" in _read(files.app_log)


def test_server_output_in_server_log_only(tmp_path, clean_logging):
    console = io.StringIO()
    files = logs.setup_logging(folder=tmp_path, stream=console)
    logging.getLogger(logs.SERVER_OUTPUT_LOGGER).info(
        "INFO:     Started server process"
    )

    assert _read(files.server_log) == "INFO:     Started server process\n"
    assert "Started server process" not in _read(files.app_log)
    assert "Started server process" not in console.getvalue()


def test_rotation_bounds_file_size(tmp_path, clean_logging):
    files = logs.setup_logging(folder=tmp_path, max_bytes=2000, stream=io.StringIO())
    log = logging.getLogger("tests.logs")
    for number in range(200):
        log.info("line %03d %s", number, "x" * 40)

    rotated = files.app_log.with_name(files.app_log.name + ".1")
    assert rotated.exists()
    assert not files.app_log.with_name(files.app_log.name + ".2").exists()
    assert files.app_log.stat().st_size <= 2000
    assert rotated.stat().st_size <= 2000
    assert "line 199" in _read(files.app_log)


def test_setup_keeps_newest_runs(tmp_path, clean_logging):
    old_runs = [f"20240101-0000{second:02d}-100" for second in range(12)]
    for run in old_runs:
        (tmp_path / f"overseer-desktop-{run}.log").write_text("old\n")
        (tmp_path / f"overseer-desktop-{run}.log.1").write_text("older\n")
        (tmp_path / f"server-{run}.log").write_text("old\n")
    (tmp_path / "notes.txt").write_text("not a log\n")

    files = logs.setup_logging(folder=tmp_path, keep_runs=5, stream=io.StringIO())

    app_logs = sorted(path.name for path in tmp_path.glob("overseer-desktop-*.log"))
    expected = [f"overseer-desktop-{run}.log" for run in old_runs[-4:]]
    assert app_logs == sorted([*expected, files.app_log.name])
    assert len(list(tmp_path.glob("overseer-desktop-*.log.1"))) == 4
    assert len(list(tmp_path.glob("server-*.log"))) == 5
    assert (tmp_path / "notes.txt").exists()


def test_unwritable_folder_logs_to_console(tmp_path, clean_logging):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    console = io.StringIO()

    files = logs.setup_logging(folder=not_a_folder / "log", stream=console)
    logging.getLogger("tests.logs").info("still logged")

    assert files.app_log is None
    assert files.server_log is None
    assert "Logging to the console only" in console.getvalue()
    assert "still logged" in console.getvalue()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (
            "request headers: {'X-API-Key': 'k3y-from-dict', 'accept': '*/*'}",
            "k3y-from-dict",
        ),
        ('headers {"x-api-key": "k3y-json"}', "k3y-json"),
        ("> X-API-Key: k3y-header-line", "k3y-header-line"),
        ("GET /api/v1/ws?api_key=k3y-query&since=4", "k3y-query"),
        (
            "ws://127.0.0.1:8080/api/v1/ws?x=1&api_key=k3y-second-param",
            "k3y-second-param",
        ),
        ("EventStream(api_key='k3y-kwarg')", "k3y-kwarg"),
        ('{"api_key": "k3y-json-field", "limit": 5}', "k3y-json-field"),
        ("env: OVERSEER_API_KEY=k3y-env-line", "k3y-env-line"),
        ("command: overseer-server --api-key k3y-option --port 0", "k3y-option"),
        ("command: overseer-server --api-key=k3y-option-eq", "k3y-option-eq"),
    ],
)
def test_mask_secrets_patterns(text, secret, clean_logging):
    masked = logs.mask_secrets(text)

    assert secret not in masked
    assert logs.MASK in masked


def test_mask_keeps_ordinary_text(clean_logging):
    text = "Job 42 completed in 15 ms; api keys are configured"

    assert logs.mask_secrets(text) == text


def test_mask_env_key_value(monkeypatch, clean_logging):
    monkeypatch.setenv(logs.API_KEY_ENV, "env-secret-value-123")

    masked = logs.mask_secrets("connecting with env-secret-value-123 now")

    assert masked == f"connecting with {logs.MASK} now"


def test_mask_registered_secret(clean_logging):
    logs.register_secret("Zx9-launcher-key")
    logs.register_secret("abc")  # too short to mask as a literal

    masked = logs.mask_secrets("child key Zx9-launcher-key, code abc")

    assert masked == f"child key {logs.MASK}, code abc"


def test_filter_masks_args_and_traceback(tmp_path, monkeypatch, clean_logging):
    monkeypatch.setenv(logs.API_KEY_ENV, "env-secret-value-123")
    console = io.StringIO()
    files = logs.setup_logging(folder=tmp_path, stream=console)
    log = logging.getLogger("tests.logs")

    log.info("headers %s", {"X-API-Key": "arg-secret-456"})
    try:
        raise ValueError("bad key env-secret-value-123")
    except ValueError:
        log.exception("Request failed for %s", "http://h/ws?api_key=query-secret-789")

    written = _read(files.app_log)
    for secret in ("arg-secret-456", "env-secret-value-123", "query-secret-789"):
        assert secret not in written
        assert secret not in console.getvalue()
    assert "ValueError: bad key ***" in written
    assert "Traceback (most recent call last)" in written


def test_filter_masks_server_output(tmp_path, clean_logging):
    files = logs.setup_logging(folder=tmp_path, stream=io.StringIO())
    logs.register_secret("child-api-key-000")

    logging.getLogger(logs.SERVER_OUTPUT_LOGGER).info(
        "GET /api/v1/jobs X-API-Key: child-api-key-000"
    )

    assert "child-api-key-000" not in _read(files.server_log)


def test_prune_runs_skips_other_prefixes(tmp_path):
    for run in ("20240101-000000-1", "20240101-000001-1", "20240101-000002-1"):
        (tmp_path / f"crash-{run}.txt").write_text("x")
        (tmp_path / f"server-{run}.log").write_text("x")

    deleted = logs.prune_runs(tmp_path, "crash-", keep=1)

    assert sorted(path.name for path in deleted) == [
        "crash-20240101-000000-1.txt",
        "crash-20240101-000001-1.txt",
    ]
    assert len(list(tmp_path.glob("server-*.log"))) == 3
