"""The About dialog: versions of the app and its parts, and where it keeps its files."""

from __future__ import annotations

import html
import platform
import sys
from importlib import metadata
from pathlib import Path

import platformdirs
import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.models import app_info, ui_state
from app.views import open_paths
from app.views.app_icon import application_icon

DESCRIPTION = "A debugger and monitor for Routilux workflows."


def version_rows() -> list[tuple[str, str]]:
    """Return (label, version) for the app, routilux, Qt, PySide6 and Python."""
    try:
        routilux_version = metadata.version("routilux")
    except metadata.PackageNotFoundError:
        routilux_version = "not installed"
    build = "packaged" if getattr(sys, "frozen", False) else "from source"
    return [
        (app_info.APP_NAME, f"{app_info.app_version()} ({build})"),
        ("routilux", routilux_version),
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("Platform", f"{platform.system()} {platform.machine()}"),
    ]


def folder_rows() -> list[tuple[str, Path]]:
    """Return (label, path) for the config, data and log folders."""
    data = platformdirs.user_data_dir(
        app_info.DISTRIBUTION_NAME, app_info.ORGANIZATION_NAME
    )
    return [
        ("Config folder", ui_state.config_dir()),
        ("Data folder", Path(data)),
        ("Log folder", open_paths.current_log_folder()),
    ]


class AboutDialog(QDialog):
    """Shows the versions and folders, with buttons to copy them and open the logs."""

    def __init__(self, parent: QWidget | None = None, *, server: str | None = None):
        """Create the dialog.

        Args:
            server: A line on the connected server ("routilux-overseer 0.1.0
                at http://..."), or None when not connected.
        """
        super().__init__(parent)
        self.setObjectName("about_dialog")
        self.setWindowTitle(f"About {app_info.APP_NAME}")
        self._server = server

        icon = QLabel(self)
        icon.setPixmap(application_icon().pixmap(64, 64))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = QLabel(
            f"<h2>{html.escape(app_info.APP_NAME)}</h2><p>{DESCRIPTION}</p>", self
        )
        header = QHBoxLayout()
        header.addWidget(icon)
        header.addWidget(title, 1)

        form = QFormLayout()
        for label, value in version_rows():
            form.addRow(f"{label}:", self._selectable(html.escape(value)))
        if server:
            form.addRow("Server:", self._selectable(html.escape(server)))
        for label, path in folder_rows():
            link = f'<a href="{path.as_uri()}">{html.escape(str(path))}</a>'
            value = self._selectable(link)
            value.linkActivated.connect(lambda _url, path=path: self._open(path))
            form.addRow(f"{label}:", value)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = QPushButton("&Copy", self)
        self.copy_button.setToolTip("Copy the versions and folders, for a bug report")
        self.log_folder_button = QPushButton("Open &Log Folder", self)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(
            self.log_folder_button, QDialogButtonBox.ButtonRole.ActionRole
        )
        buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.log_folder_button.clicked.connect(open_paths.open_log_folder)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def as_text(self) -> str:
        """Return the dialog's versions and folders as plain text, one per line."""
        rows = [f"{label}: {value}" for label, value in version_rows()]
        if self._server:
            rows.append(f"Server: {self._server}")
        rows += [f"{label}: {path}" for label, path in folder_rows()]
        return "\n".join(rows)

    def copy_to_clipboard(self) -> None:
        """Put ``as_text()`` on the clipboard."""
        QGuiApplication.clipboard().setText(self.as_text())

    def _selectable(self, rich_text: str) -> QLabel:
        label = QLabel(rich_text, self)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        return label

    def _open(self, path: Path) -> None:
        if path == open_paths.current_log_folder():
            open_paths.open_log_folder()
        else:
            open_paths.open_path(path)


def show_about_dialog(
    parent: QWidget | None = None, *, server: str | None = None
) -> AboutDialog:
    """Open the About dialog window-modal over ``parent``; it deletes itself when closed."""
    dialog = AboutDialog(parent, server=server)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
