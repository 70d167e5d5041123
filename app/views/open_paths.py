"""Open folders and files with the desktop's default application."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from app import logs
from app.controllers import notify


def open_path(path: Path) -> bool:
    """Open a folder in the file manager, or a file in its default application.

    Returns:
        Whether the desktop accepted the request. A missing path or a refusal
        is posted as a notice, which also logs it.
    """
    if not path.exists():
        notify.warning(
            f"{path} does not exist yet; the app creates it when it first writes there."
        )
        return False
    if QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        return True
    notify.error(f"Couldn't open {path}. Open it from a file manager instead.")
    return False


def current_log_folder() -> Path:
    """Return the log folder of this run, or the default one before logging is set up."""
    files = logs.current()
    return files.folder if files is not None else logs.log_dir()


def open_log_folder() -> bool:
    """Open the folder with the app's logs and crash reports, creating it if needed."""
    folder = current_log_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        notify.error(f"Couldn't create the log folder {folder}: {exc.strerror}")
        return False
    return open_path(folder)
