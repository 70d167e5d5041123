"""A real uvicorn running the embedded server in a background thread, for tests."""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass

import uvicorn

from embedded_server.app import create_app
from embedded_server.settings import Settings


@dataclass
class RunningServer:
    """A server started for a test: its URL, settings, app and uvicorn handle."""

    url: str
    settings: Settings
    app: object
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket

    @property
    def state(self):
        return self.app.state.server

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.settings.api_key} if self.settings.api_key else {}

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
        assert not self.thread.is_alive(), "the test server did not stop within 10 s"


def start_server(settings: Settings, *, timeout: float = 20.0) -> RunningServer:
    """Start uvicorn on 127.0.0.1 with a free port and wait until it serves."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings.host, settings.port = "127.0.0.1", port
    app = create_app(settings)
    config = uvicorn.Config(app, access_log=False, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    ready = threading.Event()
    original_startup = server.startup

    async def startup(sockets=None):
        await original_startup(sockets)
        ready.set()

    server.startup = startup
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True
    )
    thread.start()
    if not ready.wait(timeout):
        server.should_exit = True
        raise RuntimeError(f"the test server did not start within {timeout} s")
    return RunningServer(
        f"http://127.0.0.1:{port}", settings, app, server, thread, sock
    )
