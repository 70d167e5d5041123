"""Async calls for the flow views: trace pages with their total, and dry runs.

Like the debugger's client, it sends each request through the ApiClient's
shared ``httpx.AsyncClient`` and its request helper, so errors arrive as the
same ``ApiError`` and ``ServerUnreachable`` the rest of the app handles.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from app.models.dry_run import DryRunRequest, DryRunResult
from app.models.records import TraceEntry
from app.services.api import API_PREFIX, ApiClient, ServerUnreachable

logger = logging.getLogger(__name__)

# The embedded server's largest trace page.
MAX_TRACE_PAGE = 100_000
# Seconds a dry run may take on the server beyond its own timeout: the
# analysis reads up to 200,000 trace rows of history for the estimate.
DRY_RUN_MARGIN_S = 30.0


def _segment(value: str) -> str:
    """Percent-encode one path segment, slashes included."""
    return quote(value, safe="")


def _trace_page(body: Any) -> tuple[list[TraceEntry], int | None]:
    if not isinstance(body, Mapping):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    raw = body.get("trace_log")
    entries = [TraceEntry.from_json(item) for item in raw or []]
    total = body.get("total_entries")
    return entries, total if isinstance(total, int) and not isinstance(
        total, bool
    ) else None


class FlowApi:
    """Trace paging and dry runs over an existing ApiClient.

    Each method raises ``ApiError`` for an error status and
    ``ServerUnreachable`` when the server does not respond.
    """

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    @property
    def api(self) -> ApiClient:
        """The REST client the calls go through."""
        return self._api

    async def trace_page(
        self, job_id: str, *, offset: int = 0, limit: int = 5000
    ) -> tuple[list[TraceEntry], int | None]:
        """Fetch trace entries from ``offset`` on, and the trace's total length.

        A server that ignores ``offset`` (the stock Routilux server sends the
        whole trace) is detected by a page that contains all entries, and
        the entries before ``offset`` are dropped here.
        """
        params = {"offset": str(offset), "limit": str(min(limit, MAX_TRACE_PAGE))}
        path = f"{API_PREFIX}/jobs/{_segment(job_id)}/trace"
        # NOTE: ApiClient has no public generic request method; its private
        # helper gives these calls the same retries and error mapping.
        body = await self._api._request("GET", path, params=params)
        entries, total = self._api._parse(_trace_page, body)
        # A server that honours offset returns at most total - offset entries.
        if offset and total and len(entries) == total:
            entries = entries[offset:]
        return entries, total

    async def dry_run(self, flow_id: str, request: DryRunRequest) -> DryRunResult:
        """Check a flow from an entry routine, or run it for real when asked.

        Raises:
            ApiError: 404 for an unknown flow, routine or slot, 422 for a
                body the server rejects, 429 when too many dry runs execute.
            ServerUnreachable: the server did not respond.
        """
        path = f"{API_PREFIX}/flows/{_segment(flow_id)}/dry-run"
        wait = (request.timeout if request.execute else 0.0) + DRY_RUN_MARGIN_S
        body = await self._post_with_timeout(path, request.to_json(), wait)
        result: DryRunResult = self._api._parse(DryRunResult.from_json, body)
        logger.info(
            "Dry run %s of %s from %s: %s",
            result.dry_run_id,
            flow_id,
            request.entry_routine_id,
            result.status,
        )
        return result

    async def _post_with_timeout(
        self, path: str, payload: Any, read_timeout: float
    ) -> Any:
        """POST with a read timeout of its own, longer than the client's default.

        An executed dry run responds only when the run has ended, which may
        take up to its 300 s timeout.
        """
        # NOTE: ApiClient's request helper has no per-request timeout, so this
        # sends through its shared client and reuses its response decoding.
        client: httpx.AsyncClient = self._api._client
        try:
            response = await client.post(
                path, json=payload, timeout=httpx.Timeout(10.0, read=read_timeout)
            )
        except httpx.TimeoutException as exc:
            logger.warning("POST %s: no response within %.0f s", path, read_timeout)
            raise ServerUnreachable(
                f"Couldn't reach {self._api.base_url}: no response within {read_timeout:.0f} s"
            ) from exc
        except httpx.TransportError as exc:
            raise self._api._unreachable("POST", path, exc) from exc
        return self._api._decode(response)
