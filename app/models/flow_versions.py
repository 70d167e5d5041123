"""Flow versions: the embedded server's history, and a local one for stock servers.

The embedded server stores each distinct DSL of a flow and numbers it
(``GET /api/v1/flows/{flow_id}/versions``). A stock Routilux server keeps
no history, so the app records each flow's DSL text whenever it reads it,
in ``flow-history/<server>/<flow_id>.json`` under the config folder. Those
local versions record what the app saw and when, not what the server ran.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from app.models.records import parse_timestamp
from app.models.ui_state import config_dir

logger = logging.getLogger(__name__)

HISTORY_FOLDER = "flow-history"


@dataclass(frozen=True)
class FlowVersion:
    """One version of a flow's DSL.

    Attributes:
        first_seen: when the server (or, for local history, the app) first
            saw this DSL.
        current: whether this is the DSL the flow runs now.
        dsl: the DSL as YAML text, when it was loaded.
    """

    flow_id: str
    version: int
    content_hash: str = ""
    first_seen: datetime | None = None
    source: str | None = None
    current: bool = False
    dsl: str | None = None

    @property
    def label(self) -> str:
        """Short name for lists, such as ``v3 (current)``."""
        return f"v{self.version} (current)" if self.current else f"v{self.version}"

    @classmethod
    def from_json(cls, data: Any, flow_id: str = "") -> Self:
        """Build from an entry of the versions list or from one version."""
        if not isinstance(data, Mapping):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        version = data.get("version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise ValueError(f"invalid flow version: {version!r}")
        dsl = data.get("dsl")
        source = data.get("source")
        return cls(
            flow_id=str(data.get("flow_id") or flow_id),
            version=version,
            content_hash=str(data.get("content_hash") or ""),
            first_seen=parse_timestamp(data.get("first_seen")),
            source=str(source) if source is not None else None,
            current=bool(data.get("current", False)),
            dsl=dsl if isinstance(dsl, str) else None,
        )


@dataclass(frozen=True)
class FlowVersionList:
    """A flow's versions, newest first."""

    flow_id: str
    current_version: int | None
    versions: tuple[FlowVersion, ...] = ()
    local: bool = False

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from ``GET /flows/{flow_id}/versions``."""
        if not isinstance(data, Mapping):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        flow_id = str(data.get("flow_id") or "")
        raw = data.get("versions")
        current = data.get("current_version")
        return cls(
            flow_id=flow_id,
            current_version=current if isinstance(current, int) else None,
            versions=tuple(
                FlowVersion.from_json(item, flow_id)
                for item in (raw if isinstance(raw, list) else [])
            ),
        )

    def get(self, version: int) -> FlowVersion | None:
        """Return the version numbered ``version``."""
        return next((v for v in self.versions if v.version == version), None)


def text_hash(text: str) -> str:
    """Return the hex SHA-256 of a DSL text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def server_key(base_url: str) -> str:
    """Return a folder name for a server, readable and unique per URL."""
    readable = re.sub(r"[^0-9A-Za-z]+", "-", base_url).strip("-")[:40]
    return f"{readable}-{text_hash(base_url)[:8]}"


class LocalFlowHistory:
    """The DSL texts the app saw for each flow of one server, numbered per flow."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    @classmethod
    def for_server(cls, base_url: str, root: Path | None = None) -> Self:
        """Return the history of the server at ``base_url``."""
        base = root or config_dir() / HISTORY_FOLDER
        return cls(base / server_key(base_url))

    @property
    def folder(self) -> Path:
        """Folder of this server's history files."""
        return self._folder

    def record(
        self, flow_id: str, dsl: str, *, seen_at: datetime | None = None
    ) -> FlowVersion:
        """Store ``dsl`` as the flow's current DSL; return its version.

        A text seen before keeps its number and becomes current again.
        """
        data = self._read(flow_id)
        digest = text_hash(dsl)
        entries: list[dict[str, Any]] = data["versions"]
        entry = next((e for e in entries if e["content_hash"] == digest), None)
        added = entry is None
        if entry is None:
            moment = (seen_at or datetime.now(UTC)).astimezone(UTC)
            entry = {
                "version": max((e["version"] for e in entries), default=0) + 1,
                "content_hash": digest,
                "first_seen": moment.isoformat(timespec="milliseconds"),
                "dsl": dsl,
            }
            entries.append(entry)
            logger.info("Flow %s: recorded local version %d", flow_id, entry["version"])
        if added or data.get("current") != entry["version"]:
            data["current"] = entry["version"]
            self._write(flow_id, data)
        return self._version(flow_id, entry, current=True)

    def versions(self, flow_id: str) -> FlowVersionList:
        """Return the recorded versions, newest first."""
        data = self._read(flow_id)
        current = data.get("current")
        items = sorted(data["versions"], key=lambda e: e["version"], reverse=True)
        return FlowVersionList(
            flow_id,
            current if isinstance(current, int) else None,
            tuple(
                replace(self._version(flow_id, e, e["version"] == current), dsl=None)
                for e in items
            ),
            local=True,
        )

    def get(self, flow_id: str, version: int) -> FlowVersion | None:
        """Return one recorded version with its DSL."""
        data = self._read(flow_id)
        entry = next((e for e in data["versions"] if e["version"] == version), None)
        if entry is None:
            return None
        return self._version(flow_id, entry, entry["version"] == data.get("current"))

    @staticmethod
    def _version(flow_id: str, entry: Mapping[str, Any], current: bool) -> FlowVersion:
        return FlowVersion(
            flow_id=flow_id,
            version=entry["version"],
            content_hash=entry["content_hash"],
            first_seen=parse_timestamp(entry.get("first_seen")),
            current=current,
            dsl=entry.get("dsl"),
        )

    def _path(self, flow_id: str) -> Path:
        safe = re.sub(r"[^0-9A-Za-z_.-]+", "_", flow_id)
        return self._folder / f"{safe}-{text_hash(flow_id)[:8]}.json"

    def _read(self, flow_id: str) -> dict[str, Any]:
        path = self._path(flow_id)
        empty: dict[str, Any] = {"flow_id": flow_id, "current": None, "versions": []}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return empty
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            logger.warning("Starting a new local history for %s: %s", flow_id, exc)
            return empty
        if not isinstance(data, dict) or not isinstance(data.get("versions"), list):
            logger.warning(
                "Starting a new local history for %s: unknown file shape", flow_id
            )
            return empty
        return data

    def _write(self, flow_id: str, data: dict[str, Any]) -> None:
        path = self._path(flow_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".history-", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(data, file, indent=2, ensure_ascii=False)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
