"""Every distinct DSL each flow has had, numbered per flow, in the history database.

A flow's DSL is stored once per distinct content: the SHA-256 of its
canonical JSON form (sorted keys, no whitespace) identifies it, so editing
only comments or layout in a flow file adds no version. Versions are numbered
1, 2, 3... per flow in the order they were first seen. A flow whose file goes
back to an earlier content runs that earlier version again, with its old
number.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from embedded_server.store.database import Database
from embedded_server.store.records import iso

logger = logging.getLogger(__name__)


def canonical_json(dsl: Any) -> str:
    """Serialise a DSL with sorted keys and no whitespace; YAML dates become strings."""
    return json.dumps(
        dsl, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )


def content_hash(dsl: Any) -> str:
    """Return the hex SHA-256 of the DSL's canonical JSON form."""
    return hashlib.sha256(canonical_json(dsl).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FlowVersion:
    """One stored DSL of a flow.

    Attributes:
        first_seen: epoch seconds when the server first loaded this content.
        source: the file the content was loaded from.
        dsl: the DSL mapping, or None when only the summary was read.
    """

    flow_id: str
    version: int
    content_hash: str
    first_seen: float
    source: str | None
    dsl: dict[str, Any] | None = None

    def summary(self, current: int | None) -> dict[str, Any]:
        """Return the version as ``GET /flows/{flow_id}/versions`` lists it."""
        return {
            "version": self.version,
            "content_hash": self.content_hash,
            "first_seen": iso(self.first_seen),
            "source": self.source,
            "current": self.version == current,
        }


class FlowVersionStore:
    """The ``flow_versions`` table."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def record(
        self, flow_id: str, dsl: dict[str, Any], source: str | None
    ) -> FlowVersion:
        """Return the version of ``dsl``, storing it as a new version when unseen."""
        digest = content_hash(dsl)
        # Stored in the file's key order, which reads better than sorted keys.
        text = json.dumps(dsl, ensure_ascii=False, default=str)

        def work(connection: sqlite3.Connection) -> tuple[FlowVersion, bool]:
            row = connection.execute(
                "SELECT version, first_seen, source FROM flow_versions "
                "WHERE flow_id = ? AND content_hash = ?",
                (flow_id, digest),
            ).fetchone()
            if row is not None:
                return FlowVersion(flow_id, row[0], digest, row[1], row[2]), False
            number = connection.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM flow_versions "
                "WHERE flow_id = ?",
                (flow_id,),
            ).fetchone()[0]
            now = time.time()
            connection.execute(
                "INSERT INTO flow_versions "
                "(flow_id, version, content_hash, dsl, source, first_seen) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (flow_id, number, digest, text, source, now),
            )
            return FlowVersion(flow_id, number, digest, now, source), True

        version, added = self.db.write(work)
        if added:
            logger.info("Flow %s: stored version %d", flow_id, version.version)
        return version

    def list(self, flow_id: str) -> list[FlowVersion]:
        """Return the flow's versions, newest first, without their DSL."""
        rows = (
            self.db.reader()
            .execute(
                "SELECT version, content_hash, first_seen, source FROM flow_versions "
                "WHERE flow_id = ? ORDER BY version DESC",
                (flow_id,),
            )
            .fetchall()
        )
        return [FlowVersion(flow_id, *row) for row in rows]

    def get(self, flow_id: str, version: int) -> FlowVersion | None:
        """Return one version with its DSL, or None when the flow never had it."""
        row = (
            self.db.reader()
            .execute(
                "SELECT content_hash, first_seen, source, dsl FROM flow_versions "
                "WHERE flow_id = ? AND version = ?",
                (flow_id, version),
            )
            .fetchone()
        )
        if row is None:
            return None
        digest, first_seen, source, text = row
        return FlowVersion(
            flow_id, version, digest, first_seen, source, json.loads(text)
        )
