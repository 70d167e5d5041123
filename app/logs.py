"""Log files of the desktop app: one set per run, size-bounded, API keys masked.

Each run writes ``overseer-desktop-<run>.log`` for the app and
``server-<run>.log`` for the output of the embedded server, in the user's
log folder (platformdirs ``user_log_dir``, e.g.
``~/.local/state/overseer-desktop/log`` on Linux). A file that reaches
``max_bytes`` rotates once to ``<name>.1``, so a run takes at most twice that
per file. At start-up only the newest ``keep_runs`` runs are kept.

Every handler installed here carries a SecretFilter, which masks
``X-API-Key`` header values, ``api_key=`` parameters, the value of
``$OVERSEER_API_KEY`` and any key given to ``register_secret()``.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import platformdirs

from app.models import app_info

logger = logging.getLogger(__name__)

API_KEY_ENV = "OVERSEER_API_KEY"
LOG_DIR_ENV = "OVERSEER_LOG_DIR"
# Records of this logger go to the server log only: one record per line that
# the embedded server wrote to stdout or stderr.
SERVER_OUTPUT_LOGGER = "overseer.server_output"

APP_LOG_PREFIX = "overseer-desktop-"
SERVER_LOG_PREFIX = "server-"
KEEP_RUNS = 10
MAX_BYTES = 5 * 1024 * 1024
MASK = "***"
# Shorter values are not masked as literals: they would hide ordinary words.
MIN_SECRET_LENGTH = 6

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_RUN_NAME = re.compile(r"^(?P<prefix>[a-z-]+?-)(?P<run>\d{8}-\d{6}-\d+)\.")

_SECRET_PATTERNS = (
    # The X-API-Key header and api_key / api-key / OVERSEER_API_KEY values,
    # after ":" or "=": header lines, query parameters, keyword arguments,
    # JSON and dict reprs, environment listings.
    re.compile(r"(?i)((?:x-)?api[_-]key[\"']?\s*[:=]\s*[\"']?)([^\s\"',;&#}\])]+)"),
    # The command-line option with its value as the next argument.
    re.compile(r"(?i)(--api-key\s+)([^\s\"',;]+)"),
)
_registered_secrets: set[str] = set()


@dataclass(frozen=True)
class LogFiles:
    """Where this run logs.

    Attributes:
        folder: The log folder, which also contains crash reports.
        app_log: The app's log file, or None when the folder is not writable.
        server_log: The embedded server's log file, or None likewise.
        run_id: ``YYYYmmdd-HHMMSS-PID``, shared by this run's file names.
    """

    folder: Path
    app_log: Path | None
    server_log: Path | None
    run_id: str


_current: LogFiles | None = None
_installed: list[tuple[logging.Logger, logging.Handler]] = []


def log_dir() -> Path:
    """Return the log folder: ``$OVERSEER_LOG_DIR``, else the platform's user log folder."""
    override = os.environ.get(LOG_DIR_ENV)
    if override:
        return Path(override)
    return Path(
        platformdirs.user_log_dir(
            app_info.DISTRIBUTION_NAME, app_info.ORGANIZATION_NAME
        )
    )


def current() -> LogFiles | None:
    """Return the files of the last ``setup_logging()``, or None before it."""
    return _current


def new_run_id() -> str:
    """Return an id for this process that sorts by start time."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears in a log record from now on."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        _registered_secrets.add(value)


def mask_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with API keys replaced by ``***``.

    Masks the values of the patterns above, the value of ``$OVERSEER_API_KEY``,
    every registered secret and every value in ``secrets``.
    """
    literals = set(secrets) | _registered_secrets
    env_value = os.environ.get(API_KEY_ENV)
    if env_value:
        literals.add(env_value)
    # Longest first, so a key that contains another is masked whole.
    for literal in sorted(literals, key=len, reverse=True):
        if len(literal) >= MIN_SECRET_LENGTH and literal in text:
            text = text.replace(literal, MASK)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(rf"\g<1>{MASK}", text)
    return text


