"""Unhandled exceptions and hard crashes of the desktop app.

An exception that nothing caught does not end the app. PySide6 passes one
raised in a slot or a virtual method to ``sys.excepthook``; one raised in
another thread reaches ``threading.excepthook``; one raised in an asyncio
callback, or by a task whose exception was never retrieved, reaches the event
loop's exception handler. CrashHandler takes all three: it logs the
traceback and shows it in a non-modal CrashDialog.

A hard crash (a segmentation fault in native code, say) cannot be caught.
For it, ``enable_faulthandler()`` points faulthandler at
``crash-<run>.txt`` in the log folder, which gets the Python stack of every
thread when the process dies. A clean exit deletes the empty file; the next
start offers a report left behind with ``offer_previous_reports()``.
"""

from __future__ import annotations

import asyncio
import atexit
import faulthandler
import logging
import sys
import threading
import traceback
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from app import logs
from app.views.crash_dialog import CrashDialog, PreviousCrashNotice

logger = logging.getLogger(__name__)

CRASH_PREFIX = "crash-"
REPORTED_MARK = ".reported"
KEEP_REPORTS = 10
# The first few tracebacks of one error site are logged in full. After that
# only a count is logged, at every power of ten, so that an error in a
# repaint cannot flood the log.
FULL_REPEATS = 5

_fault_file: TextIO | None = None
_fault_path: Path | None = None


class CrashHandler(QObject):
    """Logs and shows the exceptions that nothing else caught.

    Signals:
        error_caught(str, str): A one-line summary and the traceback, emitted
            in the Qt thread whatever thread the error came from.
    """

    error_caught = Signal(str, str)

    def __init__(
        self,
        log_folder: Path | None = None,
        parent: QObject | None = None,
        *,
        show_dialog: bool = True,
    ):
        """Create the handler; nothing changes until ``install()``.

        Args:
            log_folder: Where logs and crash reports go; the dialog names it.
            show_dialog: Whether errors open the CrashDialog.
        """
        super().__init__(parent)
        self.log_folder = log_folder
        self.dialog: CrashDialog | None = None
        self._dialog_parent: QWidget | None = None
        self._show_dialog = show_dialog
        self._showing = False
        self._repeats: Counter[tuple[str, str, int]] = Counter()
        self._previous_excepthook: Any = None
        self._previous_threading_hook: Any = None
        self.error_caught.connect(self._on_error_caught)

    def install(self) -> None:
        """Become ``sys.excepthook`` and ``threading.excepthook``."""
        if self._previous_excepthook is None:
            self._previous_excepthook = sys.excepthook
            self._previous_threading_hook = threading.excepthook
        sys.excepthook = self._excepthook
        threading.excepthook = self._threading_excepthook

    def uninstall(self) -> None:
        """Put back the hooks that ``install()`` replaced."""
        if self._previous_excepthook is not None:
            sys.excepthook = self._previous_excepthook
            threading.excepthook = self._previous_threading_hook
            self._previous_excepthook = None
            self._previous_threading_hook = None

    def watch_event_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Become the exception handler of ``loop`` (the qasync loop)."""
        loop.set_exception_handler(self._loop_exception_handler)

    def set_dialog_parent(self, parent: QWidget | None) -> None:
        """Make dialogs opened from now on belong to ``parent`` (the main window)."""
        self._dialog_parent = parent

    def report(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
        *,
        origin: str,
    ) -> None:
        """Log an uncaught exception and show it; safe to call from any thread.

        Args:
            origin: Where it was caught, for the log: "a Qt slot", "thread X", ...
        """
        site = _error_site(exc_type, tb)
        self._repeats[site] += 1
        count = self._repeats[site]
        if count > FULL_REPEATS:
            if _is_power_of_ten(count):
                logger.error(
                    "The error %s at %s:%d has now occurred %d times", *site, count
                )
            return

        logger.error("Unhandled exception in %s", origin, exc_info=(exc_type, exc, tb))
        summary = logs.mask_secrets(
            "".join(traceback.format_exception_only(exc_type, exc)).strip()
        )
        details = logs.mask_secrets(
            "".join(traceback.format_exception(exc_type, exc, tb))
        )
        self.error_caught.emit(summary, details)

    def offer_previous_reports(
        self, parent: QWidget | None = None
    ) -> PreviousCrashNotice | None:
        """Show a notice for crash reports of earlier runs, if there are any.

        The reports are renamed to ``*.reported.txt``, so each is offered once.

        Returns:
            The notice, or None when there was nothing to report.
        """
        if self.log_folder is None:
            return None
        reports = [
            mark_reported(path) for path in unreported_crash_reports(self.log_folder)
        ]
        if not reports:
            return None
        logger.warning(
            "Earlier runs left crash reports: %s", ", ".join(map(str, reports))
        )
        notice = PreviousCrashNotice(reports, parent or self._dialog_parent)
        notice.show()
        return notice

    def _excepthook(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self._previous_excepthook(exc_type, exc, tb)
            return
        self.report(exc_type, exc, tb, origin="the Qt event loop")

    def _threading_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "an unknown thread"
        self.report(
            args.exc_type, args.exc_value, args.exc_traceback, origin=f"thread {name}"
        )

    def _loop_exception_handler(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        exc = context.get("exception")
        if not isinstance(exc, Exception):
            # A warning without an exception (an unclosed transport, say)
            # or a BaseException that is about to end the loop anyway.
            loop.default_exception_handler(context)
            return
        message = context.get("message") or "an asyncio callback"
        self.report(type(exc), exc, exc.__traceback__, origin=f"asyncio ({message})")

    @Slot(str, str)
    def _on_error_caught(self, summary: str, details: str) -> None:
        if not self._show_dialog or self._showing:
            return  # an error while showing an error: logged only, no loop
        self._showing = True
        try:
            if self.dialog is None:
                self.dialog = CrashDialog(self.log_folder, self._dialog_parent)
                self.dialog.finished.connect(self._on_dialog_finished)
            self.dialog.add_error(summary, details)
            self.dialog.show()
            self.dialog.raise_()
        finally:
            self._showing = False

    def _on_dialog_finished(self) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = None


def install(log_folder: Path | None, *, show_dialog: bool = True) -> CrashHandler:
    """Install a CrashHandler and, with a log folder, the faulthandler report file.

    Call it once the QApplication exists, since the handler is a QObject.
    """
    handler = CrashHandler(log_folder, show_dialog=show_dialog)
    handler.install()
    if log_folder is not None:
        enable_faulthandler(log_folder)
    return handler


def enable_faulthandler(folder: Path) -> Path | None:
    """Write the stacks of a hard crash to ``crash-<run>.txt`` in ``folder``.

    Older reports beyond KEEP_REPORTS are deleted. At a clean exit the file
    is closed and, if still empty, deleted.

    Returns:
        The report file, or None when it cannot be created (then
        faulthandler writes to stderr).
    """
    global _fault_file, _fault_path
    disable_faulthandler()
    path = folder / f"{CRASH_PREFIX}{logs.new_run_id()}.txt"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        logs.prune_runs(folder, CRASH_PREFIX, KEEP_REPORTS)
        _fault_file = path.open("w", encoding="utf-8")
    except OSError as exc:
        logger.warning("Cannot create the crash report file %s: %s", path, exc)
        faulthandler.enable(all_threads=True)
        return None
    _fault_path = path
    faulthandler.enable(file=_fault_file, all_threads=True)
    atexit.register(disable_faulthandler)
    return path


def disable_faulthandler() -> None:
    """Stop writing crash reports, and delete this run's report file if it is empty."""
    global _fault_file, _fault_path
    if _fault_file is None:
        return
    faulthandler.disable()
    _fault_file.close()
    try:
        if _fault_path is not None and _fault_path.stat().st_size == 0:
            _fault_path.unlink()
    except OSError as exc:
        logger.debug("Cannot delete the empty crash report %s: %s", _fault_path, exc)
    _fault_file = None
    _fault_path = None


