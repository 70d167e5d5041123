"""Connection profiles: the embedded server or a remote URL, kept between runs.

Profiles live in ``connection-profiles.json`` in the app's config folder
(``OVERSEER_CONFIG_DIR`` when set). The file and every export hold no API
key: keys live in the system keyring (``app.services.credentials``), filed
under the profile's ``profile_id``, so renaming a profile keeps its key.

A profile file that is missing or unreadable gives the default list, which
is the embedded server alone, with a logged warning for an unreadable one.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

from app.models.ui_state import config_dir

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
PROFILES_FILE_NAME = "connection-profiles.json"
EXPORT_KIND = "overseer-connection-profiles"
EMBEDDED = "embedded"
REMOTE = "remote"
EMBEDDED_ID = "embedded"
EMBEDDED_NAME = "Embedded server"
MAX_RECENT = 8


class ProfileError(ValueError):
    """A profile, profile file or import that cannot be used, with the reason."""


def default_profiles_path() -> Path:
    """Return the path of the profiles file."""
    return config_dir() / PROFILES_FILE_NAME


def new_profile_id() -> str:
    """Return a fresh, unique profile id."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class ConnectionProfile:
    """Saved server address and TLS settings; the API key is in the keyring, never here.

    Attributes:
        profile_id: Stable id; the keyring entry of the key uses it.
        kind: ``embedded`` (start the app's own server) or ``remote``.
        url: Server root such as ``https://host:8443`` for a remote profile.
        verify_tls: Check the server's TLS certificate (on by default).
        ca_bundle: PEM file of extra certificate authorities to trust, or None
            for the system's.
        last_used: Epoch seconds of the last connection with this profile.
    """

    profile_id: str
    name: str
    kind: str = REMOTE
    url: str = ""
    verify_tls: bool = True
    ca_bundle: str | None = None
    last_used: float | None = None

    @property
    def is_embedded(self) -> bool:
        """Whether this profile starts the app's own server."""
        return self.kind == EMBEDDED

    def problems(self) -> list[str]:
        """Return what makes the profile unusable, in plain sentences; empty when valid."""
        found: list[str] = []
        if not self.name.strip():
            found.append("The profile needs a name.")
        if self.kind not in (EMBEDDED, REMOTE):
            found.append(f"Unknown profile type {self.kind!r}.")
        if self.kind == REMOTE:
            found.extend(url_problems(self.url))
        return found

    def ca_bundle_problem(self) -> str | None:
        """Return why the CA bundle cannot be read, or None when it can (or is unset).

        Kept apart from ``problems`` because an imported profile may name a
        file that exists only on another machine.
        """
        if not self.ca_bundle:
            return None
        if not Path(self.ca_bundle).expanduser().is_file():
            return f"The CA bundle {self.ca_bundle} does not exist."
        return None

    def to_json(self) -> dict[str, Any]:
        """Serialise for the profiles file or an export; never contains a key."""
        return {
            "profile_id": self.profile_id,
            "name": self.name,
            "kind": self.kind,
            "url": self.url,
            "verify_tls": self.verify_tls,
            "ca_bundle": self.ca_bundle,
            "last_used": self.last_used,
        }

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Read one profile; fields other than the known ones, keys included, are ignored."""
        if not isinstance(data, dict):
            raise ProfileError("expected a profile to be a JSON object")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ProfileError("a profile has no name")
        kind = data.get("kind", REMOTE)
        if kind not in (EMBEDDED, REMOTE):
            raise ProfileError(f"profile {name!r} has an unknown type {kind!r}")
        profile_id = data.get("profile_id")
        ca_bundle = data.get("ca_bundle")
        last_used = data.get("last_used")
        return cls(
            profile_id=profile_id
            if isinstance(profile_id, str) and profile_id
            else new_profile_id(),
            name=name.strip(),
            kind=kind,
            url=str(data.get("url") or ""),
            verify_tls=data.get("verify_tls") is not False,
            ca_bundle=ca_bundle if isinstance(ca_bundle, str) and ca_bundle else None,
            last_used=float(last_used) if isinstance(last_used, int | float) else None,
        )


def url_problems(url: str) -> list[str]:
    """Return why ``url`` cannot be a server root URL; empty when it can."""
    text = url.strip()
    if not text:
        return ["A remote profile needs the server's URL."]
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        return [f"The URL must start with http:// or https://, not {text!r}."]
    if not parts.hostname:
        return [f"The URL {text!r} has no host name."]
    try:
        parts.port  # noqa: B018 (raises ValueError for an invalid port)
    except ValueError:
        return [f"The URL {text!r} has an invalid port."]
    return []


def embedded_profile() -> ConnectionProfile:
    """Return the built-in profile of the app's own server."""
    return ConnectionProfile(EMBEDDED_ID, EMBEDDED_NAME, kind=EMBEDDED)


