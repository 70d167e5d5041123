"""Command line of the server: ``python -m embedded_server`` or ``overseer-server``."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import socket
import ssl
import sys
import threading
from pathlib import Path

import uvicorn

from embedded_server import __version__
from embedded_server.app import create_app
from embedded_server.settings import (
    API_KEY_ENV,
    EXIT_WITH_PARENT_ENV,
    Settings,
    default_db_path,
)

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="overseer-server",
        description="Run the Overseer Routilux server: the routilux engine with job "
        "history, live events and a debugger API.",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; anything else needs an API key)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="TCP port; 0 picks a free one (default 0)"
    )
    parser.add_argument(
        "--routines-dir",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="folder of Python files that register routine classes (repeatable)",
    )
    parser.add_argument(
        "--flows-dir",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="folder of YAML or JSON flow files (repeatable)",
    )
    parser.add_argument("--demo", action="store_true", help="also load the demo flows")
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"SQLite history file (default {default_db_path()})",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help=f"API key clients must send (default: ${API_KEY_ENV}; "
        "prefer the variable, since arguments are visible to other users)",
    )
    parser.add_argument(
        "--allow-evaluate",
        action="store_true",
        help="turn on the evaluate API for paused jobs (off by default)",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="browser origin allowed for CORS and WebSockets (repeatable)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=16,
        help="threads that run routine code (default 16)",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=6000,
        metavar="PER_MINUTE",
        help="requests per minute per client; 0 turns limiting off (default 6000)",
    )
    parser.add_argument(
        "--certfile",
        type=Path,
        default=None,
        metavar="PEM",
        help="serve HTTPS and WSS with this certificate chain (PEM); needs --keyfile",
    )
    parser.add_argument(
        "--keyfile",
        type=Path,
        default=None,
        metavar="PEM",
        help="private key (PEM) of --certfile",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        host=args.host,
        port=args.port,
        routines_dirs=args.routines_dir,
        flows_dirs=args.flows_dir,
        demo=args.demo,
        db_path=args.db or default_db_path(),
        api_key=args.api_key or os.environ.get(API_KEY_ENV) or None,
        allow_evaluate=args.allow_evaluate,
        cors_origins=args.cors_origin,
        worker_threads=max(1, args.threads),
        rate_limit_per_minute=max(0, args.rate_limit),
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Server(uvicorn.Server):
    """A uvicorn server that prints its URL once it accepts connections."""

    def __init__(self, config: uvicorn.Config, url: str) -> None:
        super().__init__(config)
        self.url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Extend Server.startup: announce the URL to a parent process or script."""
        await super().startup(sockets)
        if self.started and not self.should_exit:
            print(self.url, flush=True)


def _tls_problem(certfile: Path | None, keyfile: Path | None) -> str | None:
    """Return why the TLS options cannot be used, or None when they can."""
    if (certfile is None) != (keyfile is None):
        return "Give both --certfile and --keyfile to serve HTTPS, or neither."
    for option, path in (("--certfile", certfile), ("--keyfile", keyfile)):
        if path is not None and not path.is_file():
            return f"The {option} file {path} does not exist."
    return None


def _watch_parent(server: _Server) -> None:
    # The parent keeps our stdin open, so end of file means the parent has exited.
    def wait_for_eof() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        logger.info("Parent process closed its pipe; shutting down")
        server.should_exit = True

    threading.Thread(target=wait_for_eof, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = settings_from(args)
    tls_problem = _tls_problem(args.certfile, args.keyfile)
    if tls_problem:
        print(tls_problem, file=sys.stderr)
        return 2
    if not _is_loopback(settings.host) and not settings.api_key:
        print(
            f"Refusing to listen on {settings.host} without an API key: set "
            f"{API_KEY_ENV} or --api-key, or listen on 127.0.0.1.",
            file=sys.stderr,
        )
        return 2

    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio turns Nagle's algorithm off only for
    # sockets whose protocol is TCP, and with it on, every response on a
    # kept-alive connection waits about 40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        print(
            f"Cannot listen on {settings.host}:{settings.port}: {exc.strerror}. "
            "Choose another --port, or 0 for a free one.",
            file=sys.stderr,
        )
        return 2
    port = sock.getsockname()[1]
    shown_host = f"[{settings.host}]" if family == socket.AF_INET6 else settings.host
    tls_options: dict[str, str] = {}
    if args.certfile is not None:
        tls_options = {
            "ssl_certfile": str(args.certfile),
            "ssl_keyfile": str(args.keyfile),
        }
    config = uvicorn.Config(
        create_app(settings),
        access_log=False,
        log_level=args.log_level,
        lifespan="on",
        ws_ping_interval=20,
        ws_ping_timeout=20,
        # Compression costs more CPU per subscriber than it saves on loopback
        # and LAN links; events are small JSON objects.
        ws_per_message_deflate=False,
        **tls_options,
    )
    scheme = "https" if tls_options else "http"
    server = _Server(config, f"{scheme}://{shown_host}:{port}")
    if os.environ.get(EXIT_WITH_PARENT_ENV) == "1":
        _watch_parent(server)
    try:
        asyncio.run(server.serve(sockets=[sock]))
    except ssl.SSLError as exc:
        print(f"Couldn't load the TLS certificate or key: {exc}", file=sys.stderr)
        return 2
    finally:
        sock.close()
    return 0
