"""Start and stop the embedded server as a child process of the app."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import re
import secrets
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.logs import SERVER_OUTPUT_LOGGER

logger = logging.getLogger(__name__)
# The embedded server's own output, which the app's logging sends to its own file.
server_output = logging.getLogger(SERVER_OUTPUT_LOGGER)

_PathArg = str | os.PathLike[str]

# The one line the server prints on stdout once it accepts connections.
_URL_LINE = re.compile(r"http://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})")

_STDERR_TAIL_LINES = 40
_STREAM_LIMIT = 2**20  # maximum line length read from the child's pipes, in bytes
_DRAIN_TIMEOUT = 2.0  # seconds to wait for the pipes to close after the child exits


class EmbeddedServerError(Exception):
    """The embedded server failed to start; the message ends with its stderr tail."""


class EmbeddedServer(QObject):
    """The embedded server running as a child process on 127.0.0.1.

    The child gets a random API key through ``OVERSEER_API_KEY`` (never on the
    command line, where other users could read it) and
    ``OVERSEER_EXIT_WITH_PARENT=1``, so it exits when its stdin closes. The app
    keeps that pipe open, and the operating system closes it when the app dies,
    so a killed app leaves no orphan server.

    Signals:
        exited(int, str): the child ended without ``stop()``; the exit code
            (negative for a signal) and the last lines of its stderr.
    """

    exited = Signal(int, str)  # exit code, stderr tail

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        startup_timeout: float = 30.0,
        program: Sequence[str] | None = None,
    ) -> None:
        """Create a launcher. Nothing starts until ``start()``.

        Args:
            startup_timeout: Seconds to wait for the URL line.
            program: Command that runs the server, before its options. The
                default runs the ``embedded_server`` package with this
                interpreter, or the packaged program's ``server`` mode.
        """
        super().__init__(parent)
        self._startup_timeout = startup_timeout
        self._program = list(program) if program is not None else _default_program()
        self._process: asyncio.subprocess.Process | None = None
        self._stderr_tail: collections.deque[str] = collections.deque(
            maxlen=_STDERR_TAIL_LINES
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._url: str | None = None
        self._returncode: int | None = None

    @property
    def pid(self) -> int | None:
        """Process id of the running child, or None."""
        return self._process.pid if self._process is not None else None

    @property
    def returncode(self) -> int | None:
        """Exit code of the last child once it ended (negative for a signal), else None."""
        return self._returncode

    @property
    def url(self) -> str | None:
        """The server's URL while it runs."""
        return self._url

    @property
    def is_running(self) -> bool:
        """Whether a child was started and has not exited yet."""
        return self._process is not None and self._process.returncode is None

    def stderr_tail(self) -> str:
        """Return the last lines the child wrote to stderr."""
        return "\n".join(self._stderr_tail)

    async def start(
        self,
        *,
        routines_dir: _PathArg | None = None,
        flows_dir: _PathArg | None = None,
        demo: bool = True,
        db: _PathArg | None = None,
    ) -> tuple[str, str]:
        """Start the server and wait until it prints its URL.

        Returns:
            The server's URL and its API key.

        Raises:
            EmbeddedServerError: The child exited early, printed no URL within
                ``startup_timeout`` or could not be started.
            RuntimeError: The server is already running.
        """
        if self.is_running:
            raise RuntimeError("the embedded server is already running")

        api_key = secrets.token_urlsafe(32)
        command = self._command(
            routines_dir=routines_dir, flows_dir=flows_dir, demo=demo, db=db
        )
        self._stopping = False
        self._returncode = None
        self._stderr_tail.clear()
        logger.info("Starting the embedded server: %s", " ".join(command))
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=_child_environment(api_key),
                limit=_STREAM_LIMIT,
            )
        except OSError as exc:
            raise EmbeddedServerError(
                f"Couldn't start the embedded server ({command[0]}): {exc}"
            ) from exc

        self._process = process
        stderr_task = self._track(self._drain_stderr(process))
        try:
            url = await asyncio.wait_for(self._read_url(process), self._startup_timeout)
        except TimeoutError:
            await self._abandon(process)
            raise EmbeddedServerError(
                f"The embedded server didn't report its URL within {self._startup_timeout:g} s. {self._describe_tail()}"
            ) from None
        except EOFError:
            # The child closed stdout, which normally means it is exiting.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), _DRAIN_TIMEOUT)
            await self._abandon(process)
            code = process.returncode
            raise EmbeddedServerError(
                f"The embedded server exited during start-up with code {code}. {self._describe_tail()}"
            ) from None
        except BaseException:
            await self._abandon(process)
            raise

        self._url = url
        self._track(self._drain_stdout(process))
        self._track(self._watch(process, stderr_task))
        logger.info("Embedded server listening on %s (pid %d)", url, process.pid)
        return url, api_key

    async def stop(self, timeout: float = 3.0) -> None:  # noqa: ASYNC109 (grace period before SIGKILL)
        """Stop the child: close its stdin, terminate it, kill it after ``timeout`` s."""
        process = self._process
        if process is None:
            return
        self._stopping = True
        if process.returncode is None:
            logger.info("Stopping the embedded server (pid %d)", process.pid)
        await self._terminate(process, grace=timeout)
        await self._finish_tasks()
        self._returncode = process.returncode
        self._process = None
        self._url = None

    def _command(
        self,
        *,
        routines_dir: _PathArg | None,
        flows_dir: _PathArg | None,
        demo: bool,
        db: _PathArg | None,
    ) -> list[str]:
        command = [
            *self._program,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--allow-evaluate",
        ]
        if demo:
            command.append("--demo")
        for option, value in (
            ("--routines-dir", routines_dir),
            ("--flows-dir", flows_dir),
            ("--db", db),
        ):
            if value is not None:
                command.extend([option, os.fspath(value)])
        return command

    async def _read_url(self, process: asyncio.subprocess.Process) -> str:
        """Read stdout until the URL line, raising EOFError when stdout ends first."""
        assert process.stdout is not None
        while True:
            try:
                raw = await process.stdout.readline()
            except ValueError:
                logger.debug(
                    "server stdout: skipped a line longer than %d bytes", _STREAM_LIMIT
                )
                continue
            if not raw:
                raise EOFError
            line = raw.decode(errors="replace").strip()
            if _URL_LINE.fullmatch(line):
                return line
            server_output.info("%s", line)

    async def _drain_stdout(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        await _drain(
            process.stdout, lambda line: server_output.info("%s", line)
        )

    async def _drain_stderr(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None

        def keep(line: str) -> None:
            self._stderr_tail.append(line)
            server_output.info("%s", line)
            logger.debug("server stderr: %s", line)

        await _drain(process.stderr, keep)

    async def _watch(
        self, process: asyncio.subprocess.Process, stderr_task: asyncio.Task[None]
    ) -> None:
        """Report an exit that ``stop()`` did not ask for."""
        code = await self._reap(process, stderr_task)
        if self._stopping:
            return
        tail = self.stderr_tail()
        self._returncode = code
        logger.error("The embedded server exited unexpectedly with code %d", code)
        self._url = None
        self.exited.emit(code, tail)

    async def _reap(
        self, process: asyncio.subprocess.Process, stderr_task: asyncio.Task[None]
    ) -> int:
        """Wait for the child to exit and its stderr to close, and return the exit code."""
        code = await process.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(stderr_task), _DRAIN_TIMEOUT)
        _close_stdin(process)
        return code

    async def _terminate(
        self, process: asyncio.subprocess.Process, *, grace: float
    ) -> None:
        _close_stdin(process)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            logger.warning(
                "The embedded server (pid %d) ignored SIGTERM for %.1f s; killing it",
                process.pid,
                grace,
            )
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    async def _abandon(self, process: asyncio.subprocess.Process) -> None:
        """Clean up after a failed start: end the child and its pipe readers."""
        await self._terminate(process, grace=3.0)
        await self._finish_tasks()
        self._returncode = process.returncode
        self._process = None

    async def _finish_tasks(self) -> None:
        """Let the pipe readers reach end of file, then cancel what is left."""
        tasks = list(self._tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=_DRAIN_TIMEOUT)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _track(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _describe_tail(self) -> str:
        tail = self.stderr_tail()
        return (
            f"Its last output was:\n{tail}" if tail else "It wrote nothing to stderr."
        )


async def _drain(
    stream: asyncio.StreamReader, handle_line: Callable[[str], None]
) -> None:
    while True:
        try:
            raw = await stream.readline()
        except ValueError:
            continue  # a line longer than the limit; the reader dropped it
        if not raw:
            return
        handle_line(raw.decode(errors="replace").rstrip())


def _close_stdin(process: asyncio.subprocess.Process) -> None:
    if process.stdin is not None and not process.stdin.is_closing():
        process.stdin.close()


def _default_program() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, "server"]
    return [sys.executable, "-m", "embedded_server"]


def _child_environment(api_key: str) -> dict[str, str]:
    env = dict(os.environ)
    env["OVERSEER_API_KEY"] = api_key
    env["OVERSEER_EXIT_WITH_PARENT"] = "1"
    env["PYTHONUNBUFFERED"] = "1"

    # From a source checkout the server package sits next to ``app``; the
    # child must find it whatever the working directory is.
    root = Path(__file__).resolve().parents[2]
    if not getattr(sys, "frozen", False) and (root / "embedded_server").is_dir():
        paths = [str(root), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env
