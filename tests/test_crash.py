"""Tests for app.crash: uncaught exceptions are logged and shown, hard crashes leave a report."""

from __future__ import annotations

import faulthandler
import logging
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication

from app import crash
from app.views.crash_dialog import CrashDialog, PreviousCrashNotice
from tests.support.async_helpers import install_qasync_loop

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def qloop(qapp, qtbot):
    """Run asyncio on the Qt event loop for the duration of the test."""
    with install_qasync_loop(qapp, qtbot) as loop:
        yield loop


@pytest.fixture
def handler(qtbot, tmp_path):
    """An installed CrashHandler whose dialog opens; uninstalled after the test."""
    crash_handler = crash.CrashHandler(tmp_path)
    crash_handler.install()
    yield crash_handler
    crash_handler.uninstall()
    if crash_handler.dialog is not None:
        crash_handler.dialog.close()


def _raise_runtime_error() -> None:
    raise RuntimeError("boom in a slot")


def _dialog_shown(crash_handler: crash.CrashHandler) -> bool:
    return crash_handler.dialog is not None and crash_handler.dialog.isVisible()


def test_slot_exception_logged_and_shown(handler, qtbot, caplog):
    caplog.set_level(logging.ERROR, logger="app.crash")
    QTimer.singleShot(0, _raise_runtime_error)

    qtbot.waitUntil(lambda: _dialog_shown(handler), timeout=5000)

    dialog = handler.dialog
    assert isinstance(dialog, CrashDialog)
    assert not dialog.isModal()
    assert dialog.windowModality() == Qt.WindowModality.NonModal
    assert "RuntimeError: boom in a slot" in dialog.details_view.toPlainText()
    assert "_raise_runtime_error" in dialog.details_view.toPlainText()
    record = next(r for r in caplog.records if r.name == "app.crash")
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError


def test_app_keeps_running_after_slot_exception(handler, qtbot):
    ran_after = []
    QTimer.singleShot(0, _raise_runtime_error)
    QTimer.singleShot(0, lambda: ran_after.append(True))

    qtbot.waitUntil(lambda: ran_after == [True], timeout=5000)

    assert _dialog_shown(handler)


def test_thread_exception_shown_from_qt_thread(handler, qtbot):
    shown_in = []
    handler.error_caught.connect(lambda *_: shown_in.append(threading.current_thread()))

    def fail() -> None:
        raise ValueError("boom in a thread")

    worker = threading.Thread(target=fail, name="crash-test-worker")
    with qtbot.waitSignal(handler.error_caught, timeout=5000) as blocker:
        worker.start()
    worker.join(timeout=5)

    summary, details = blocker.args
    assert summary == "ValueError: boom in a thread"
    assert "Traceback" in details
    assert shown_in == [threading.main_thread()]
    assert _dialog_shown(handler)


def test_asyncio_callback_exception_shown(handler, qloop, qtbot):
    handler.watch_event_loop(qloop)

    def fail() -> None:
        raise KeyError("missing in a callback")

    qloop.call_soon(fail)

    qtbot.waitUntil(lambda: _dialog_shown(handler), timeout=5000)
    assert (
        "KeyError: 'missing in a callback'" in handler.dialog.details_view.toPlainText()
    )


def test_asyncio_message_without_exception_not_shown(handler, qloop, caplog):
    handler.watch_event_loop(qloop)

    qloop.call_exception_handler({"message": "Unclosed transport for the test"})

    assert handler.dialog is None
    assert "Unclosed transport for the test" in caplog.text


def test_errors_collect_in_one_dialog(handler, qtbot):
    for number in range(3):
        try:
            raise OSError(f"failure {number}")
        except OSError as exc:
            handler.report(type(exc), exc, exc.__traceback__, origin="the test")

    qtbot.waitUntil(lambda: _dialog_shown(handler), timeout=5000)
    assert handler.dialog.error_count == 3
    assert "3 unexpected errors" in handler.dialog.summary_label.text()
    assert "OSError: failure 2" in handler.dialog.details_text()


def test_repeated_error_logged_in_counts(handler, caplog):
    caplog.set_level(logging.ERROR, logger="app.crash")
    for _ in range(12):
        try:
            raise RuntimeError("again")
        except RuntimeError as exc:
            handler.report(type(exc), exc, exc.__traceback__, origin="the test")

    full = [r for r in caplog.records if r.exc_info is not None]
    counts = [
        r.getMessage() for r in caplog.records if "has now occurred" in r.getMessage()
    ]
    assert len(full) == crash.FULL_REPEATS
    assert len(counts) == 1
    assert counts[0].endswith("10 times")


