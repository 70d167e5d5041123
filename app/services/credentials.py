"""API keys of connection profiles, kept in the system keyring.

Keys never go into the profiles file or an export. Each key is filed in the
keyring under the service ``overseer-desktop`` and the profile's id, so a
renamed profile keeps its key. The keyring is whatever ``keyring`` selects
(Secret Service, macOS Keychain, Windows Credential Locker), or the backend
given to ``keyring.set_keyring``.

Keyring calls can block, for example while the desktop prompts to unlock
the keyring, so code on the Qt thread uses the ``a``-prefixed coroutines, which
run the call in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

logger = logging.getLogger(__name__)

SERVICE_NAME = "overseer-desktop"


class CredentialError(Exception):
    """The keyring failed to store, read or delete a key, for the reason in the message."""


class KeyStore:
    """Reads and writes profile keys in the system keyring."""

    def __init__(
        self,
        *,
        service: str = SERVICE_NAME,
        backend: KeyringBackend | None = None,
    ) -> None:
        """Create a store.

        Args:
            service: Keyring service name the keys are filed under.
            backend: Keyring to use instead of the one ``keyring`` selects
                at the time of each call.
        """
        self._service = service
        self._backend = backend

    def _keyring(self) -> KeyringBackend:
        return self._backend if self._backend is not None else keyring.get_keyring()

    def get(self, profile_id: str) -> str | None:
        """Return the key of ``profile_id``, or None when none is stored.

        Raises:
            CredentialError: No keyring is available or it failed.
        """
        try:
            return self._keyring().get_password(self._service, profile_id)
        except keyring.errors.KeyringError as exc:
            raise CredentialError(_describe("read", exc)) from exc

    def set(self, profile_id: str, api_key: str | None) -> None:
        """Store ``api_key`` for ``profile_id``; an empty or None key deletes it.

        Raises:
            CredentialError: No keyring is available or it failed.
        """
        if not api_key:
            self.delete(profile_id)
            return
        try:
            self._keyring().set_password(self._service, profile_id, api_key)
        except keyring.errors.KeyringError as exc:
            raise CredentialError(_describe("store", exc)) from exc
        logger.info("Stored the API key of profile %s in the keyring", profile_id)

    def delete(self, profile_id: str) -> None:
        """Delete the key of ``profile_id``; a missing key is not an error.

        Raises:
            CredentialError: No keyring is available or it failed.
        """
        try:
            self._keyring().delete_password(self._service, profile_id)
        except keyring.errors.PasswordDeleteError:
            return
        except keyring.errors.KeyringError as exc:
            raise CredentialError(_describe("delete", exc)) from exc
        logger.info("Deleted the API key of profile %s from the keyring", profile_id)

    async def aget(self, profile_id: str) -> str | None:
        """Coroutine version of ``get`` that does not block the event loop."""
        return await asyncio.to_thread(self.get, profile_id)

    async def aset(self, profile_id: str, api_key: str | None) -> None:
        """Coroutine version of ``set`` that does not block the event loop."""
        await asyncio.to_thread(self.set, profile_id, api_key)

    async def adelete(self, profile_id: str) -> None:
        """Coroutine version of ``delete`` that does not block the event loop."""
        await asyncio.to_thread(self.delete, profile_id)


def _describe(action: str, exc: keyring.errors.KeyringError) -> str:
    if isinstance(exc, keyring.errors.NoKeyringError):
        return (
            f"Couldn't {action} the API key: no system keyring is available. "
            "Install and unlock a keyring (for example GNOME Keyring or KWallet), "
            "or give the key with OVERSEER_API_KEY."
        )
    return f"Couldn't {action} the API key in the system keyring: {exc}"
