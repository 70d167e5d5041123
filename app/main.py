"""Entry point: parse the command line, start or attach to a server, run the window.

With no arguments the app starts the embedded server as a child process on
127.0.0.1 and talks to it over HTTP and WebSocket, exactly as it would to a
remote server given with ``--connect``. A first argument ``server`` runs the
server itself instead, which the packaged build uses to start its child.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import qasync
from PySide6.QtCore import QProcess, QProcessEnvironment, QSocketNotifier
from PySide6.QtWidgets import QApplication

from app import crash, logs
from app.controllers import notify
from app.controllers.connections import (
    ConnectionChoice,
    add_profile_argument,
    build_session,
    check_profile_argument,
    resolve_startup,
    restart_command,
)
from app.controllers.session import Session
from app.models import app_info, ui_state
from app.models.profiles import ProfileError, ProfileStore
from app.services.connection import ConnectionSetupError, ConnectionTarget
from app.services.credentials import KeyStore
from app.services.launcher import EmbeddedServer, EmbeddedServerError
from app.views.app_icon import application_icon
from app.views.connections_menu import install_connections
from app.views.main_window import MainWindow

logger = logging.getLogger(__name__)

API_KEY_ENV = "OVERSEER_API_KEY"
SHUTDOWN_TIMEOUT = 2.0
STYLE_SHEET = Path(__file__).resolve().parent.parent / "resources" / "ui" / "style.qss"


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of the desktop app."""
    parser = argparse.ArgumentParser(
        prog="overseer-desktop",
        description="Debug and monitor Routilux workflows. Without --connect the app "
        "starts its own server on 127.0.0.1.",
    )
    parser.add_argument(
        "--routines-dir",
        type=Path,
        metavar="DIR",
        help="folder of routine modules for the embedded server",
    )
    parser.add_argument(
        "--flows-dir",
        type=Path,
        metavar="DIR",
        help="folder of flow files for the embedded server",
    )
    parser.add_argument(
        "--db",
        type=Path,
        metavar="FILE",
        help="SQLite history file for the embedded server",
    )
    parser.add_argument(
        "--connect",
        metavar="URL",
        help=f"attach to a running server instead of starting one; the API key comes from ${API_KEY_ENV}",
    )
    parser.add_argument("--debug", action="store_true", help="log at DEBUG level")
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {app_info.app_version()}"
    )
    add_profile_argument(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the desktop app, or the server with a first argument ``server``."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] == "server":
        from embedded_server.cli import main as server_main

        return server_main(args_list[1:])

    parser = build_parser()
    args = parser.parse_args(args_list)
    check_profile_argument(parser, args)
    log_files = logs.setup_logging(debug=args.debug)
    qt_app = QApplication.instance() or QApplication([sys.argv[0]])
    qt_app.setApplicationName(app_info.APP_NAME)
    qt_app.setOrganizationName(app_info.ORGANIZATION_NAME)
    qt_app.setApplicationVersion(app_info.app_version())
    qt_app.setDesktopFileName(app_info.DISTRIBUTION_NAME)
    qt_app.setWindowIcon(application_icon())
    # The window's close starts an async shutdown; Qt must not end the loop
    # on its own before the server and the connections are closed.
    qt_app.setQuitOnLastWindowClosed(False)
    _load_style_sheet(qt_app)
    crash_handler = crash.install(log_files.folder)
    return qasync.run(run(args, crash_handler))


async def run(args: argparse.Namespace, crash_handler: crash.CrashHandler | None = None) -> int:
    """Show the window, connect, and wait until the window closes."""
    if crash_handler is not None:
        crash_handler.watch_event_loop(asyncio.get_running_loop())
    window = MainWindow(ui_state.load_state())
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    signals = _SignalBridge(window)
    window.show()
    if crash_handler is not None:
        crash_handler.set_dialog_parent(window)
        crash_handler.offer_previous_reports(window)

    app = DesktopApp(window, args)
    window.connections = install_connections(window, on_connect=app.switch_to)
    startup = asyncio.ensure_future(app.start())
    try:
        await closed.wait()
    finally:
        signals.close()
        started = time.monotonic()
        if not startup.done():
            startup.cancel()
        await asyncio.gather(startup, return_exceptions=True)
        await app.shutdown()
        logger.info("Shut down in %.0f ms", (time.monotonic() - started) * 1000)
    return 0


class DesktopApp:
    """Owns the server process and the session for the lifetime of the window."""

    def __init__(self, window: MainWindow, args: argparse.Namespace):
        self.window = window
        self.args = args
        self.server: EmbeddedServer | None = None
        self.session: Session | None = None

    async def start(self) -> None:
        """Start the embedded server or pick the remote one, then attach a session."""
        store = ProfileStore()
        store.load()
        try:
            choice = await resolve_startup(self.args, store, KeyStore())
        except ProfileError as exc:
            notify.error(str(exc))
            return
        if choice.is_embedded:
            try:
                url, api_key = await self._start_embedded()
            except EmbeddedServerError as exc:
                self.window.show_startup_step("Embedded server failed to start")
                notify.error(f"Couldn't start the embedded server: {exc}")
                return
            target = ConnectionTarget(url, api_key)
        else:
            self.window.show_startup_step(f"Connecting to {choice.url}…")
            target = choice.target()

        logs.register_secret(target.api_key)
        try:
            self.session, info = await build_session(target, close_timeout=SHUTDOWN_TIMEOUT)
        except ConnectionSetupError as exc:
            notify.error(f"Couldn't connect to {target.url}: {exc}")
            return
        self.window.attach_session(self.session)
        query = self.window.current_filters().to_query()
        await self.session.start(query, server_info=info)

    def switch_to(self, choice: ConnectionChoice) -> None:
        """Open a window on ``choice`` and close this one.

        A window attaches one session for its lifetime, so switching starts
        the app again with the chosen profile.
        """
        command = restart_command(choice)
        environment = QProcessEnvironment.systemEnvironment()
        environment.remove(API_KEY_ENV)
        process = QProcess()
        process.setProgram(command[0])
        process.setArguments(command[1:])
        process.setProcessEnvironment(environment)
        if process.startDetached()[0]:
            self.window.close()
        else:
            name = choice.profile.name if choice.profile else choice.url
            notify.error(f"Couldn't open a window for {name}; check the log for details")

    async def _start_embedded(self) -> tuple[str, str]:
        self.window.show_startup_step("Starting the embedded server…")
        self.server = EmbeddedServer()
        self.server.exited.connect(self._on_server_exited)
        use_demo = self.args.routines_dir is None and self.args.flows_dir is None
        return await self.server.start(
            routines_dir=self.args.routines_dir,
            flows_dir=self.args.flows_dir,
            demo=use_demo,
            db=self.args.db,
        )

    def _on_server_exited(self, code: int, stderr_tail: str) -> None:
        last_line = (
            stderr_tail.strip().splitlines()[-1]
            if stderr_tail.strip()
            else "no error output"
        )
        notify.error(
            f"The embedded server stopped unexpectedly (exit code {code}): {last_line}. "
            "Restart Overseer Desktop to start it again."
        )

    async def shutdown(self) -> None:
        """Close the session and stop the server, within SHUTDOWN_TIMEOUT seconds."""
        # The session closes the feature sets installed on it first.
        closers = []
        if self.session is not None:
            closers.append(self.session.aclose())
        if self.server is not None:
            closers.append(self.server.stop(timeout=SHUTDOWN_TIMEOUT))
        results = await asyncio.gather(*closers, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                logger.error("Shutdown step failed: %s", result)


class _SignalBridge:
    """Turns SIGINT and SIGTERM into a window close, so shutdown runs in full.

    Python runs signal handlers only between bytecodes, and the Qt event loop
    can sit idle in C++ for a long time. The wake-up socket makes the loop
    return to Python as soon as a signal arrives.
    """

    def __init__(self, window: MainWindow):
        self._window = window
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno())
        self._notifier = QSocketNotifier(
            self._reader.fileno(), QSocketNotifier.Type.Read
        )
        self._notifier.activated.connect(self._drain)
        self._previous = {
            number: signal.signal(number, self._on_signal)
            for number in (signal.SIGINT, signal.SIGTERM)
        }

    def _drain(self) -> None:
        try:
            self._reader.recv(64)
        except BlockingIOError:
            pass

    def _on_signal(self, number: int, _frame: object) -> None:
        logger.info("Received signal %d; closing the window", number)
        self._window.close()

    def close(self) -> None:
        """Restore the previous signal handlers and close the sockets."""
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._notifier.setEnabled(False)
        self._reader.close()
        self._writer.close()


def _load_style_sheet(qt_app: QApplication) -> None:
    try:
        qt_app.setStyleSheet(STYLE_SHEET.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except OSError as exc:
        logger.warning("Couldn't read the style sheet %s: %s", STYLE_SHEET, exc)
