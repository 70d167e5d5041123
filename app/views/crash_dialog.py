"""Dialogs for unexpected errors: one the app survived, and a crash of the last run.

Neither is modal: the app stays usable while they are open.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.models import app_info
from app.views import open_paths

# Only the newest errors stay in the dialog; the log keeps all of them.
MAX_SHOWN_ERRORS = 20
_SEPARATOR = "\n" + "-" * 72 + "\n"


class CrashDialog(QDialog):
    """Lists the unexpected errors of this run, newest last, with their tracebacks.

    The dialog is created once and collects the errors that arrive while it
    is open, so a burst of errors opens one window.

    Signals:
        details_copied: The details were copied to the clipboard.
    """

    details_copied = Signal()

    def __init__(self, log_folder: Path | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("crash_dialog")
        self.setWindowTitle(f"{app_info.APP_NAME}: unexpected error")
        self.setModal(False)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.resize(720, 420)
        self._errors: list[tuple[str, str]] = []
        self._total = 0
        self._log_folder = log_folder

        self.summary_label = QLabel(self)
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.details_view = QPlainTextEdit(self)
        self.details_view.setObjectName("crash_details")
        self.details_view.setReadOnly(True)
        self.details_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.details_view.setFont(
            QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        )

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = QPushButton("&Copy Details", self)
        self.copy_button.setObjectName("copy_details_button")
        self.log_folder_button = QPushButton("Open &Log Folder", self)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(
            self.log_folder_button, QDialogButtonBox.ButtonRole.ActionRole
        )
        buttons.rejected.connect(self.close)
        self.copy_button.clicked.connect(self.copy_details)
        self.log_folder_button.clicked.connect(self._on_log_folder_clicked)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.details_view, 1)
        layout.addWidget(buttons)

    @property
    def error_count(self) -> int:
        """Number of errors added since the dialog was created."""
        return self._total

    def add_error(self, summary: str, details: str) -> None:
        """Add an error: a one-line summary and its traceback."""
        self._total += 1
        self._errors.append((summary, details))
        del self._errors[:-MAX_SHOWN_ERRORS]
        self._update_summary(summary)
        self.details_view.setPlainText(self.details_text())
        scroll_bar = self.details_view.verticalScrollBar()
        scroll_bar.setValue(scroll_bar.maximum())

    def details_text(self) -> str:
        """Return the version line and the shown errors as plain text, for a bug report."""
        header = f"{app_info.APP_NAME} {app_info.app_version()}"
        return _SEPARATOR.join([header, *(details for _, details in self._errors)])

    def copy_details(self) -> None:
        """Put the details on the clipboard."""
        QGuiApplication.clipboard().setText(self.details_text())
        self.details_copied.emit()

    def _update_summary(self, latest: str) -> None:
        where = (
            f" The log in {self._log_folder} has the details."
            if self._log_folder
            else ""
        )
        if self._total == 1:
            text = (
                f"{app_info.APP_NAME} hit an unexpected error and kept running: "
                f"<b>{_escape(latest)}</b>.{where} If the window stops "
                "responding as expected, restart the app."
            )
        else:
            text = (
                f"{app_info.APP_NAME} hit {self._total} unexpected errors and "
                f"kept running. The latest: <b>{_escape(latest)}</b>.{where}"
            )
        self.summary_label.setText(text)

    def _on_log_folder_clicked(self) -> None:
        if self._log_folder is not None:
            open_paths.open_path(self._log_folder)
        else:
            open_paths.open_log_folder()


class PreviousCrashNotice(QDialog):
    """Says that an earlier run crashed and offers to open its report.

    Signals:
        open_requested(Path): The user asked to open this file or folder.
    """

    open_requested = Signal(Path)

    def __init__(self, reports: list[Path], parent: QWidget | None = None):
        """Create the notice for ``reports``, the crash reports of earlier runs, newest last."""
        super().__init__(parent)
        self.setObjectName("previous_crash_notice")
        self.setWindowTitle(f"{app_info.APP_NAME} crashed")
        self.setModal(False)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.report = reports[-1]

        count = f" ({len(reports)} crash reports)" if len(reports) > 1 else ""
        text = QLabel(
            f"{app_info.APP_NAME} stopped unexpectedly last time{count}. "
            f"The newest crash report is:<br><code>{_escape(str(self.report))}</code>",
            self,
        )
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.open_report_button = QPushButton("Open &Report", self)
        self.open_folder_button = QPushButton("Open &Log Folder", self)
        buttons.addButton(
            self.open_report_button, QDialogButtonBox.ButtonRole.ActionRole
        )
        buttons.addButton(
            self.open_folder_button, QDialogButtonBox.ButtonRole.ActionRole
        )
        buttons.rejected.connect(self.close)
        self.open_report_button.clicked.connect(
            lambda: self.open_requested.emit(self.report)
        )
        self.open_folder_button.clicked.connect(
            lambda: self.open_requested.emit(self.report.parent)
        )
        self.open_requested.connect(open_paths.open_path)

        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
