"""The in-memory fake server with flow version routes.

``VersionsFakeServer`` serves ``GET /flows/{flow_id}/versions[/{n}]`` and
``GET /flows/{flow_id}/dsl`` from ``dsl_versions`` (flow id to the list of
its YAML texts, oldest first; the last is current). ``stock=True`` drops the
versions routes and the capabilities, like a stock Routilux server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.fake_api import START, FakeServer, _error, iso


@dataclass
class VersionsFakeServer(FakeServer):
    """FakeServer with version history routes."""

    stock: bool = False
    dsl_versions: dict[str, list[str]] = field(default_factory=dict)
    version_requests: list[str] = field(default_factory=list)

    def _discovery(self) -> dict[str, Any]:
        body = super()._discovery()
        if self.stock:
            body.pop("capabilities")
        return body

    async def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        parts = [part for part in path.split("/") if part]
        if len(parts) >= 3 and parts[0] == "flows" and request.method == "GET":
            texts = self.dsl_versions.get(parts[1])
            if texts is None:
                return _error(404, "FLOW_NOT_FOUND", f"Flow '{parts[1]}' not found")
            if parts[2] == "dsl":
                return httpx.Response(200, json={"format": "yaml", "dsl": texts[-1]})
            if parts[2] == "versions" and not self.stock:
                self.version_requests.append(path)
                return self._versions(parts[1], texts, parts[3:])
        if len(parts) == 2 and parts[0] == "jobs" and self.stock:
            job = self.jobs.get(parts[1])
            if job is not None:
                # A stock server sends no flow_version and ignores ``fields``.
                return httpx.Response(
                    200, json={k: v for k, v in job.items() if k != "flow_version"}
                )
        return await super().handle(request)

    @staticmethod
    def _versions(flow_id: str, texts: list[str], rest: list[str]) -> httpx.Response:
        current = len(texts)

        def summary(number: int) -> dict[str, Any]:
            return {
                "version": number,
                "content_hash": f"{number:064d}",
                "first_seen": iso(START),
                "source": f"/flows/{flow_id}.yaml",
                "current": number == current,
            }

        if not rest:
            numbers = range(current, 0, -1)
            return httpx.Response(
                200,
                json={
                    "flow_id": flow_id,
                    "current_version": current,
                    "versions": [summary(n) for n in numbers],
                    "total": current,
                },
            )
        number = int(rest[0])
        if not 1 <= number <= current:
            return _error(404, "VERSION_NOT_FOUND", f"No version {number}")
        body = {"flow_id": flow_id, **summary(number), "format": "yaml"}
        return httpx.Response(200, json={**body, "dsl": texts[number - 1]})
