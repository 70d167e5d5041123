"""End to end on a real embedded server: templates, batch cancel and flow versions in the GUI."""

from __future__ import annotations

import gc
import shutil
import sys
from collections import Counter
from datetime import date

import httpx
import pytest

from app.controllers.flow_versions import FlowVersionsController
from app.controllers.session import Session
from app.models import ui_state
from app.models.batch import BatchAction
from app.models.flow_versions import LocalFlowHistory
from app.models.records import JobQuery
from app.models.templates import JobTemplate, TemplateLibrary
from app.services.api import ApiClient
from app.services.versions_api import VersionsApi
from app.views.batch.install import install_batch
from app.views.main_window import MainWindow
from app.views.templates.install import install_templates
from app.views.versions.install import install_versions
from embedded_server.settings import Settings
from tests.conftest import FIXTURES
from tests.serverutil import start_server
from tests.views.test_main_window import FakeStream

BATCH = FIXTURES / "batch"
API_KEY = "gui-test-key-0123456789"
FLOW_V1 = """\
flow_id: versioned_quick
description: first version
routines:
  quick: {class: batch_quick, config: {label: one}}
"""
FLOW_V2 = FLOW_V1.replace("label: one", "label: two").replace("first", "second")


class CountingTransport(httpx.AsyncBaseTransport):
    """Sends requests over the network and counts them by method and path."""

    def __init__(self):
        self._inner = httpx.AsyncHTTPTransport()
        self.counts: Counter[tuple[str, str]] = Counter()

    async def handle_async_request(self, request):
        self.counts[(request.method, request.url.path)] += 1
        return await self._inner.handle_async_request(request)

    async def aclose(self):
        await self._inner.aclose()


@pytest.fixture(autouse=True)
def collect_in_main_thread():
    """Collect garbage on the Qt thread once the test's objects are released.

    The server runs in threads of this process, and Python may collect a
    cycle on whichever thread allocates. A QObject with a running timer
    destroyed on a server thread leaves Qt a dangling timer, so each test
    ends with a collection here, on the Qt thread.
    """
    gc.collect()
    yield
    gc.collect()


@pytest.fixture
def server(tmp_path):
    flows = tmp_path / "flows"
    shutil.copytree(BATCH / "flows", flows)
    (flows / "versioned_quick.yaml").write_text(FLOW_V1, encoding="utf-8")
    settings = Settings(
        routines_dirs=[BATCH / "routines"],
        flows_dirs=[flows],
        db_path=tmp_path / "history.db",
        api_key=API_KEY,
        rate_limit_per_minute=0,
    )
    running = start_server(settings)
    release = next(
        module.RELEASE
        for name, module in list(sys.modules.items())
        if name.startswith("overseer_routines_batch_routines_")
    )
    release.clear()
    running.flows_dir = flows
    yield running
    release.set()
    running.stop()


@pytest.fixture
def transport():
    return CountingTransport()


@pytest.fixture
def session(server, transport, qloop, run_async):
    api = ApiClient(server.url, API_KEY, transport=transport)
    session = Session(api, FakeStream())
    yield session
    run_async(session.aclose(), timeout=10_000)


@pytest.fixture
def window(qtbot, tmp_path, session, run_async):
    window = MainWindow(ui_state.UiState(), state_path=tmp_path / "ui-state.json")
    qtbot.addWidget(window)
    window.show()
    window.attach_session(session, features=False)
    run_async(session.start(window.current_filters().to_query()), timeout=10_000)
    return window


@pytest.fixture
def templates(window, session, tmp_path, run_async):
    ui = install_templates(
        window, session=session, library=TemplateLibrary(tmp_path / "templates")
    )
    yield ui
    run_async(ui.aclose())


@pytest.fixture
def batch(window, session, run_async):
    ui = install_batch(
        window, session=session, confirm=lambda _t, _x, proceed: proceed()
    )
    yield ui
    run_async(ui.aclose())


@pytest.fixture
def versions(window, session, tmp_path, run_async):
    controller = FlowVersionsController(
        VersionsApi(session.api),
        history=LocalFlowHistory(tmp_path / "history"),
        current_ttl_s=0,
    )
    ui = install_versions(window, session=session, controller=controller)
    yield ui
    run_async(ui.aclose())


def test_template_with_today_starts_dated_job(templates, session, qtbot, run_async):
    """A template with ${today}, chosen from the menu, starts a job dated today."""
    templates.library.save(
        JobTemplate("Quick today", "batch_quick", "quick", "input", {"day": "${today}"})
    )

    [entry] = templates.template_entries()
    entry.trigger()
    qtbot.waitUntil(lambda: session.job_detail.job_id is not None, timeout=10_000)

    job = run_async(session.api.get_job(session.job_detail.job_id))
    assert job.params == {"day": date.today().isoformat()}


def test_batch_cancel_of_thousand_jobs_is_one_request(
    window, batch, session, server, transport, qtbot
):
    """Cancelling all 1,000 running jobs of a filter takes one request and reports exactly."""
    engine = server.state.engine
    for n in range(1000):
        engine.submit("batch_wait", "waiter", "input", {"n": n})
    session.set_query(JobQuery(flow_id="batch_wait", status="running"))
    qtbot.waitUntil(lambda: session.job_store.total == 1000, timeout=10_000)

    window.jobs_panel.select_all_matching()
    with qtbot.waitSignal(batch.runner.finished, timeout=60_000) as blocker:
        window.jobs_panel.batch_bar.action_buttons[BatchAction.CANCEL].click()

    result = blocker.args[0]
    assert (result.matched, result.succeeded, result.failed) == (1000, 1000, ())
    assert transport.counts[("POST", "/api/v1/jobs/batch")] == 1
    assert (
        window.jobs_panel.batch_bar.result_label.text()
        == "Cancelled 1,000 of 1,000 jobs"
    )
    assert engine.active_count() == 0


def test_edited_flow_versions_in_job_detail(
    window, versions, session, server, qtbot, run_async
):
    """After a flow file is edited, new jobs run on the new version and old jobs name theirs."""
    old = run_async(session.submit_job("versioned_quick", "quick", "input", {}))
    path = server.flows_dir / "versioned_quick.yaml"
    path.write_text(FLOW_V2, encoding="utf-8")
    catalog = server.state.catalog
    assert server.app.state.flow_watcher.wait_for(
        lambda: catalog.get("versioned_quick").version == 2, 10
    )
    new = run_async(session.submit_job("versioned_quick", "quick", "input", {}))

    panel = window.detail_panel
    session.job_detail.select_job(old.job_id)
    session.job_detail.refresh()
    qtbot.waitUntil(lambda: panel.field_text("flow_version") != "", timeout=10_000)
    assert panel.field_text("flow_version") == "v1 (current: v2)"
    assert panel.version_notice.isVisible()

    session.job_detail.select_job(new.job_id)
    session.job_detail.refresh()
    qtbot.waitUntil(lambda: panel.field_text("flow_version") != "", timeout=10_000)
    assert panel.field_text("flow_version") == "v2 (current)"
    assert not panel.version_notice.isVisible()
    assert run_async(session.api.get_job(new.job_id)).flow_id == "versioned_quick"
