"""Tests for KeyStore: profile keys in the keyring."""

from __future__ import annotations

import asyncio

import keyring
import pytest
from keyring.backends import fail

from app.services.credentials import SERVICE_NAME, CredentialError, KeyStore
from tests.support.memory_keyring import memory_keyring


@pytest.fixture
def backend():
    with memory_keyring() as backend:
        yield backend


def test_set_get_delete(backend):
    keys = KeyStore()
    keys.set("p1", "secret")
    assert keys.get("p1") == "secret"
    assert backend.passwords == {(SERVICE_NAME, "p1"): "secret"}
    keys.delete("p1")
    assert keys.get("p1") is None


def test_empty_key_deletes(backend):
    keys = KeyStore()
    keys.set("p1", "secret")
    keys.set("p1", "")
    assert backend.passwords == {}


def test_delete_missing_is_quiet(backend):
    KeyStore().delete("never-stored")


def test_async_variants(backend):
    keys = KeyStore()

    async def scenario():
        await keys.aset("p2", "other")
        value = await keys.aget("p2")
        await keys.adelete("p2")
        return value, await keys.aget("p2")

    assert asyncio.run(scenario()) == ("other", None)


def test_no_keyring_explains():
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with pytest.raises(CredentialError, match="no system keyring is available"):
            KeyStore().set("p1", "secret")
        with pytest.raises(CredentialError, match="OVERSEER_API_KEY"):
            KeyStore().get("p1")
    finally:
        keyring.set_keyring(previous)