def test_copy_details_fills_clipboard(qtbot):
    dialog = CrashDialog()
    qtbot.addWidget(dialog)
    dialog.add_error(
        "RuntimeError: x", "Traceback (most recent call last):\nRuntimeError: x\n"
    )

    with qtbot.waitSignal(dialog.details_copied, timeout=1000):
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)

    copied = dialog.details_view.toPlainText()
    assert QGuiApplication.clipboard().text() == copied
    assert "RuntimeError: x" in copied
    assert copied.startswith("Overseer Desktop ")


def test_dialog_masks_api_key(handler, qtbot, monkeypatch):
    monkeypatch.setenv("OVERSEER_API_KEY", "secret-in-traceback")
    try:
        raise RuntimeError("rejected key secret-in-traceback")
    except RuntimeError as exc:
        handler.report(type(exc), exc, exc.__traceback__, origin="the test")

    qtbot.waitUntil(lambda: _dialog_shown(handler), timeout=5000)
    assert "secret-in-traceback" not in handler.dialog.details_text()


def test_keyboard_interrupt_goes_to_previous_hook(tmp_path):
    received = []
    previous = sys.excepthook
    sys.excepthook = lambda *args: received.append(args[0])
    crash_handler = crash.CrashHandler(tmp_path, show_dialog=False)
    crash_handler.install()
    try:
        sys.excepthook(KeyboardInterrupt, KeyboardInterrupt(), None)
    finally:
        crash_handler.uninstall()
        sys.excepthook = previous

    assert received == [KeyboardInterrupt]


def _run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PYTHONPATH": str(ROOT),
            "QT_QPA_PLATFORM": "offscreen",
            "PATH": "/usr/bin:/bin",
        },
    )


def test_hard_crash_leaves_report(tmp_path):
    result = _run_python(
        f"""
        import faulthandler
        from pathlib import Path
        from app import crash
        print(crash.enable_faulthandler(Path({str(tmp_path)!r})), flush=True)
        faulthandler._sigsegv()
        """,
        tmp_path,
    )

    assert result.returncode != 0
    report = Path(result.stdout.strip())
    assert report.parent == tmp_path
    assert report.name.startswith("crash-")
    assert "Fatal Python error: Segmentation fault" in report.read_text()
    assert crash.unreported_crash_reports(tmp_path) == [report]


def test_clean_exit_deletes_empty_report(tmp_path):
    result = _run_python(
        f"""
        from pathlib import Path
        from app import crash
        path = crash.enable_faulthandler(Path({str(tmp_path)!r}))
        print(path, path.exists(), flush=True)
        """,
        tmp_path,
    )

    path, existed = result.stdout.split()
    assert result.returncode == 0
    assert existed == "True"
    assert not Path(path).exists()


def test_enable_faulthandler_creates_file(tmp_path):
    try:
        path = crash.enable_faulthandler(tmp_path)
        assert path is not None
        assert path.exists()
        assert faulthandler.is_enabled()
        assert crash.current_report_path() == path
        assert crash.unreported_crash_reports(tmp_path) == []
    finally:
        crash.disable_faulthandler()
        faulthandler.enable(file=sys.__stderr__, all_threads=True)

    assert not path.exists()


def test_previous_report_offered_once(qtbot, tmp_path):
    report = tmp_path / "crash-20240101-000000-77.txt"
    report.write_text("Fatal Python error: Segmentation fault\n")
    (tmp_path / "crash-20240101-000001-78.txt").write_text("")  # a killed run
    crash_handler = crash.CrashHandler(tmp_path, show_dialog=False)

    notice = crash_handler.offer_previous_reports()
    qtbot.addWidget(notice)

    assert isinstance(notice, PreviousCrashNotice)
    assert notice.isVisible()
    assert not notice.isModal()
    assert notice.report == tmp_path / "crash-20240101-000000-77.reported.txt"
    assert notice.report.exists()
    assert not report.exists()
    assert crash_handler.offer_previous_reports() is None


def test_previous_report_open_button(qtbot, tmp_path):
    report = tmp_path / "crash-20240101-000000-77.reported.txt"
    report.write_text("x")
    notice = PreviousCrashNotice([report])
    qtbot.addWidget(notice)
    opened = []
    notice.open_requested.disconnect()  # no real file manager in tests
    notice.open_requested.connect(opened.append)

    qtbot.mouseClick(notice.open_report_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(notice.open_folder_button, Qt.MouseButton.LeftButton)

    assert opened == [report, tmp_path]


def test_install_returns_active_handler(qtbot, tmp_path):
    previous = sys.excepthook
    crash_handler = crash.install(tmp_path, show_dialog=False)
    try:
        assert sys.excepthook == crash_handler._excepthook
        assert crash.current_report_path() is not None
        assert crash.current_report_path().parent == tmp_path
    finally:
        crash_handler.uninstall()
        crash.disable_faulthandler()
        faulthandler.enable(file=sys.__stderr__, all_threads=True)

    assert sys.excepthook is previous
    assert list(tmp_path.glob("crash-*.txt")) == []
