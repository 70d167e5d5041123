"""Real server processes on 127.0.0.1 for the compatibility tests.

Two servers load the same sample flow (``tests/fixtures/compat``):

- the stock Routilux 1.1.0 server, ``routilux server start`` from its own
  virtual environment (``ensure_stock_venv`` creates it when missing), and
- this project's server, ``python -m embedded_server``.

Each process's combined stdout and stderr is read by a thread, so a test can
wait for a line with a timeout, and the tail is kept for failure messages.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = PROJECT_ROOT / "tests" / "fixtures" / "compat"
FLOW_ID = "compat_flow"
ENTRY_ROUTINE = "feed"
ENTRY_SLOT = "input"

STOCK_REQUIREMENT = "routilux[server,cli]==1.1.0"
STOCK_VERSION = "1.1.0"
STOCK_VENV_ENV = "ROUTILUX_STOCK_VENV"
DEFAULT_STOCK_VENV = "/tmp/routilux-stock-venv"
INSTALL_TIMEOUT = 480.0
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

_STOCK_URL = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
_OUR_URL = re.compile(r"^(https?://127\.0\.0\.1:\d+)$")

# pip's messages when it cannot reach the package index at all.
_OFFLINE_HINTS = (
    "NewConnectionError",
    "Max retries exceeded",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Name or service not known",
    "No matching distribution found for routilux",
    "Could not find a version that satisfies the requirement routilux",
)


class ProcessOutput:
    """Lines a child process writes, read by a daemon thread."""

    def __init__(self, stream) -> None:
        self.tail: collections.deque[str] = collections.deque(maxlen=200)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._watching = True
        threading.Thread(
            target=self._pump, args=(stream,), name="server-output", daemon=True
        ).start()

    def _pump(self, stream) -> None:
        with contextlib.suppress(ValueError, OSError):
            for raw in iter(stream.readline, ""):
                line = raw.rstrip()
                self.tail.append(line)
                if self._watching:
                    self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """Return the first match of ``pattern`` in a new line, within ``timeout`` s.

        Raises:
            TimeoutError: No line matched in time.
            EOFError: The process closed its output first.
        """
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self._lines.get(timeout=max(remaining, 0.0))
            except queue.Empty:
                raise TimeoutError(f"no line matched {pattern.pattern!r}") from None
            if line is None:
                raise EOFError("the process closed its output")
            match = pattern.search(line)
            if match:
                return match

    def stop_watching(self) -> None:
        """Keep only the tail from now on."""
        self._watching = False

    def describe(self) -> str:
        return "\n".join(self.tail) or "(no output)"


@dataclass
class ServerProcess:
    """A server child process and how to reach it."""

    kind: str  # "stock" or "ours"
    url: str
    api_key: str
    process: subprocess.Popen[str]
    output: ProcessOutput
    command: list[str] = field(default_factory=list)

    @property
    def is_stock(self) -> bool:
        return self.kind == "stock"

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        """End the process by its PID: SIGTERM, then SIGKILL after STOP_TIMEOUT."""
        process = self.process
        if process.poll() is None:
            # A stopped process keeps SIGTERM pending until it runs again.
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                # The stock server's shutdown can hang on open WebSocket tasks.
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def stock_venv_path() -> Path:
    return Path(os.environ.get(STOCK_VENV_ENV, DEFAULT_STOCK_VENV))


def _installed_version(venv: Path) -> str | None:
    python = venv / "bin" / "python"
    if not (venv / "bin" / "routilux").exists() or not python.exists():
        return None
    result = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m; print(m.version('routilux'))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def ensure_stock_venv() -> Path:
    """Return a virtual environment with the stock server, creating it when missing.

    Skips the calling test when pip cannot reach the package index, and fails
    it when the install breaks for any other reason.
    """
    venv = stock_venv_path()
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{venv}.lock", "w") as lock:
        # Another test session may be installing into the same folder.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed_version(venv) == STOCK_VERSION:
            return venv
        if not (venv / "bin" / "python").exists():
            subprocess.run(
                [sys.executable, "-m", "venv", str(venv)],
                check=True,
                capture_output=True,
                timeout=120,
            )
        result = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                STOCK_REQUIREMENT,
            ],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
        )
        if result.returncode != 0:
            message = (result.stderr or result.stdout)[-3000:]
            if any(hint in message for hint in _OFFLINE_HINTS):
                pytest.skip(
                    f"the package index is unreachable, so {STOCK_REQUIREMENT} "
                    f"could not be installed into {venv}: {message.strip()[-300:]}"
                )
            pytest.fail(
                f"pip install {STOCK_REQUIREMENT} into {venv} failed:\n{message}"
            )
        if _installed_version(venv) != STOCK_VERSION:
            pytest.fail(
                f"{venv} does not contain routilux {STOCK_VERSION} after pip install"
            )
        return venv


def _spawn(
    command: list[str], *, cwd: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[str], ProcessOutput]:
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, ProcessOutput(process.stdout)


def _await_url(
    kind: str,
    process: subprocess.Popen[str],
    output: ProcessOutput,
    pattern: re.Pattern[str],
) -> str:
    try:
        url = output.wait_for(pattern, START_TIMEOUT).group(1)
    except (TimeoutError, EOFError) as exc:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)
        raise RuntimeError(
            f"the {kind} server did not report its URL ({exc}); its output:\n"
            f"{output.describe()}"
        ) from exc
    output.stop_watching()
    return url


def start_stock_server(venv: Path, workdir: Path, api_key: str) -> ServerProcess:
    """Start the stock server on a free port with the sample flow and API keys on."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "ROUTILUX_API_KEY": api_key,
        "ROUTILUX_API_KEY_ENABLED": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
        # The CLI also loads ~/.routilux/routines; keep it to the sample.
        "HOME": str(workdir),
    }
    env.pop("ROUTILUX_DEV_DISABLE_SECURITY", None)
    command = [
        str(venv / "bin" / "routilux"),
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--routines-dir",
        str(SAMPLE / "routines"),
        "--flows-dir",
        str(SAMPLE / "flows"),
        "--log-level",
        "info",
    ]
    process, output = _spawn(command, cwd=workdir, env=env)
    url = _await_url("stock", process, output, _STOCK_URL)
    return ServerProcess("stock", url, api_key, process, output, command)


def start_our_server(
    workdir: Path, api_key: str, *, port: int = 0, extra: list[str] | None = None
) -> ServerProcess:
    """Start ``python -m embedded_server`` with the sample flow.

    It exits when this process closes its stdin, so a crashed test run
    leaves no server behind.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "OVERSEER_API_KEY": api_key,
        "OVERSEER_EXIT_WITH_PARENT": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
        ),
    }
    command = [
        sys.executable,
        "-m",
        "embedded_server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--routines-dir",
        str(SAMPLE / "routines"),
        "--flows-dir",
        str(SAMPLE / "flows"),
        "--db",
        str(workdir / "history.db"),
        "--rate-limit",
        "0",
        *(extra or []),
    ]
    process, output = _spawn(command, cwd=PROJECT_ROOT, env=env)
    url = _await_url("embedded", process, output, _OUR_URL)
    return ServerProcess("ours", url, api_key, process, output, command)
