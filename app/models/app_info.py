"""Names and version of the application, shared by the entry point and the views."""

from __future__ import annotations

from importlib import metadata

APP_NAME = "Overseer Desktop"
ORGANIZATION_NAME = "Overseer"
DISTRIBUTION_NAME = "overseer-desktop"


def app_version() -> str:
    """Return the installed version, or a marker when running from a source tree."""
    try:
        return metadata.version(DISTRIBUTION_NAME)
    except metadata.PackageNotFoundError:
        return "0.1.0 (source)"