class SecretFilter(logging.Filter):
    """Masks API keys in a record's message, traceback and stack before it is written.

    The record is changed in place: its message is rendered with its
    arguments and masked, so every handler after this one gets the masked
    text too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record and let it through."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # the handler's formatter reports the broken format
        record.msg = mask_secrets(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_secrets(record.stack_info)
        return True


def setup_logging(
    *,
    debug: bool = False,
    folder: Path | None = None,
    keep_runs: int = KEEP_RUNS,
    max_bytes: int = MAX_BYTES,
    stream: TextIO | None = None,
) -> LogFiles:
    """Send the app's log to this run's file and to ``stream``, at INFO or DEBUG.

    Calling it again replaces the handlers of the previous call. When the
    log folder cannot be created or written, the app logs to ``stream`` only
    and logs a warning there.

    Args:
        debug: Log at DEBUG instead of INFO.
        folder: The log folder; ``log_dir()`` by default.
        keep_runs: How many runs' files to keep, this one included.
        max_bytes: Size at which a log file rotates once.
        stream: Where the console copy goes; ``sys.stderr`` by default.

    Returns:
        The paths this run writes to.
    """
    global _current
    shutdown_logging()
    folder = folder if folder is not None else log_dir()
    run_id = new_run_id()
    level = logging.DEBUG if debug else logging.INFO
    formatter = logging.Formatter(LOG_FORMAT)

    root = logging.getLogger()
    root.setLevel(level)
    console = logging.StreamHandler(stream if stream is not None else sys.stderr)
    _install(root, console, formatter, level)

    app_log = folder / f"{APP_LOG_PREFIX}{run_id}.log"
    server_log = folder / f"{SERVER_LOG_PREFIX}{run_id}.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        prune_runs(folder, APP_LOG_PREFIX, keep_runs - 1)
        prune_runs(folder, SERVER_LOG_PREFIX, keep_runs - 1)
        _install(root, _rotating_handler(app_log, max_bytes), formatter, level)
        server_handler = _rotating_handler(server_log, max_bytes)
    except OSError as exc:
        logger.warning(
            "Logging to the console only: cannot write to %s: %s", folder, exc
        )
        _current = LogFiles(folder, None, None, run_id)
        return _current

    server_output = logging.getLogger(SERVER_OUTPUT_LOGGER)
    server_output.setLevel(logging.DEBUG)
    server_output.propagate = False
    _install(
        server_output, server_handler, logging.Formatter("%(message)s"), logging.DEBUG
    )
    _current = LogFiles(folder, app_log, server_log, run_id)
    logger.info(
        "%s %s started; logging to %s",
        app_info.APP_NAME,
        app_info.app_version(),
        app_log,
    )
    return _current


def shutdown_logging() -> None:
    """Remove and close the handlers that ``setup_logging()`` installed."""
    global _current
    _current = None
    while _installed:
        owner, handler = _installed.pop()
        owner.removeHandler(handler)
        handler.close()


def prune_runs(folder: Path, prefix: str, keep: int) -> list[Path]:
    """Delete the files of all but the newest ``keep`` runs named ``<prefix><run>``.

    Rotated copies (``.log.1``) go with their run. Files that cannot be
    deleted (still open on Windows, say) are skipped and logged.

    Returns:
        The files deleted.
    """
    runs: dict[str, list[Path]] = {}
    for path in folder.glob(f"{prefix}*"):
        match = _RUN_NAME.match(path.name)
        if match and match["prefix"] == prefix:
            runs.setdefault(match["run"], []).append(path)
    # Run ids start with the time, so they sort oldest first.
    doomed = sorted(runs)[: max(0, len(runs) - keep)]
    deleted = []
    for run in doomed:
        for path in runs[run]:
            try:
                path.unlink()
            except OSError as exc:
                logger.warning("Cannot delete the old log file %s: %s", path, exc)
            else:
                deleted.append(path)
    return deleted


def _rotating_handler(path: Path, max_bytes: int) -> logging.Handler:
    return logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=1, encoding="utf-8"
    )


def _install(
    owner: logging.Logger,
    handler: logging.Handler,
    formatter: logging.Formatter,
    level: int,
) -> None:
    handler.setFormatter(formatter)
    handler.setLevel(level)
    handler.addFilter(SecretFilter())
    owner.addHandler(handler)
    _installed.append((owner, handler))
