"""Connection profiles dialog: pick, edit, test and connect to a server.

The dialog is non-modal: it is shown with ``show()`` beside the main
window, which stays usable. Profiles come from a ProfileStore; API keys go
to the system keyring through a KeyStore and never into the profile file.
An empty key field keeps the key already stored for the profile.

``app.views.connections_menu.install_connections`` adds the menu entries
that open it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from app.controllers import notify
from app.controllers.connections import ConnectionChoice, choose_profile
from app.models.profiles import (
    REMOTE,
    ConnectionProfile,
    ProfileError,
    ProfileStore,
    new_profile_id,
)
from app.services.connection import ConnectionReport, ConnectionTarget, check_connection
from app.services.credentials import CredentialError, KeyStore

logger = logging.getLogger(__name__)

Checker = Callable[[ConnectionTarget], Awaitable[ConnectionReport]]
PROFILE_FILTER = "Connection profiles (*.json)"
_ERROR_STYLE = "color: #c53030;"
_OK_STYLE = "color: #2e7d32;"


class ConnectionDialog(QDialog):
    """Lists the profiles and edits the selected one.

    Signals:
        connect_requested(ConnectionChoice): The user chose to connect; the
            profile was saved and marked as used.
    """

    connect_requested = Signal(object)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        store: ProfileStore,
        keys: KeyStore,
        checker: Checker = check_connection,
    ):
        super().__init__(parent)
        self.setObjectName("connection_dialog")
        self.setWindowTitle("Connect to Server")
        self.setModal(False)
        self._store = store
        self._keys = keys
        self._checker = checker
        self._profile: ConnectionProfile | None = None
        self._busy = False
        self._build()
        self.reload(select=(store.last_used() or store.profiles()[0]).profile_id)

    # Layout

    def _build(self) -> None:
        self.profile_list = QListWidget(self)
        self.profile_list.setObjectName("profile_list")
        self.profile_list.currentItemChanged.connect(self._on_profile_list_changed)
        list_buttons = QHBoxLayout()
        self.new_button = self._button("&New", self._on_new_clicked, list_buttons)
        self.delete_button = self._button(
            "&Delete", self._on_delete_clicked, list_buttons
        )
        self.import_button = self._button(
            "&Import…", self._on_import_clicked, list_buttons
        )
        self.export_button = self._button(
            "E&xport…", self._on_export_clicked, list_buttons
        )
        left = QVBoxLayout()
        left.addWidget(self.profile_list)
        left.addLayout(list_buttons)

        self.name_edit = QLineEdit(self)
        self.kind_label = QLabel(self)
        self.kind_label.setWordWrap(True)
        self.url_edit = QLineEdit(self)
        self.url_edit.setPlaceholderText("https://routilux.example:8443")
        self.key_edit = QLineEdit(self)
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("Leave empty to keep the stored key")
        self.key_edit.setToolTip(
            "Kept in the system keyring, never in the profile file or an export."
        )
        self.forget_key_box = QCheckBox("Forget the stored key", self)
        self.verify_box = QCheckBox("Verify the server's TLS certificate", self)
        self.ca_edit = QLineEdit(self)
        self.ca_edit.setPlaceholderText("System certificate authorities")
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_edit)
        self._button("Browse…", self._on_browse_clicked, ca_row)
        self.verify_box.toggled.connect(self.ca_edit.setEnabled)

        form = QFormLayout()
        form.addRow("Name:", self.name_edit)
        form.addRow("Server:", self.kind_label)
        form.addRow("URL:", self.url_edit)
        form.addRow("API key:", self.key_edit)
        form.addRow("", self.forget_key_box)
        form.addRow("TLS:", self.verify_box)
        form.addRow("CA bundle:", ca_row)

        self.test_button = QPushButton("&Test Connection", self)
        self.test_button.clicked.connect(self._on_test_clicked)
        self.report_view = QPlainTextEdit(self)
        self.report_view.setObjectName("connection_report")
        self.report_view.setReadOnly(True)
        self.report_view.setPlaceholderText(
            "Test Connection checks the REST API, the API key and the event stream."
        )
        self.message_label = QLabel(self)
        self.message_label.setObjectName("connection_message")
        self.message_label.setWordWrap(True)

        right = QVBoxLayout()
        right.addLayout(form)
        right.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignLeft)
        right.addWidget(self.report_view, 1)
        right.addWidget(self.message_label)

        columns = QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addLayout(right, 2)
        self.buttons = QDialogButtonBox(self)
        self.save_button = self.buttons.addButton(
            "&Save", QDialogButtonBox.ButtonRole.ApplyRole
        )
        self.connect_button = self.buttons.addButton(
            "&Connect", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.save_button.clicked.connect(self._on_save_clicked)
        self.connect_button.clicked.connect(self._on_connect_clicked)
        self.buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addLayout(columns)
        layout.addWidget(self.buttons)
        self.resize(760, 460)

    def _button(
        self, text: str, slot: Callable[[], object], row: QHBoxLayout
    ) -> QPushButton:
        button = QPushButton(text, self)
        button.clicked.connect(slot)
        row.addWidget(button)
        return button

    # Profiles list

    def reload(self, select: str | None = None) -> None:
        """Fill the list from the store and select ``select`` (a profile id)."""
        select = select or (self._profile.profile_id if self._profile else None)
        self.profile_list.blockSignals(True)
        self.profile_list.clear()
        for profile in self._store.profiles():
            item = QListWidgetItem(profile.name, self.profile_list)
            item.setData(Qt.ItemDataRole.UserRole, profile.profile_id)
            item.setToolTip(
                "The app's own server" if profile.is_embedded else profile.url
            )
            if profile.profile_id == select:
                self.profile_list.setCurrentItem(item)
        if self.profile_list.currentItem() is None:
            self.profile_list.setCurrentRow(0)
        self.profile_list.blockSignals(False)
        self._show_profile(self._selected_profile())

    def _selected_profile(self) -> ConnectionProfile | None:
        item = self.profile_list.currentItem()
        if item is None:
            return None
        return self._store.get(item.data(Qt.ItemDataRole.UserRole))

    def _show_profile(self, profile: ConnectionProfile | None) -> None:
        self._profile = profile
        if profile is None:
            return
        embedded = profile.is_embedded
        self.name_edit.setText(profile.name)
        self.name_edit.setReadOnly(embedded)
        self.kind_label.setText(
            "The app starts its own server on 127.0.0.1 with a new key each time."
            if embedded
            else "A server started elsewhere: this project's or a stock Routilux one."
        )
        self.url_edit.setText(profile.url)
        self.key_edit.clear()
        self.forget_key_box.setChecked(False)
        self.verify_box.setChecked(profile.verify_tls)
        self.ca_edit.setText(profile.ca_bundle or "")
        self.ca_edit.setEnabled(profile.verify_tls)
        for widget in (
            self.url_edit,
            self.key_edit,
            self.forget_key_box,
            self.verify_box,
            self.ca_edit,
            self.test_button,
        ):
            widget.setEnabled(
                not embedded and (widget is not self.ca_edit or profile.verify_tls)
            )
        self.delete_button.setEnabled(not embedded)
        self.test_button.setToolTip(
            "The embedded server is started and checked by the app itself."
            if embedded
            else ""
        )
        self.report_view.clear()
        self._show_message("")

    def form_profile(self) -> ConnectionProfile | None:
        """Return the selected profile with the form's edits applied."""
        if self._profile is None:
            return None
        if self._profile.is_embedded:
            return self._profile
        ca_bundle = self.ca_edit.text().strip() or None
        return dataclasses.replace(
            self._profile,
            name=self.name_edit.text().strip(),
            url=self.url_edit.text().strip(),
            verify_tls=self.verify_box.isChecked(),
            ca_bundle=ca_bundle,
        )

    # Saving and connecting

    async def save(self) -> ConnectionProfile | None:
        """Validate and store the form; return the saved profile, or None on a problem."""
        profile = self.form_profile()
        if profile is None:
            return None
        try:
            if not profile.is_embedded:
                self._store.put(profile)
            self._store.save()
        except (ProfileError, OSError) as exc:
            self._show_message(f"Couldn't save the profile: {exc}", error=True)
            return None
        try:
            await self._save_key(profile)
        except CredentialError as exc:
            self._show_message(f"Saved the profile, but not its key. {exc}", error=True)
            self.reload(select=profile.profile_id)
            return profile
        self.reload(select=profile.profile_id)
        warning = profile.ca_bundle_problem()
        self._show_message(warning or f"Saved {profile.name}.", error=bool(warning))
        return profile

    async def _save_key(self, profile: ConnectionProfile) -> None:
        typed = self.key_edit.text()
        if self.forget_key_box.isChecked():
            await self._keys.adelete(profile.profile_id)
        elif typed:
            await self._keys.aset(profile.profile_id, typed)

    async def key_for(self, profile: ConnectionProfile) -> str | None:
        """Return the typed key, or the stored one; a keyring failure is shown."""
        if self.key_edit.text():
            return self.key_edit.text()
        if self.forget_key_box.isChecked():
            return None
        try:
            return await self._keys.aget(profile.profile_id)
        except CredentialError as exc:
            self._show_message(str(exc), error=True)
            return None

    async def test_connection(self) -> ConnectionReport | None:
        """Check the form's server and show the report; None for the embedded profile."""
        profile = self.form_profile()
        if profile is None or profile.is_embedded:
            return None
        problems = profile.problems()
        if problems:
            self._show_message(" ".join(problems), error=True)
            return None
        self._set_busy(True, "Testing the connection…")
        try:
            key = await self.key_for(profile)
            target = ConnectionChoice(profile, profile.url, key).target()
            report = await self._checker(target)
        finally:
            self._set_busy(False)
        self.report_view.setPlainText(report.text())
        if report.ok:
            self._show_message("Everything worked.")
        else:
            failed = [r.name for r in report.results if r.ok is False]
            self._show_message(f"Failed: {', '.join(failed)}.", error=True)
        return report

    async def connect_selected(self) -> ConnectionChoice | None:
        """Save the form, then emit ``connect_requested`` and close."""
        profile = await self.save()
        if profile is None:
            return None
        key = None if profile.is_embedded else await self.key_for(profile)
        choice = choose_profile(self._store, profile, key)
        self.connect_requested.emit(choice)
        self.close()
        return choice

    # Import and export

    def import_from(self, path: Path) -> list[ConnectionProfile]:
        """Add the profiles of an export file and save them."""
        try:
            added = self._store.import_from(path)
            self._store.save()
        except (ProfileError, OSError) as exc:
            self._show_message(
                f"Couldn't import profiles from {path}: {exc}", error=True
            )
            return []
        self.reload(select=added[0].profile_id if added else None)
        self._show_message(
            f"Imported {len(added)} profiles. Enter their API keys before connecting."
        )
        return added

    def export_to(self, path: Path) -> int:
        """Write the remote profiles, without keys, to ``path``."""
        try:
            count = self._store.export_to(path)
        except OSError as exc:
            self._show_message(f"Couldn't export profiles to {path}: {exc}", error=True)
            return 0
        self._show_message(
            f"Exported {count} profiles to {path}; API keys are not included."
        )
        return count

    # Slots

    @Slot()
    def _on_profile_list_changed(self, *_args: object) -> None:
        self._show_profile(self._selected_profile())

    @Slot()
    def _on_new_clicked(self) -> None:
        profile = ConnectionProfile(
            new_profile_id(),
            self._store.unique_name("New server"),
            kind=REMOTE,
            url="http://127.0.0.1:8080",
        )
        self._store.put(profile)
        try:
            self._store.save()
        except OSError as exc:
            self._show_message(f"Couldn't save the new profile: {exc}", error=True)
        self.reload(select=profile.profile_id)
        self.name_edit.setFocus()
        self.name_edit.selectAll()

    @asyncSlot()
    async def _on_delete_clicked(self) -> None:
        profile = self._profile
        if profile is None or profile.is_embedded:
            return
        self._store.remove(profile.profile_id)
        try:
            self._store.save()
            await self._keys.adelete(profile.profile_id)
        except (OSError, CredentialError) as exc:
            notify.warning(f"Deleted the profile {profile.name}, but: {exc}")
        self.reload()

    @Slot()
    def _on_browse_clicked(self) -> None:
        self._ask_path(
            QFileDialog.AcceptMode.AcceptOpen,
            "CA bundle",
            "PEM files (*.pem *.crt);;All files (*)",
            lambda p: self.ca_edit.setText(str(p)),
        )

    @Slot()
    def _on_import_clicked(self) -> None:
        self._ask_path(
            QFileDialog.AcceptMode.AcceptOpen,
            "Import Profiles",
            PROFILE_FILTER,
            self.import_from,
        )

    @Slot()
    def _on_export_clicked(self) -> None:
        self._ask_path(
            QFileDialog.AcceptMode.AcceptSave,
            "Export Profiles",
            PROFILE_FILTER,
            self.export_to,
        )

    @asyncSlot()
    async def _on_save_clicked(self) -> None:
        if not self._busy:
            await self.save()

    @asyncSlot()
    async def _on_test_clicked(self) -> None:
        if not self._busy:
            await self.test_connection()

    @asyncSlot()
    async def _on_connect_clicked(self) -> None:
        if not self._busy:
            await self.connect_selected()

    # Helpers

    def _ask_path(
        self,
        mode: QFileDialog.AcceptMode,
        title: str,
        name_filter: str,
        then: Callable[[Path], object],
    ) -> None:
        dialog = QFileDialog(self, title, str(Path.home()), name_filter)
        dialog.setAcceptMode(mode)
        if mode == QFileDialog.AcceptMode.AcceptSave:
            dialog.setDefaultSuffix("json")
            dialog.selectFile("overseer-profiles.json")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda selected: then(Path(selected)))
        dialog.open()

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        for button in (self.test_button, self.save_button, self.connect_button):
            button.setEnabled(not busy)
        if busy:
            self.report_view.clear()
            self._show_message(text)
        elif self._profile is not None and self._profile.is_embedded:
            self.test_button.setEnabled(False)

    def _show_message(self, text: str, *, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setStyleSheet(_ERROR_STYLE if error else _OK_STYLE)
