"""Choosing what the app connects to: the command line, profiles and their keys.

``--connect URL`` (key from ``OVERSEER_API_KEY``) wins over ``--profile
NAME``; with neither the app uses the embedded server. A profile's key comes
from ``OVERSEER_API_KEY`` when that is set, otherwise from the system
keyring.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from app.controllers import notify
from app.controllers.session import Session, fetch_server_info
from app.models.profiles import (
    EMBEDDED_ID,
    ConnectionProfile,
    ProfileError,
    ProfileStore,
)
from app.models.records import ServerInfo
from app.services.connection import ConnectionTarget
from app.services.credentials import CredentialError, KeyStore

logger = logging.getLogger(__name__)

API_KEY_ENV = "OVERSEER_API_KEY"


@dataclass(frozen=True)
class ConnectionChoice:
    """Connection the user chose: a profile (or a bare URL) and the API key to send.

    Attributes:
        profile: The chosen profile; None for ``--connect URL``.
        url: Remote server root; None means "start the embedded server".
    """

    profile: ConnectionProfile | None
    url: str | None = None
    api_key: str | None = None

    @property
    def is_embedded(self) -> bool:
        """Whether the app starts its own server for this choice."""
        return self.url is None

    def target(self) -> ConnectionTarget:
        """Return the remote server to connect to.

        Raises:
            ValueError: The choice is the embedded server, whose URL and key
                exist only once it runs.
        """
        if self.url is None:
            raise ValueError("the embedded server has no target until it runs")
        profile = self.profile
        return ConnectionTarget(
            self.url,
            self.api_key,
            verify_tls=profile.verify_tls if profile else True,
            ca_bundle=profile.ca_bundle if profile else None,
            name=profile.name if profile else self.url,
        )


def add_profile_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--profile NAME`` to the desktop app's command line."""
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help="connect with the saved connection profile NAME; its API key comes "
        f"from ${API_KEY_ENV} when set, otherwise from the system keyring",
    )


def check_profile_argument(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    store: ProfileStore | None = None,
) -> None:
    """Exit through ``parser.error`` when ``--profile`` names no saved profile."""
    name = getattr(args, "profile", None)
    if not name or getattr(args, "connect", None):
        return
    if store is None:
        store = ProfileStore()
        store.load()
    if store.find(name) is None:
        saved = ", ".join(repr(p.name) for p in store.profiles())
        parser.error(f"no connection profile called {name!r}; saved profiles: {saved}")


def restart_command(
    choice: ConnectionChoice,
    argv: list[str] | None = None,
    *,
    executable: str | None = None,
    frozen: bool | None = None,
) -> list[str]:
    """Return the command that starts the app again, connected with ``choice``.

    Options of ``argv`` (default: this process's) are kept, except
    ``--connect`` and ``--profile``, which are replaced by ``--profile`` with
    the chosen profile's name. The new process reads the key from the
    keyring, so start it without ``OVERSEER_API_KEY`` in its environment.

    Raises:
        ValueError: The choice has no profile (a bare ``--connect`` URL).
    """
    if choice.profile is None:
        raise ValueError("only a saved profile can be reopened by name")
    source = list(sys.argv[1:] if argv is None else argv)
    kept: list[str] = []
    skip_next = False
    for item in source:
        if skip_next:
            skip_next = False
            continue
        if item in ("--connect", "--profile"):
            skip_next = True
            continue
        if item.startswith(("--connect=", "--profile=")):
            continue
        kept.append(item)
    executable = executable or sys.executable
    frozen = getattr(sys, "frozen", False) if frozen is None else frozen
    program = [executable] if frozen else [executable, "-m", "app"]
    return [*program, *kept, "--profile", choice.profile.name]


def choose_profile(
    store: ProfileStore,
    profile: ConnectionProfile,
    api_key: str | None,
) -> ConnectionChoice:
    """Return the choice for ``profile`` with ``api_key`` and record its use.

    The profile file is saved, so the profile moves to the top of the recent
    list. A failure to save is logged and does not stop the connection.
    """
    store.mark_used(profile.profile_id)
    try:
        store.save()
    except OSError as exc:
        logger.warning("Couldn't save the profiles file %s: %s", store.path, exc)
    if profile.is_embedded:
        return ConnectionChoice(profile)
    return ConnectionChoice(profile, profile.url, api_key)


async def resolve_startup(
    args: argparse.Namespace,
    store: ProfileStore,
    keys: KeyStore,
    environ: Mapping[str, str] = os.environ,
) -> ConnectionChoice:
    """Turn ``--connect``, ``--profile`` and the environment into a choice.

    Raises:
        ProfileError: ``--profile`` names no saved profile; the message lists
            the saved ones.
    """
    env_key = environ.get(API_KEY_ENV) or None
    if getattr(args, "connect", None):
        return ConnectionChoice(None, args.connect, env_key)

    name = getattr(args, "profile", None)
    if not name:
        return ConnectionChoice(store.get(EMBEDDED_ID))
    profile = store.find(name)
    if profile is None:
        saved = ", ".join(repr(p.name) for p in store.profiles())
        raise ProfileError(
            f"No connection profile called {name!r}. Saved profiles: {saved}."
        )
    problems = profile.problems()
    if problems:
        raise ProfileError(
            f"The profile {profile.name!r} can't be used: {' '.join(problems)}"
        )

    api_key = env_key
    if api_key is None and not profile.is_embedded:
        api_key = await read_key(keys, profile)
    return choose_profile(store, profile, api_key)


async def read_key(keys: KeyStore, profile: ConnectionProfile) -> str | None:
    """Return the profile's key from the keyring, or None (reported) when it fails."""
    try:
        return await keys.aget(profile.profile_id)
    except CredentialError as exc:
        notify.warning(f"Connecting to {profile.name} without an API key. {exc}")
        return None


async def build_session(
    target: ConnectionTarget, *, close_timeout: float
) -> tuple[Session, ServerInfo | None]:
    """Create the client, stream and session for ``target``; nothing starts yet.

    The discovery document is fetched first, so a stock server gets its
    query key, per-job subscriptions and timestamp fixes from the first
    handshake on. Start the session with ``session.start(query,
    server_info=info)``.
    """
    api = target.make_api()
    info = await fetch_server_info(api)
    stream = target.make_stream(info)
    return Session(api, stream, close_timeout=close_timeout), info
