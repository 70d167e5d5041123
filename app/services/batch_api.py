"""REST calls for batch actions: the embedded server's batch route and per-job calls.

Like the debugger's client, it sends each request through the ApiClient's
shared ``httpx.AsyncClient`` and its request helper, so errors arrive as
the same ``ApiError`` and ``ServerUnreachable`` the rest of the app handles.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from app.models.batch import BatchAction, BatchResult
from app.models.records import JobDetail, JobQuery
from app.services.api import API_PREFIX, ApiClient, job_query_params

logger = logging.getLogger(__name__)

# The stock server's largest jobs page.
MAX_PAGE = 1000


class BatchApi:
    """Batch and single-job calls over an existing ApiClient."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    @property
    def api(self) -> ApiClient:
        """The REST client the calls go through."""
        return self._api

    async def batch(
        self,
        action: BatchAction,
        *,
        job_ids: list[str] | None = None,
        query: JobQuery | None = None,
    ) -> BatchResult:
        """Apply ``action`` (cancel or delete) on the server in one request.

        Give either ``job_ids`` or ``query``; the query's filter is sent as
        the batch ``filter``.
        """
        body: dict[str, Any] = {"action": action.value}
        if job_ids is not None:
            body["job_ids"] = job_ids
        else:
            body["filter"] = job_query_params(query or JobQuery())
        response = await self._api._request(
            "POST", f"{API_PREFIX}/jobs/batch", json_body=body
        )
        return self._api._parse(
            lambda data: BatchResult.from_json(action, data), response
        )

    async def list_job_ids(
        self, query: JobQuery, *, cursor_paging: bool, limit: int
    ) -> list[str]:
        """Return the ids of up to ``limit`` jobs matching ``query``, newest first."""
        ids: list[str] = []
        cursor: str | None = None
        while len(ids) < limit:
            size = min(MAX_PAGE, limit - len(ids))
            page = await self._api.list_jobs(
                query, limit=size, offset=len(ids), cursor=cursor
            )
            ids.extend(job.job_id for job in page.jobs)
            cursor = page.next_cursor if cursor_paging else None
            done = not page.jobs or (
                page.next_cursor is None
                if cursor_paging
                else page.offset + len(page.jobs) >= page.total
            )
            if done:
                break
        return list(dict.fromkeys(ids))[:limit]

    async def cancel_job(self, job_id: str) -> JobDetail:
        """Cancel one job."""
        return await self._api.cancel_job(job_id)

    async def delete_job(self, job_id: str) -> None:
        """Delete one job from the history (``DELETE /jobs/{job_id}``)."""
        await self._api._request(
            "DELETE", f"{API_PREFIX}/jobs/{quote(job_id, safe='')}"
        )

    async def get_job(self, job_id: str) -> JobDetail:
        """Fetch one job with its params."""
        return await self._api.get_job(job_id)

    async def submit_job(
        self, flow_id: str, routine_id: str, slot_name: str, params: dict[str, Any]
    ) -> JobDetail:
        """Start a job."""
        return await self._api.submit_job(flow_id, routine_id, slot_name, params)