class ProfileStore:
    """The saved profiles, the embedded one always first, and their file.

    Changes are kept in memory until ``save()``, which replaces the file
    atomically.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._path = path or default_profiles_path()
        self._profiles: dict[str, ConnectionProfile] = {}
        self._reset()

    @property
    def path(self) -> Path:
        """Location of the profiles file."""
        return self._path

    def _reset(self) -> None:
        embedded = embedded_profile()
        self._profiles = {embedded.profile_id: embedded}

    # Reading

    def profiles(self) -> list[ConnectionProfile]:
        """Return every profile: the embedded one, then the others by name."""
        others = sorted(
            (p for p in self._profiles.values() if not p.is_embedded),
            key=lambda p: p.name.casefold(),
        )
        return [self._profiles[EMBEDDED_ID], *others]

    def get(self, profile_id: str) -> ConnectionProfile | None:
        """Return the profile with ``profile_id``, or None."""
        return self._profiles.get(profile_id)

    def find(self, name: str) -> ConnectionProfile | None:
        """Return the profile called ``name`` (ignoring case), or None."""
        wanted = name.strip().casefold()
        for profile in self._profiles.values():
            if profile.name.casefold() == wanted:
                return profile
        return None

    def recent(self, limit: int = MAX_RECENT) -> list[ConnectionProfile]:
        """Return the profiles used most recently, newest first."""
        used = [p for p in self._profiles.values() if p.last_used is not None]
        used.sort(key=lambda p: p.last_used or 0.0, reverse=True)
        return used[:limit]

    def last_used(self) -> ConnectionProfile | None:
        """Return the profile used last, or None when none was used."""
        recent = self.recent(1)
        return recent[0] if recent else None

    # Changes

    def put(self, profile: ConnectionProfile) -> ConnectionProfile:
        """Add or replace a profile, keyed by its id.

        Raises:
            ProfileError: The profile is invalid, its name is taken by
                another profile, or it would replace the embedded profile
                with a remote one.
        """
        problems = profile.problems()
        if problems:
            raise ProfileError(" ".join(problems))
        clash = self.find(profile.name)
        if clash is not None and clash.profile_id != profile.profile_id:
            raise ProfileError(f"A profile called {profile.name!r} already exists.")
        if profile.profile_id == EMBEDDED_ID and not profile.is_embedded:
            raise ProfileError("The embedded server's profile cannot become remote.")
        if profile.is_embedded and profile.profile_id != EMBEDDED_ID:
            raise ProfileError("Only the built-in profile can use the embedded server.")
        self._profiles[profile.profile_id] = profile
        return profile

    def remove(self, profile_id: str) -> ConnectionProfile | None:
        """Remove a profile and return it; the embedded profile stays.

        The caller deletes the profile's key from the keyring.
        """
        if profile_id == EMBEDDED_ID:
            raise ProfileError("The embedded server's profile cannot be deleted.")
        return self._profiles.pop(profile_id, None)

    def mark_used(self, profile_id: str, when: float | None = None) -> None:
        """Record that a connection was made with ``profile_id`` now (or at ``when``)."""
        profile = self._profiles.get(profile_id)
        if profile is not None:
            stamp = time.time() if when is None else when
            self._profiles[profile_id] = replace(profile, last_used=stamp)

    def unique_name(self, name: str) -> str:
        """Return ``name``, or ``name (2)``, ``name (3)``... when it is taken."""
        base = name.strip() or "Server"
        candidate, number = base, 2
        while self.find(candidate) is not None:
            candidate = f"{base} ({number})"
            number += 1
        return candidate

    # Files

    def load(self) -> None:
        """Read the profiles file; a missing or unreadable file gives the defaults."""
        self._reset()
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            logger.warning("Couldn't read the profiles file %s: %s", self._path, exc)
            return
        try:
            loaded = _parse_document(text, expected_kind=None)
        except ProfileError as exc:
            logger.warning("Ignoring the profiles file %s: %s", self._path, exc)
            return
        for profile in loaded:
            if profile.profile_id == EMBEDDED_ID or profile.is_embedded:
                # Only its last use is kept; the rest is built in.
                self._profiles[EMBEDDED_ID] = replace(
                    embedded_profile(), last_used=profile.last_used
                )
            elif not profile.problems() and self.find(profile.name) is None:
                self._profiles[profile.profile_id] = profile
            else:
                logger.warning("Skipping the invalid saved profile %r", profile.name)

    def save(self) -> None:
        """Write every profile to the profiles file, atomically."""
        _write_json(self._path, _document(self.profiles(), kind=None))

    def export_to(self, path: Path, profile_ids: Iterable[str] | None = None) -> int:
        """Write remote profiles (all, or those in ``profile_ids``) to ``path``.

        The export contains no keys and no usage times. Returns how many were
        written.
        """
        wanted = None if profile_ids is None else set(profile_ids)
        chosen = [
            replace(profile, last_used=None)
            for profile in self.profiles()
            if not profile.is_embedded
            and (wanted is None or profile.profile_id in wanted)
        ]
        _write_json(path, _document(chosen, kind=EXPORT_KIND))
        return len(chosen)

    def import_from(self, path: Path) -> list[ConnectionProfile]:
        """Add the remote profiles of an export file and return them.

        Each imported profile gets a new id, so it can never pick up another
        profile's key, and a name already in use gets a number appended.
        Embedded entries are skipped.

        Raises:
            ProfileError: The file cannot be read or is not a profile export.
        """
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProfileError(f"Couldn't read {path}: {exc.strerror or exc}") from exc
        added: list[ConnectionProfile] = []
        for profile in _parse_document(text, expected_kind=EXPORT_KIND):
            if profile.is_embedded:
                continue
            imported = replace(
                profile,
                profile_id=new_profile_id(),
                name=self.unique_name(profile.name),
                last_used=None,
            )
            added.append(self.put(imported))
        return added


def _document(profiles: list[ConnectionProfile], *, kind: str | None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "profiles": [profile.to_json() for profile in profiles],
    }
    if kind is not None:
        document["kind"] = kind
    return document


def _parse_document(text: str, *, expected_kind: str | None) -> list[ConnectionProfile]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("profiles"), list):
        raise ProfileError("expected a JSON object with a 'profiles' list")
    if expected_kind is not None and data.get("kind") != expected_kind:
        raise ProfileError("the file is not an Overseer connection profile export")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ProfileError(
            f"schema version {version!r} is not supported (expected {SCHEMA_VERSION})"
        )
    return [ConnectionProfile.from_json(item) for item in data["profiles"]]


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
