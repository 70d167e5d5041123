"""Window layout and last filters, kept between runs in a JSON state file.

The file lives in the user's config folder (platformdirs), or in the folder
named by the ``OVERSEER_CONFIG_DIR`` environment variable when it is set, so
tests and portable set-ups stay isolated. It is state, not settings: a file
that is missing, unreadable or from an unknown version falls back to
defaults with a logged warning.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

import platformdirs

from app.models.job_filter import FilterState

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
STATE_FILE_NAME = "ui-state.json"
CONFIG_DIR_ENV = "OVERSEER_CONFIG_DIR"


def config_dir() -> Path:
    """Return the folder for the app's config and state files."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir("overseer-desktop", "Overseer"))


def default_state_path() -> Path:
    """Return the path of the state file."""
    return config_dir() / STATE_FILE_NAME


@dataclass(frozen=True)
class UiState:
    """Window state restored on the next start.

    Attributes:
        window_geometry: Bytes from ``QMainWindow.saveGeometry()``.
        window_state: Bytes from ``QMainWindow.saveState()`` (docks, toolbars).
        event_types: Event types the event log shows, or None for all.
    """

    window_geometry: bytes | None = None
    window_state: bytes | None = None
    filters: FilterState = field(default_factory=FilterState)
    event_types: frozenset[str] | None = None

    def with_changes(self, **changes: Any) -> Self:
        """Return a copy with the given fields replaced."""
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """Serialise for the state file."""
        return {
            "schema_version": SCHEMA_VERSION,
            "window_geometry": _encode(self.window_geometry),
            "window_state": _encode(self.window_state),
            "filters": self.filters.to_json(),
            "event_types": (
                None if self.event_types is None else sorted(self.event_types)
            ),
        }

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Read a state document, migrating older versions."""
        data = _migrate(data)
        event_types = data.get("event_types")
        return cls(
            window_geometry=_decode(data.get("window_geometry")),
            window_state=_decode(data.get("window_state")),
            filters=FilterState.from_json(data.get("filters")),
            event_types=(
                frozenset(str(name) for name in event_types)
                if isinstance(event_types, list)
                else None
            ),
        )


def _migrate(data: Any) -> dict[str, Any]:
    """Bring a state document to the current schema, or start from defaults."""
    if not isinstance(data, dict):
        logger.warning("Ignoring state file: expected a JSON object")
        return {}
    version = data.get("schema_version")
    if version == SCHEMA_VERSION:
        return data

    # Version 1 is the first schema, so any other version comes from a newer
    # build, and its layout bytes may not match this window.
    logger.warning(
        "Ignoring state file with schema version %r (expected %d)",
        version,
        SCHEMA_VERSION,
    )
    return {}


def _encode(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode("ascii")


def _decode(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        logger.warning("Ignoring invalid base64 value in the state file")
        return None


def load_state(path: Path | None = None) -> UiState:
    """Load the state file, or return defaults when it is missing or invalid."""
    path = path or default_state_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return UiState()
    except OSError as exc:
        logger.warning("Couldn't read the state file %s: %s", path, exc)
        return UiState()

    try:
        return UiState.from_json(json.loads(text))
    except ValueError as exc:
        logger.warning("Ignoring invalid state file %s: %s", path, exc)
        return UiState()


def save_state(state: UiState, path: Path | None = None) -> None:
    """Write the state file atomically; a failure is logged, not raised."""
    path = path or default_state_path()
    temporary = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(state.to_json(), indent=2), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        logger.warning("Couldn't save the state file %s: %s", path, exc)
