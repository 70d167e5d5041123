"""Tests for the connection profiles dialog and its File menu entries."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QMainWindow

from app.models.profiles import EMBEDDED_ID, ProfileStore
from app.services.connection import CheckResult, ConnectionReport
from app.services.credentials import SERVICE_NAME, KeyStore
from app.views.connection_dialog import ConnectionDialog
from app.views.connections_menu import install_connections
from tests.support.memory_keyring import memory_keyring


class FakeChecker:
    """Records the targets it is asked to check and returns a fixed report."""

    def __init__(self, ok: bool = True):
        self.targets = []
        self.ok = ok

    async def __call__(self, target):
        self.targets.append(target)
        results = (
            CheckResult("REST API", True, "reachable"),
            CheckResult("API key", self.ok, "accepted" if self.ok else "rejected"),
        )
        return ConnectionReport(results)


@pytest.fixture
def keyring_backend():
    with memory_keyring() as backend:
        yield backend


@pytest.fixture
def store(tmp_path):
    store = ProfileStore(tmp_path / "profiles.json")
    store.load()
    return store


@pytest.fixture
def checker():
    return FakeChecker()


@pytest.fixture
def dialog(qtbot, qloop, store, keyring_backend, checker):
    dialog = ConnectionDialog(store=store, keys=KeyStore(), checker=checker)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def add_remote(dialog, name="Staging", url="http://127.0.0.1:9", key="k-123"):
    dialog.new_button.click()
    dialog.name_edit.setText(name)
    dialog.url_edit.setText(url)
    dialog.key_edit.setText(key)


def test_dialog_is_not_modal(dialog):
    assert not dialog.isModal()


def test_opens_on_embedded_profile(dialog):
    assert dialog.form_profile().profile_id == EMBEDDED_ID
    assert not dialog.url_edit.isEnabled()
    assert not dialog.test_button.isEnabled()
    assert not dialog.delete_button.isEnabled()


def test_save_keeps_key_in_keyring_only(dialog, store, keyring_backend, run_async):
    add_remote(dialog)
    profile = run_async(dialog.save())
    assert profile.name == "Staging"
    assert keyring_backend.passwords == {(SERVICE_NAME, profile.profile_id): "k-123"}
    text = store.path.read_text()
    assert "k-123" not in text
    assert json.loads(text)["profiles"][1]["url"] == "http://127.0.0.1:9"


def test_empty_key_keeps_stored_key(dialog, keyring_backend, run_async):
    add_remote(dialog)
    profile = run_async(dialog.save())
    dialog.key_edit.clear()
    run_async(dialog.save())
    assert keyring_backend.passwords[(SERVICE_NAME, profile.profile_id)] == "k-123"


def test_forget_key_deletes_it(dialog, keyring_backend, run_async):
    add_remote(dialog)
    run_async(dialog.save())
    dialog.forget_key_box.setChecked(True)
    run_async(dialog.save())
    assert keyring_backend.passwords == {}


def test_invalid_url_is_not_saved(dialog, store, run_async):
    add_remote(dialog, url="localhost:8080")
    assert run_async(dialog.save()) is None
    assert "http:// or https://" in dialog.message_label.text()
    assert [p.url for p in ProfileStore(store.path).profiles()] == [""]


def test_test_connection_uses_form_values(dialog, checker, run_async):
    add_remote(dialog, url="https://10.0.0.1:8443")
    dialog.verify_box.setChecked(False)
    report = run_async(dialog.test_connection())
    target = checker.targets[0]
    assert report.ok
    assert target.url == "https://10.0.0.1:8443"
    assert target.api_key == "k-123"
    assert target.verify_tls is False
    assert "REST API: OK" in dialog.report_view.toPlainText()
    assert dialog.message_label.text() == "Everything worked."


def test_test_connection_reports_failures(dialog, run_async):
    dialog._checker = FakeChecker(ok=False)
    add_remote(dialog)
    run_async(dialog.test_connection())
    assert dialog.message_label.text() == "Failed: API key."
    assert "API key: FAILED. rejected" in dialog.report_view.toPlainText()


def test_test_connection_uses_stored_key(dialog, checker, run_async):
    add_remote(dialog)
    run_async(dialog.save())
    dialog.key_edit.clear()
    run_async(dialog.test_connection())
    assert checker.targets[0].api_key == "k-123"


def test_connect_emits_choice_and_closes(dialog, store, qtbot, run_async):
    add_remote(dialog)
    with qtbot.waitSignal(dialog.connect_requested) as signal:
        run_async(dialog.connect_selected())
    choice = signal.args[0]
    assert choice.url == "http://127.0.0.1:9"
    assert choice.api_key == "k-123"
    assert not choice.is_embedded
    assert choice.target().name == "Staging"
    assert not dialog.isVisible()
    reloaded = ProfileStore(store.path)
    reloaded.load()
    assert reloaded.last_used().name == "Staging"


def test_connect_embedded(dialog, qtbot, run_async):
    with qtbot.waitSignal(dialog.connect_requested) as signal:
        run_async(dialog.connect_selected())
    assert signal.args[0].is_embedded


def test_export_and_import(dialog, store, tmp_path, run_async):
    add_remote(dialog)
    run_async(dialog.save())
    assert dialog.export_to(tmp_path / "out.json") == 1
    assert "k-123" not in (tmp_path / "out.json").read_text()
    added = dialog.import_from(tmp_path / "out.json")
    assert [p.name for p in added] == ["Staging (2)"]
    assert dialog.form_profile().name == "Staging (2)"
    assert "Enter their API keys" in dialog.message_label.text()


def test_import_bad_file_is_reported(dialog, tmp_path):
    (tmp_path / "bad.json").write_text("[]")
    assert dialog.import_from(tmp_path / "bad.json") == []
    assert "Couldn't import profiles" in dialog.message_label.text()


def test_delete_removes_profile_and_key(
    dialog, store, keyring_backend, qtbot, run_async
):
    add_remote(dialog)
    profile = run_async(dialog.save())
    dialog.delete_button.click()
    qtbot.waitUntil(lambda: keyring_backend.passwords == {})
    assert store.get(profile.profile_id) is None


def test_menu_opens_one_dialog(qtbot, qloop, store, keyring_backend):
    window = QMainWindow()
    qtbot.addWidget(window)
    window.menuBar().addMenu("&File").addAction("Quit")
    chosen = []
    ui = install_connections(
        window, on_connect=chosen.append, store=store, keys=KeyStore()
    )
    file_menu = window.menuBar().actions()[0].menu()
    assert file_menu.actions()[0] is ui.connect_action
    first = ui.open_dialog()
    assert ui.open_dialog() is first
    first.close()
    qtbot.waitUntil(lambda: ui.dialog is None)


def test_recent_menu_connects_with_stored_key(qtbot, qloop, store, keyring_backend):
    window = QMainWindow()
    qtbot.addWidget(window)
    chosen = []
    ui = install_connections(
        window, on_connect=chosen.append, store=store, keys=KeyStore()
    )
    dialog = ui.open_dialog()
    add_remote(dialog)
    dialog.connect_button.click()
    qtbot.waitUntil(lambda: len(chosen) == 1)

    ui._rebuild_recent()
    names = [action.text() for action in ui.recent_menu.actions()]
    assert names == ["Staging"]
    ui.recent_menu.actions()[0].trigger()
    qtbot.waitUntil(lambda: len(chosen) == 2)
    assert chosen[1].api_key == "k-123"
    assert chosen[1].url == "http://127.0.0.1:9"
