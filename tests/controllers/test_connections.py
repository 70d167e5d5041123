"""Tests for choosing the connection from the command line and profiles."""

from __future__ import annotations

import argparse

import keyring
import pytest
from keyring.backends import fail

from app.controllers import notify
from app.controllers.connections import (
    ConnectionChoice,
    add_profile_argument,
    check_profile_argument,
    resolve_startup,
    restart_command,
)
from app.models.profiles import (
    EMBEDDED_ID,
    ConnectionProfile,
    ProfileError,
    ProfileStore,
    new_profile_id,
)
from app.services.credentials import KeyStore
from tests.support.memory_keyring import memory_keyring


@pytest.fixture
def store(tmp_path):
    store = ProfileStore(tmp_path / "profiles.json")
    store.put(
        ConnectionProfile(
            new_profile_id(),
            "Prod",
            url="https://prod.example:8443",
            ca_bundle="/etc/prod-ca.pem",
        )
    )
    store.save()
    return store


@pytest.fixture
def keys():
    with memory_keyring():
        yield KeyStore()


def args(*argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--connect")
    add_profile_argument(parser)
    return parser.parse_args(argv)


def resolve(run_async, namespace, store, keys, environ=None):
    return run_async(resolve_startup(namespace, store, keys, environ or {}))


def test_no_options_means_embedded(run_async, store, keys):
    choice = resolve(run_async, args(), store, keys)
    assert choice.is_embedded
    assert choice.profile.profile_id == EMBEDDED_ID


def test_connect_url_wins_with_env_key(run_async, store, keys):
    namespace = args("--connect", "http://127.0.0.1:5000", "--profile", "Prod")
    choice = resolve(run_async, namespace, store, keys, {"OVERSEER_API_KEY": "env"})
    assert choice == ConnectionChoice(None, "http://127.0.0.1:5000", "env")


def test_profile_key_from_keyring(run_async, store, keys):
    prod = store.find("prod")
    keys.set(prod.profile_id, "from-keyring")
    choice = resolve(run_async, args("--profile", "prod"), store, keys)
    target = choice.target()
    assert target.url == "https://prod.example:8443"
    assert target.api_key == "from-keyring"
    assert target.ca_bundle == "/etc/prod-ca.pem"
    assert target.verify_tls


def test_env_key_overrides_keyring(run_async, store, keys):
    keys.set(store.find("Prod").profile_id, "from-keyring")
    choice = resolve(
        run_async, args("--profile", "Prod"), store, keys, {"OVERSEER_API_KEY": "env"}
    )
    assert choice.api_key == "env"


def test_profile_use_is_recorded(run_async, store, keys):
    resolve(run_async, args("--profile", "Prod"), store, keys)
    reloaded = ProfileStore(store.path)
    reloaded.load()
    assert reloaded.last_used().name == "Prod"


def test_unknown_profile_lists_saved_ones(run_async, store, keys):
    with pytest.raises(ProfileError) as caught:
        resolve(run_async, args("--profile", "nope"), store, keys)
    assert "No connection profile called 'nope'" in str(caught.value)
    assert "'Prod'" in str(caught.value)


def test_embedded_profile_by_name(run_async, store, keys):
    choice = resolve(run_async, args("--profile", "Embedded server"), store, keys)
    assert choice.is_embedded
    with pytest.raises(ValueError):
        choice.target()


def test_missing_keyring_warns_and_goes_on(run_async, store, qtbot):
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with qtbot.waitSignal(notify.bridge().message_posted) as posted:
            choice = resolve(run_async, args("--profile", "Prod"), store, KeyStore())
    finally:
        keyring.set_keyring(previous)
    assert choice.api_key is None
    assert "without an API key" in posted.args[0].text


def test_check_profile_argument_exits(store, capsys):
    parser = argparse.ArgumentParser(prog="overseer-desktop")
    parser.add_argument("--connect")
    add_profile_argument(parser)
    check_profile_argument(parser, parser.parse_args(["--profile", "prod"]), store)
    with pytest.raises(SystemExit) as caught:
        check_profile_argument(parser, parser.parse_args(["--profile", "x"]), store)
    assert caught.value.code == 2
    assert "no connection profile called 'x'" in capsys.readouterr().err


def test_restart_command_replaces_connection_options(store):
    choice = ConnectionChoice(store.find("Prod"), "https://prod.example:8443", "k")
    argv = ["--debug", "--connect", "http://x:1", "--profile=Old", "--db", "h.db"]
    command = restart_command(choice, argv, executable="/py", frozen=False)
    assert command == [
        "/py",
        "-m",
        "app",
        "--debug",
        "--db",
        "h.db",
        "--profile",
        "Prod",
    ]
    frozen = restart_command(choice, [], executable="/Overseer", frozen=True)
    assert frozen == ["/Overseer", "--profile", "Prod"]


def test_restart_command_needs_profile():
    with pytest.raises(ValueError):
        restart_command(ConnectionChoice(None, "http://x:1"), [])
