"""Shared parts of the benchmarks: both servers as child processes and job load.

Every server here listens on 127.0.0.1 only and is stopped by its own PID.
Every wait is bounded in time, every load loop in count and time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.procinfo import ProcStatus, cpu_seconds, proc_status

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "bench" / "fixtures"
ROUTINES_DIR = FIXTURES / "routines"
FLOWS_DIR = FIXTURES / "flows"
OUR_PYTHON = REPO / ".venv" / "bin" / "python"
STOCK_VENV = Path(os.environ.get("ROUTILUX_STOCK_VENV", "/tmp/routilux-stock-venv"))
STOCK_REQUIREMENT = "routilux[server,cli]==1.1.0"

STARTUP_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 10.0
REQUEST_TIMEOUT_S = 30.0

# The sample flow both servers run: source -> transform -> sink, data {"value": n}.
STUDY_JOB = {"flow_id": "study_flow", "routine_id": "source", "slot_name": "input"}


# -- processes ------------------------------------------------------------------


@dataclass
class ServerProcess:
    """One server running as a child process of the benchmark."""

    kind: str  # "ours" or "stock"
    process: subprocess.Popen
    url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def status(self) -> ProcStatus:
        return proc_status(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=REQUEST_TIMEOUT_S, **kwargs)

    def async_client(self, connections: int = 16, **kwargs: Any) -> httpx.AsyncClient:
        limits = httpx.Limits(
            max_connections=connections, max_keepalive_connections=connections
        )
        return httpx.AsyncClient(
            base_url=self.url, timeout=REQUEST_TIMEOUT_S, limits=limits, **kwargs
        )

    def stop(self) -> None:
        """Send SIGTERM to this PID, then SIGKILL if it is still alive after 10 s.

        Routilux 1.1.0 can hang in its shutdown when a WebSocket client left
        while its job was idle, and the SIGKILL is for that case.
        """
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            logger.warning(
                "%s server (PID %d) ignored SIGTERM for %.0f s; sending SIGKILL",
                self.kind,
                self.pid,
                STOP_TIMEOUT_S,
            )
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_live(
    url: str,
    process: subprocess.Popen,
    log_path: Path,
    timeout_s: float = STARTUP_TIMEOUT_S,
) -> None:
    """Poll ``/api/v1/health/live`` until it returns 200, the process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"server exited with code {process.returncode} during "
                    f"startup; log: {log_path}"
                )
            try:
                if client.get("/api/v1/health/live").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    raise TimeoutError(
        f"{url}/api/v1/health/live did not return 200 within {timeout_s:.0f} s; "
        f"log: {log_path}"
    )


def start_ours(
    db_path: Path, log_dir: Path, *, extra_args: Sequence[str] = ()
) -> ServerProcess:
    """Start ``python -m embedded_server`` on a free port with the bench fixtures."""
    log_path = log_dir / f"ours-{time.strftime('%H%M%S')}-{db_path.stem}.log"
    command = [
        str(OUR_PYTHON),
        "-m",
        "embedded_server",
        "--port",
        "0",
        "--db",
        str(db_path),
        "--routines-dir",
        str(ROUTINES_DIR),
        "--flows-dir",
        str(FLOWS_DIR),
        "--rate-limit",
        "0",
        "--log-level",
        "warning",
        *extra_args,
    ]
    env = os.environ.copy()
    env.pop("OVERSEER_API_KEY", None)
    env.pop("OVERSEER_EXIT_WITH_PARENT", None)
    log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed by the reader thread
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        bufsize=1,
    )
    url = _read_url(process, log, STARTUP_TIMEOUT_S)
    if url is None:
        try:
            code = process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)
            raise RuntimeError(
                f"our server printed no URL within {STARTUP_TIMEOUT_S:.0f} s; "
                f"log: {log_path}"
            ) from None
        raise RuntimeError(
            f"our server exited with code {code} before printing its URL; "
            f"log: {log_path}"
        )
    wait_live(url, process, log_path)
    return ServerProcess("ours", process, url, log_path)


def _read_url(process: subprocess.Popen, log: Any, timeout_s: float) -> str | None:
    # A thread keeps reading stdout after the URL line, so the child never
    # blocks on a full pipe. Everything else it prints goes to the log.
    found: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        announced = False
        for line in process.stdout:
            if not announced and line.startswith("http://"):
                announced = True
                found.put(line.strip())
            else:
                log.write(line)
        if not announced:
            found.put(None)
        log.close()

    threading.Thread(target=pump, name=f"stdout-{process.pid}", daemon=True).start()
    try:
        return found.get(timeout=timeout_s)
    except queue.Empty:
        return None