def current_report_path() -> Path | None:
    """Return the file this run's hard-crash report would go to, or None."""
    return _fault_path


def unreported_crash_reports(folder: Path) -> list[Path]:
    """Return the non-empty crash reports not offered yet, oldest first.

    This run's own report file is never among them.
    """
    reports = []
    for path in sorted(folder.glob(f"{CRASH_PREFIX}*.txt")):
        if REPORTED_MARK in path.name or path == _fault_path:
            continue
        try:
            if path.stat().st_size > 0:
                reports.append(path)
        except OSError:
            continue  # deleted meanwhile by another instance
    return reports


def mark_reported(path: Path) -> Path:
    """Rename a report to ``<name>.reported.txt`` and return its new path.

    When the rename fails, the old path is returned and the report will be
    offered again next time.
    """
    target = path.with_name(f"{path.stem}{REPORTED_MARK}{path.suffix}")
    try:
        path.rename(target)
    except OSError as exc:
        logger.warning("Cannot mark the crash report %s as reported: %s", path, exc)
        return path
    return target


def _error_site(
    exc_type: type[BaseException], tb: TracebackType | None
) -> tuple[str, str, int]:
    """Return the exception's name and the file and line it was raised at."""
    frames = traceback.extract_tb(tb) if tb is not None else []
    if not frames:
        return exc_type.__name__, "?", 0
    return exc_type.__name__, frames[-1].filename, frames[-1].lineno or 0


def _is_power_of_ten(count: int) -> bool:
    while count >= 10 and count % 10 == 0:
        count //= 10
    return count == 1
