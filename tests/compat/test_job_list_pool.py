"""Abandoned jobs-page requests must not use up the HTTP connection pool.

When the user changes the filter or scrolls fast, JobListController cancels
the page request in flight, and the store drops any page of an older query.
Each cancelled request must give its connection back to the pool, or after
about a hundred of them (httpx's default pool size) every request would wait
for a free connection until it fails with PoolTimeout.
"""

from __future__ import annotations

import time

import pytest
from compat_proxy import CuttingProxy
from compat_servers import ENTRY_ROUTINE, ENTRY_SLOT, FLOW_ID

from app.controllers import notify
from app.controllers.job_list import JobListController
from app.models.job_store import JobStore
from app.models.records import JobQuery
from app.services.api import ApiClient

pytestmark = pytest.mark.timeout(600)

FILTER_CHANGES = 200
POOL_TIMEOUT = 3.0  # seconds; ApiClient uses its timeout for the pool too
STATUSES = (None, "running", "completed", "failed")


def test_abandoned_pages_leave_pool_usable(server, run_async, qtbot):
    errors: list[notify.Message] = []

    def keep_errors(message: notify.Message) -> None:
        if message.level is notify.Level.ERROR:
            errors.append(message)

    notify.bridge().message_posted.connect(keep_errors)

    async def scenario():
        # Requests pass through a proxy, so the test can wait until each one
        # has left the client before it abandons it with the next change.
        proxy = CuttingProxy(server.port)
        url = await proxy.start()
        api = ApiClient(url, server.api_key, timeout=POOL_TIMEOUT)
        try:
            info = await api.server_info()
            for value in range(3):
                await api.submit_job(
                    FLOW_ID, ENTRY_ROUTINE, ENTRY_SLOT, {"value": value, "mode": "ok"}
                )
            store = JobStore(cursor_paging=info.supports("cursor"))
            controller = JobListController(api, store, page_size=100)
            try:
                for change in range(FILTER_CHANGES):
                    seen = proxy.client_chunks
                    status = STATUSES[change % len(STATUSES)]
                    controller.set_query(JobQuery(flow_id=FLOW_ID, status=status))
                    await proxy.wait_for_client_data(seen)

                started = time.monotonic()
                controller.set_query(JobQuery(flow_id=FLOW_ID))
                generation = store.generation
                await _wait_loaded(store, generation)
                final_page_seconds = time.monotonic() - started
                direct = await api.list_jobs(JobQuery(flow_id=FLOW_ID), limit=1)
                return store, final_page_seconds, direct, proxy.client_chunks
            finally:
                await controller.aclose()
        finally:
            await api.aclose()
            await proxy.close()

    try:
        store, seconds, direct, chunks = run_async(scenario(), 120_000)
    finally:
        notify.bridge().message_posted.disconnect(keep_errors)

    assert errors == [], [message.text for message in errors]
    assert chunks >= FILTER_CHANGES
    assert seconds < POOL_TIMEOUT
    assert len(store) >= 3
    assert store.total >= 3
    assert len(direct.jobs) == 1


async def _wait_loaded(store: JobStore, generation: int) -> None:
    """Wait until the page of ``generation`` has arrived or failed."""
    import asyncio

    done = asyncio.Event()

    def check(*_args: object) -> None:
        if store.generation == generation and not store.loading:
            done.set()

    store.loading_changed.connect(check)
    try:
        check()
        await asyncio.wait_for(done.wait(), POOL_TIMEOUT * 2)
    finally:
        store.loading_changed.disconnect(check)