def ensure_stock_venv() -> Path:
    """Create the stock server's virtual environment if it is missing; return its CLI."""
    cli = STOCK_VENV / "bin" / "routilux"
    if cli.exists():
        return cli
    print(f"Installing {STOCK_REQUIREMENT} into {STOCK_VENV} ...", flush=True)
    subprocess.run(["python3", "-m", "venv", str(STOCK_VENV)], check=True, timeout=300)
    subprocess.run(
        [str(STOCK_VENV / "bin" / "pip"), "install", "-q", STOCK_REQUIREMENT],
        check=True,
        timeout=900,
    )
    return cli


def start_stock(log_dir: Path) -> ServerProcess:
    """Start the stock Routilux 1.1.0 server (auth off) on a free port with the bench fixtures."""
    cli = ensure_stock_venv()
    port = free_port()
    log_path = log_dir / f"stock-{time.strftime('%H%M%S')}-{port}.log"
    # The stock CLI also scans ./routines of its working folder; an empty
    # folder keeps it from importing anything twice.
    workdir = log_dir / f"stock-cwd-{port}"
    workdir.mkdir(parents=True, exist_ok=True)
    env = os.environ.copy()
    for name in (
        "ROUTILUX_ENV",
        "ENVIRONMENT",
        "ROUTILUX_API_KEY",
        "ROUTILUX_API_KEYS",
    ):
        env.pop(name, None)
    env["ROUTILUX_DEV_DISABLE_SECURITY"] = "true"
    command = [
        str(cli),
        "server",
        "start",
        "--host",
        HOST,
        "--port",
        str(port),
        "--routines-dir",
        str(ROUTINES_DIR),
        "--flows-dir",
        str(FLOWS_DIR),
        "--log-level",
        "warning",
    ]
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://{HOST}:{port}"
    try:
        wait_live(url, process, log_path)
    except BaseException:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)
        raise
    return ServerProcess("stock", process, url, log_path)


# -- load -------------------------------------------------------------------------


@dataclass
class SubmitResult:
    """Outcome of a burst of ``POST /api/v1/jobs``: created jobs, errors and time."""

    job_ids: list[str] = field(default_factory=list)
    worker_ids: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.job_ids) / self.elapsed_s if self.elapsed_s else 0.0


async def submit_jobs(
    client: httpx.AsyncClient,
    count: int,
    body: Callable[[int], dict],
    *,
    concurrency: int = 16,
    time_limit_s: float = 300.0,
    on_submitted: Callable[[dict], None] | None = None,
) -> SubmitResult:
    """Post ``count`` jobs with ``concurrency`` requests in flight, stopping at the time limit.

    ``body(i)`` builds the request body of job ``i``; ``on_submitted`` gets
    each created job as soon as its response arrives. Failed requests are
    counted in ``errors`` and not retried.
    """
    result = SubmitResult()
    next_index = 0
    deadline = time.monotonic() + time_limit_s

    async def sender() -> None:
        nonlocal next_index
        while next_index < count and time.monotonic() < deadline:
            index = next_index
            next_index += 1
            try:
                response = await client.post("/api/v1/jobs", json=body(index))
            except httpx.HTTPError as exc:
                result.errors.append(f"job {index}: {type(exc).__name__}: {exc}")
                continue
            if response.status_code != 201:
                result.errors.append(
                    f"job {index}: HTTP {response.status_code} {response.text[:200]}"
                )
                continue
            job = response.json()
            result.job_ids.append(job["job_id"])
            result.worker_ids.add(job.get("worker_id"))
            if on_submitted is not None:
                on_submitted(job)

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    result.elapsed_s = time.perf_counter() - started
    if next_index < count:
        result.errors.append(
            f"time limit of {time_limit_s:.0f} s reached after "
            f"{next_index} of {count} jobs"
        )
    return result


def job_total(client: httpx.Client, **filters: str) -> int:
    """Return ``total`` of ``GET /api/v1/jobs`` with these filters (one-row page)."""
    response = client.get("/api/v1/jobs", params={**filters, "limit": 1})
    response.raise_for_status()
    return response.json()["total"]


def wait_until_idle(
    client: httpx.Client,
    timeout_s: float,
    statuses: Sequence[str] = ("running",),
    flow_id: str | None = None,
) -> bool:
    """Poll until no job has one of ``statuses``; return False on timeout."""
    deadline = time.monotonic() + timeout_s
    extra = {"flow_id": flow_id} if flow_id else {}
    while time.monotonic() < deadline:
        if all(job_total(client, status=status, **extra) == 0 for status in statuses):
            return True
        time.sleep(0.25)
    return False


def work_dir(base: Path | None) -> Path:
    """Return a scratch folder for databases and logs (kept, so logs can be read)."""
    folder = base or Path(os.environ.get("TMPDIR", "/tmp")) / "overseer-bench"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def remove_db(path: Path) -> None:
    """Delete an SQLite file with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
