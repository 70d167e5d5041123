"""Tests for the About dialog and the application icon."""

from __future__ import annotations

import platform

from PySide6.QtCore import qVersion
from PySide6.QtGui import QGuiApplication

from app import logs
from app.views import about_dialog
from app.views.app_icon import application_icon


def test_about_lists_versions(qtbot):
    dialog = about_dialog.AboutDialog()
    qtbot.addWidget(dialog)

    text = dialog.as_text()

    assert "Overseer Desktop: 0.1.0" in text
    assert "routilux: 1.1" in text
    assert f"Qt: {qVersion()}" in text
    assert f"Python: {platform.python_version()}" in text


def test_about_lists_folders(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv(logs.LOG_DIR_ENV, str(tmp_path / "log"))
    monkeypatch.setenv("OVERSEER_CONFIG_DIR", str(tmp_path / "config"))
    dialog = about_dialog.AboutDialog(
        server="routilux-overseer 0.1.0 at http://127.0.0.1:1"
    )
    qtbot.addWidget(dialog)

    text = dialog.as_text()

    assert f"Config folder: {tmp_path / 'config'}" in text
    assert f"Log folder: {tmp_path / 'log'}" in text
    assert "Data folder: " in text
    assert "Server: routilux-overseer 0.1.0 at http://127.0.0.1:1" in text


def test_about_copy_fills_clipboard(qtbot):
    dialog = about_dialog.AboutDialog()
    qtbot.addWidget(dialog)

    dialog.copy_button.click()

    assert QGuiApplication.clipboard().text() == dialog.as_text()


def test_show_about_is_window_modal(qtbot):
    dialog = about_dialog.show_about_dialog()
    qtbot.addWidget(dialog)

    assert dialog.isVisible()
    assert dialog.isModal()


def test_application_icon_sizes():
    icon = application_icon()

    assert not icon.isNull()
    sizes = {size.width() for size in icon.availableSizes()}
    assert {16, 32, 48, 256, 512} <= sizes
