"""Tests of the packaged build: build it with packaging/build.sh, then run what it made.

Slow: one PyInstaller build for the whole module, about a minute on two
cores, plus the first download of PyInstaller into .venv.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tarfile
import threading
import tomllib
from pathlib import Path

import httpx
import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(sys.platform != "linux", reason="the build is tested on Linux"),
]

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
MAX_BUNDLE_BYTES = 200 * 1024 * 1024
STARTUP_TIMEOUT = 60


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """Build once into a temporary folder; return the dist folder."""
    base = tmp_path_factory.mktemp("packaged")
    result = subprocess.run(
        [
            str(ROOT / "packaging" / "build.sh"),
            "--dist",
            str(base / "dist"),
            "--work",
            str(base / "work"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr}"
    return base / "dist"


@pytest.fixture(scope="module")
def executable(dist) -> Path:
    return dist / "overseer-desktop" / "overseer-desktop"


def _environment() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OVERSEER_", "PYTHON"))
    }
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


class BundledServer:
    """``overseer-desktop server ...`` of the bundle, with its URL once it listens."""

    def __init__(self, executable: Path, args: list[str], log: Path):
        self._stderr = log.open("w")
        self.process = subprocess.Popen(
            [str(executable), "server", "--port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=_environment(),
        )
        lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(
            target=lambda: [lines.put(line) for line in self.process.stdout],
            daemon=True,
        )
        self._reader.start()
        try:
            self.url = lines.get(timeout=STARTUP_TIMEOUT).strip()
        except queue.Empty:
            self.stop()
            pytest.fail(
                f"no URL within {STARTUP_TIMEOUT} s; stderr:\n{log.read_text()}"
            )

    def stop(self) -> int:
        self.process.terminate()
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=30)
        # The reader ends at end of file; closing the pipe under it would raise.
        self._reader.join(timeout=30)
        self.process.stdout.close()
        self._stderr.close()
        return code


@pytest.fixture
def start_server(executable, tmp_path):
    servers: list[BundledServer] = []

    def start(*args: str) -> BundledServer:
        log = tmp_path / f"server-{len(servers)}.log"
        server = BundledServer(executable, list(args), log)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _run_job(client: httpx.Client, payload: dict) -> dict:
    job = client.post("/api/v1/jobs", json=payload)
    assert job.status_code in (200, 201), job.text
    job_id = job.json()["job_id"]
    waited = client.post(f"/api/v1/jobs/{job_id}/wait", params={"timeout": 30})
    assert waited.status_code == 200, waited.text
    return {"job_id": job_id, **waited.json()}


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("--version", f"overseer-desktop {VERSION}\n"),
        ("--help", "usage: overseer-desktop"),
    ],
)
def test_bundle_options_without_display(executable, option, expected):
    headless = {
        key: value
        for key, value in _environment().items()
        if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }

    result = subprocess.run(
        [str(executable), option],
        capture_output=True,
        text=True,
        timeout=60,
        env=headless,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(expected)


def test_bundle_server_help(executable):
    result = subprocess.run(
        [str(executable), "server", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: overseer-server")
    assert "--routines-dir" in result.stdout


def test_bundle_server_runs_demo_job(start_server, tmp_path):
    server = start_server("--demo", "--db", str(tmp_path / "history.db"))

    with httpx.Client(base_url=server.url, timeout=30) as client:
        flows = client.get("/api/v1/flows").json()
        finished = _run_job(
            client,
            {
                "flow_id": "fan_out_numbers",
                "routine_id": "split",
                "slot_name": "input",
                "data": {"numbers": [4, 0, 15, 8, 0, 23]},
            },
        )
        detail = client.get(f"/api/v1/jobs/{finished['job_id']}").json()

    assert server.url.startswith("http://127.0.0.1:")
    assert {"etl_orders", "fan_out_numbers", "route_reply"} <= {
        flow["flow_id"] for flow in flows["flows"]
    }
    assert flows["load_errors"] == []
    assert finished["final_status"] == "completed"
    assert detail["status"] == "completed"
    assert (tmp_path / "history.db").exists()


def test_bundle_event_stream_connects(start_server, tmp_path):
    from websockets.sync.client import connect

    server = start_server("--db", str(tmp_path / "history.db"))
    ws_url = server.url.replace("http://", "ws://") + "/api/v1/websocket"

    with connect(ws_url, open_timeout=30) as socket:
        first = socket.recv(timeout=30)

    assert '"connection:status"' in first


def test_bundle_loads_user_routines(start_server, tmp_path):
    extra = tmp_path / "routines"
    extra.mkdir()
    (extra / "needs_pytest.py").write_text("import pytest  # not in the bundle\n")
    (extra / "needs_stdlib.py").write_text(
        "import csv, statistics, xml.dom.minidom, email.message, sqlite3  # noqa\n"
    )
    server = start_server(
        "--routines-dir", str(FIXTURES / "routines"),
        "--routines-dir", str(extra),
        "--flows-dir", str(FIXTURES / "flows"),
        "--db", str(tmp_path / "history.db"),
    )  # fmt: skip

    with httpx.Client(base_url=server.url, timeout=30) as client:
        errors = client.get("/api/v1/load-errors").json()["load_errors"]
        finished = _run_job(
            client,
            {
                "flow_id": "pipeline",
                "routine_id": "source",
                "slot_name": "input",
                "data": {"value": 7},
            },
        )
        data = client.get(f"/api/v1/jobs/{finished['job_id']}/data").json()

    by_file = {Path(error["path"]).name: error["error"] for error in errors}
    assert "missing module 'pytest'" in by_file["needs_pytest.py"]
    assert (
        "missing module 'overseer_module_that_does_not_exist'"
        in by_file["broken_import.py"]
    )
    assert "needs_stdlib.py" not in by_file
    assert finished["final_status"] == "completed"
    assert data["data"]["received"] == {"value": 7}


def _receive_first(socket, event_types: set[str]) -> dict:
    """Return the first message whose type is in ``event_types``, within 30 s each."""
    while True:
        message = json.loads(socket.recv(timeout=30))
        if message.get("type") in event_types:
            return message


def test_bundle_evaluates_expressions(start_server, tmp_path):
    """Breakpoint conditions and evaluate run in the bundle's sandbox."""
    from websockets.sync.client import connect

    server = start_server(
        "--routines-dir", str(FIXTURES / "routines"),
        "--flows-dir", str(FIXTURES / "flows"),
        "--db", str(tmp_path / "history.db"),
        "--allow-evaluate",
    )  # fmt: skip
    ws_url = server.url.replace("http://", "ws://") + "/api/v1/websocket"
    events = "job_paused,job_completed,job_failed"

    with (
        httpx.Client(base_url=server.url, timeout=30) as client,
        connect(f"{ws_url}?events={events}", open_timeout=30) as socket,
    ):
        _receive_first(socket, {"connection:status"})
        created = client.post(
            "/api/v1/flows/pipeline/breakpoints",
            json={"routine_id": "sink", "slot_name": "input", "condition": "value > 5"},
        )
        assert created.status_code == 201, created.text
        job_id = client.post(
            "/api/v1/jobs",
            json={
                "flow_id": "pipeline",
                "routine_id": "source",
                "slot_name": "input",
                "data": {"value": 9},
            },
        ).json()["job_id"]
        first = _receive_first(socket, set(events.split(",")))
        stored = client.get("/api/v1/flows/pipeline/breakpoints").json()
        assert first["type"] == "job_paused", f"the job did not pause: {stored}"
        evaluated = client.post(
            f"/api/v1/jobs/{job_id}/debug/evaluate", json={"expression": "value * 2"}
        ).json()
        client.post(f"/api/v1/jobs/{job_id}/debug/resume")
        finished = client.post(
            f"/api/v1/jobs/{job_id}/wait", params={"timeout": 30}
        ).json()

    assert evaluated["error"] is None
    assert "18" in json.dumps(evaluated["result"])
    assert finished["final_status"] == "completed"


