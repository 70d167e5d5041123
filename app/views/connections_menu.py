"""The File menu's connection entries: "Connect to Server…" and recent profiles.

Call ``install_connections`` once, after the main window is built::

    self.connections = install_connections(self, on_connect=app.switch_to)

``on_connect`` receives a ConnectionChoice when the user connects from the
dialog or from the "Recent Connections" submenu, and owns switching servers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu
from qasync import asyncSlot

from app.controllers import notify
from app.controllers.connections import ConnectionChoice, choose_profile
from app.models.profiles import ProfileStore
from app.services.connection import check_connection
from app.services.credentials import CredentialError, KeyStore
from app.views.connection_dialog import Checker, ConnectionDialog

logger = logging.getLogger(__name__)


class ConnectionsUi(QObject):
    """The File menu's connection entries and the one dialog they open.

    Attributes:
        connect_action: "Connect to Server…".
        recent_menu: "Recent Connections", rebuilt each time it opens.
        dialog: The open dialog, or None.
    """

    def __init__(
        self,
        window: QMainWindow,
        *,
        store: ProfileStore,
        keys: KeyStore,
        on_connect: Callable[[ConnectionChoice], object],
        checker: Checker = check_connection,
    ):
        super().__init__(window)
        self.window = window
        self.store = store
        self.keys = keys
        self._on_connect = on_connect
        self._checker = checker
        self.dialog: ConnectionDialog | None = None

        self.connect_action = QAction("C&onnect to Server…", window)
        self.connect_action.setObjectName("action_connect_server")
        self.connect_action.setShortcut("Ctrl+Shift+O")
        self.connect_action.setStatusTip("Choose, edit or test a connection profile")
        self.connect_action.triggered.connect(self.open_dialog)
        self.recent_menu = QMenu("&Recent Connections", window)
        self.recent_menu.setObjectName("recent_connections_menu")
        self.recent_menu.aboutToShow.connect(self._rebuild_recent)
        self._insert_into_file_menu()

    def _insert_into_file_menu(self) -> None:
        file_menu = _find_menu(self.window, "&File")
        if file_menu is None:
            file_menu = self.window.menuBar().addMenu("&File")
        first = file_menu.actions()[0] if file_menu.actions() else None
        file_menu.insertAction(first, self.connect_action)
        file_menu.insertMenu(first, self.recent_menu)
        if first is not None:
            file_menu.insertSeparator(first)

    @Slot()
    def open_dialog(self) -> ConnectionDialog:
        """Show the dialog, or raise it when it is already open."""
        if self.dialog is None:
            self.store.load()
            self.dialog = ConnectionDialog(
                self.window, store=self.store, keys=self.keys, checker=self._checker
            )
            self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.dialog.connect_requested.connect(self._on_connect)
            self.dialog.destroyed.connect(self._on_dialog_destroyed)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    @Slot()
    def _on_dialog_destroyed(self, *_args: object) -> None:
        self.dialog = None

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        self.store.load()
        recent = self.store.recent()
        if not recent:
            empty = self.recent_menu.addAction("No recent connections")
            empty.setEnabled(False)
            return
        for profile in recent:
            action = self.recent_menu.addAction(profile.name)
            action.setToolTip(profile.url or "The app's own server")
            action.triggered.connect(
                lambda _checked=False, profile_id=profile.profile_id: (
                    self.connect_recent(profile_id)
                )
            )

    @asyncSlot(str)
    async def connect_recent(self, profile_id: str) -> None:
        """Connect with a saved profile and the key stored for it."""
        profile = self.store.get(profile_id)
        if profile is None:
            return
        key = None
        if not profile.is_embedded:
            try:
                key = await self.keys.aget(profile.profile_id)
            except CredentialError as exc:
                notify.warning(
                    f"Connecting to {profile.name} without an API key. {exc}"
                )
        self._on_connect(choose_profile(self.store, profile, key))


def _find_menu(window: QMainWindow, title: str) -> QMenu | None:
    for action in window.menuBar().actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and menu.title() == title:
            return menu
    return None


def install_connections(
    window: QMainWindow,
    *,
    on_connect: Callable[[ConnectionChoice], object],
    store: ProfileStore | None = None,
    keys: KeyStore | None = None,
    checker: Checker = check_connection,
) -> ConnectionsUi:
    """Add "Connect to Server…" and "Recent Connections" to ``window``'s File menu.

    Args:
        on_connect: Called with the ConnectionChoice when the user connects
            from the dialog or the recent menu; it owns switching servers.
        store: The profiles; defaults to the file in the config folder.
        keys: Where API keys are kept; defaults to the system keyring.
        checker: Runs "Test connection"; replaceable for tests.
    """
    if store is None:
        store = ProfileStore()
        store.load()
    return ConnectionsUi(
        window,
        store=store,
        keys=keys or KeyStore(),
        on_connect=on_connect,
        checker=checker,
    )
