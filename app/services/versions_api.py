"""REST calls for flow versions: the history routes, a flow's DSL and a job's version.

Requests go through the ApiClient's shared client and request helper, so
errors arrive as the usual ``ApiError`` and ``ServerUnreachable``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from app.models.flow_versions import FlowVersion, FlowVersionList
from app.services.api import API_PREFIX, ApiClient

logger = logging.getLogger(__name__)


def _segment(value: str) -> str:
    return quote(value, safe="")


def _dsl_text(body: Any) -> str:
    if not isinstance(body, Mapping) or not isinstance(body.get("dsl"), str):
        raise ValueError("expected a JSON object with a 'dsl' string")
    return str(body["dsl"])


def _job_version(body: Any) -> int | None:
    if not isinstance(body, Mapping):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    version = body.get("flow_version")
    return (
        version if isinstance(version, int) and not isinstance(version, bool) else None
    )


class VersionsApi:
    """Flow-version calls over an existing ApiClient."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    @property
    def api(self) -> ApiClient:
        """The REST client the calls go through."""
        return self._api

    async def list_versions(self, flow_id: str) -> FlowVersionList:
        """Fetch a flow's versions, newest first."""
        body = await self._api._request(
            "GET", f"{API_PREFIX}/flows/{_segment(flow_id)}/versions"
        )
        return self._api._parse(FlowVersionList.from_json, body)

    async def get_version(self, flow_id: str, version: int) -> FlowVersion:
        """Fetch one version with its DSL as YAML."""
        body = await self._api._request(
            "GET",
            f"{API_PREFIX}/flows/{_segment(flow_id)}/versions/{version}",
            params={"format": "yaml"},
        )
        return self._api._parse(lambda data: FlowVersion.from_json(data, flow_id), body)

    async def get_dsl(self, flow_id: str) -> str:
        """Fetch the flow's DSL as YAML, as the server runs it now."""
        body = await self._api._request(
            "GET",
            f"{API_PREFIX}/flows/{_segment(flow_id)}/dsl",
            params={"format": "yaml"},
        )
        return self._api._parse(_dsl_text, body)

    async def job_flow_version(self, job_id: str) -> int | None:
        """Fetch the flow version a job ran on; None when the server does not say."""
        body = await self._api._request(
            "GET",
            f"{API_PREFIX}/jobs/{_segment(job_id)}",
            params={"fields": "job_id,flow_version"},
        )
        return self._api._parse(_job_version, body)