def test_bundle_is_lean(dist):
    bundle = dist / "overseer-desktop"
    # Symbolic links (PyInstaller links Qt's libraries into _internal) take
    # no space of their own.
    files = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()]
    names = {path.relative_to(bundle).as_posix() for path in files}
    size = sum(path.stat().st_size for path in files)

    assert size < MAX_BUNDLE_BYTES
    assert not [name for name in names if "__pycache__" in name]
    assert not [name for name in names if "/translations/" in name]
    for unwanted in ("pytest", "_pytest", "PyInstaller", "ruff", "pytestqt"):
        assert not (bundle / "_internal" / unwanted).exists(), unwanted
    qt_libs = {Path(name).name for name in names if "/Qt/lib/" in name}
    assert "libQt6Widgets.so.6" in qt_libs
    assert not {
        lib
        for lib in qt_libs
        if lib.startswith(("libQt6Qml", "libQt6Quick", "libQt6Network"))
    }
    plugins = {name.split("/plugins/", 1)[1] for name in names if "/plugins/" in name}
    assert "platforms/libqxcb.so" in plugins
    assert "platforms/libqwayland.so" not in plugins
    assert "resources/demo/flows/fan_out_numbers.yaml" in {
        name.removeprefix("_internal/") for name in names
    }


def test_bundle_archive(dist):
    archive = dist / f"overseer-desktop-{VERSION}-linux-x86_64.tar.gz"
    if os.uname().machine != "x86_64":
        archive = next(dist.glob(f"overseer-desktop-{VERSION}-linux-*.tar.gz"))

    with tarfile.open(archive) as tar:
        members = {member.name: member for member in tar.getmembers()}

    assert members["overseer-desktop/overseer-desktop"].mode & 0o111
    assert "overseer-desktop/_internal/resources/ui/style.qss" in members


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
def test_deb_control_and_contents(dist):
    deb = next(dist.glob(f"overseer-desktop_{VERSION}_*.deb"))

    fields = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Package", "Version", "Depends"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(deb)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout

    assert "Package: overseer-desktop" in fields
    assert f"Version: {VERSION}" in fields
    depends = fields.split("Depends:", 1)[1]
    for library in (
        "libxcb-cursor0", "libxkbcommon-x11-0", "libxcb-icccm4", "libxcb-keysyms1",
        "libxcb-render-util0", "libxcb-image0", "libxcb-randr0", "libxcb-shape0",
        "libxcb-xkb1", "libegl1", "libgl1", "libfontconfig1", "libdbus-1-3", "libc6",
    ):  # fmt: skip
        assert library in depends, library
    assert (
        "./usr/bin/overseer-desktop -> /opt/overseer-desktop/overseer-desktop"
        in listing
    )
    assert "./opt/overseer-desktop/overseer-desktop\n" in listing
    assert "./usr/share/applications/overseer-desktop.desktop" in listing
    assert "./usr/share/icons/hicolor/48x48/apps/overseer-desktop.png" in listing
    assert "./usr/share/icons/hicolor/scalable/apps/overseer-desktop.svg" in listing
