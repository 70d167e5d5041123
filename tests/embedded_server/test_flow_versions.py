"""Flow version history on a real server whose flows folder is edited during the test."""

from __future__ import annotations

import shutil
import sqlite3
import sys

import httpx
import pytest

from embedded_server.store.database import Database
from tests.conftest import FIXTURES

BATCH = FIXTURES / "batch"
RELOAD_TIMEOUT_S = 10

FLOW_V1 = """\
flow_id: versioned
description: first version
routines:
  waiter: {class: batch_waiter, config: {label: one}}
"""
FLOW_V2 = FLOW_V1.replace("label: one", "label: two").replace("first", "second")


@pytest.fixture
def flows_dir(tmp_path):
    folder = tmp_path / "flows"
    shutil.copytree(BATCH / "flows", folder)
    (folder / "versioned.yaml").write_text(FLOW_V1, encoding="utf-8")
    return folder


@pytest.fixture
def server(make_server, flows_dir):
    server = make_server(routines_dirs=[BATCH / "routines"], flows_dirs=[flows_dir])
    release = next(
        module.RELEASE
        for name, module in list(sys.modules.items())
        if name.startswith("overseer_routines_batch_routines_")
    )
    release.clear()
    server.release = release
    yield server
    release.set()


@pytest.fixture
def http(server):
    with httpx.Client(
        base_url=server.url, headers=server.headers, timeout=30
    ) as client:
        yield client


def _edit(server, path, text, predicate):
    """Write ``text`` to ``path`` and wait until the server's reload satisfies ``predicate``."""
    path.write_text(text, encoding="utf-8")
    watcher = server.app.state.flow_watcher
    assert watcher.wait_for(predicate, RELOAD_TIMEOUT_S), "the flow was not reloaded"


def _current_version(server, flow_id="versioned"):
    flow = server.state.catalog.get(flow_id)
    return flow.version if flow is not None else None


def _submit(http) -> str:
    body = {"flow_id": "versioned", "routine_id": "waiter", "slot_name": "input"}
    response = http.post("/api/v1/jobs", json=body)
    assert response.status_code == 201
    return response.json()["job_id"]


def test_loaded_flow_has_first_version(http):
    """A flow loaded at start-up is version 1, listed as current, with its DSL."""
    listing = http.get("/api/v1/flows/versioned/versions").json()
    version = http.get("/api/v1/flows/versioned/versions/1").json()

    assert listing["current_version"] == 1
    assert listing["total"] == 1
    assert listing["versions"][0]["version"] == 1
    assert listing["versions"][0]["current"] is True
    assert len(listing["versions"][0]["content_hash"]) == 64
    assert listing["versions"][0]["first_seen"].endswith("Z")
    assert version["format"] == "yaml"
    assert "label: one" in version["dsl"]
    assert http.get("/api/v1/flows/versioned").json()["version"] == 1


def test_edited_flow_adds_version_newest_first(server, http, flows_dir):
    """Editing the file stores a second version; the list is newest first."""
    _edit(
        server,
        flows_dir / "versioned.yaml",
        FLOW_V2,
        lambda: _current_version(server) == 2,
    )

    listing = http.get("/api/v1/flows/versioned/versions").json()
    assert [item["version"] for item in listing["versions"]] == [2, 1]
    assert [item["current"] for item in listing["versions"]] == [True, False]
    old = http.get("/api/v1/flows/versioned/versions/1", params={"format": "json"})
    assert '"label": "one"' in old.json()["dsl"]
    assert old.json()["current"] is False


def test_running_job_finishes_on_its_version(server, http, flows_dir):
    """A job started before an edit runs the old DSL; a later job runs the new one."""
    old_job = _submit(http)
    _edit(
        server,
        flows_dir / "versioned.yaml",
        FLOW_V2,
        lambda: _current_version(server) == 2,
    )
    new_job = _submit(http)
    server.release.set()

    for job_id in (old_job, new_job):
        waited = http.post(f"/api/v1/jobs/{job_id}/wait", params={"timeout": 10})
        assert waited.json()["final_status"] == "completed"
    old_detail = http.get(f"/api/v1/jobs/{old_job}").json()
    new_detail = http.get(f"/api/v1/jobs/{new_job}").json()
    assert old_detail["flow_version"] == 1
    assert old_detail["data"] == {"label": "one"}
    assert new_detail["flow_version"] == 2
    assert new_detail["data"] == {"label": "two"}
    rows = http.get("/api/v1/jobs", params={"flow_id": "versioned"}).json()["jobs"]
    assert {row["job_id"]: row["flow_version"] for row in rows} == {
        old_job: 1,
        new_job: 2,
    }


def test_broken_file_keeps_last_good_version(server, http, flows_dir):
    """A file that stops parsing is a load error, and its flow keeps running version 1."""
    path = flows_dir / "versioned.yaml"
    _edit(
        server,
        path,
        "flow_id: versioned\nroutines: [unclosed\n",
        lambda: any(e.path == str(path) for e in server.state.catalog.load_errors),
    )

    errors = http.get("/api/v1/flows").json()["load_errors"]
    [error] = [item for item in errors if item["path"] == str(path)]
    assert error["flow_id"] == "versioned"
    assert error["version"] == 1
    assert "invalid YAML" in error["error"]
    assert "keeps running version 1" in error["error"]
    assert http.get("/api/v1/flows/versioned").json()["version"] == 1
    job_id = _submit(http)
    assert http.get(f"/api/v1/jobs/{job_id}").json()["flow_version"] == 1

    _edit(server, path, FLOW_V2, lambda: _current_version(server) == 2)
    assert http.get("/api/v1/load-errors").json()["load_errors"] == []


def test_comment_edit_adds_no_version(server, http, flows_dir):
    """The same DSL with other comments and layout is the same version."""
    watcher = server.app.state.flow_watcher
    path = flows_dir / "versioned.yaml"
    _edit(
        server,
        path,
        "# a comment\n" + FLOW_V1,
        lambda: watcher.last_results.get(str(path)) == "unchanged",
    )

    listing = http.get("/api/v1/flows/versioned/versions").json()
    assert listing["total"] == 1
    assert _current_version(server) == 1


def test_reverted_file_runs_earlier_version(server, http, flows_dir):
    """Going back to an earlier content makes that version current again."""
    path = flows_dir / "versioned.yaml"
    _edit(server, path, FLOW_V2, lambda: _current_version(server) == 2)
    _edit(server, path, FLOW_V1, lambda: _current_version(server) == 1)

    listing = http.get("/api/v1/flows/versioned/versions").json()
    assert listing["current_version"] == 1
    assert [item["current"] for item in listing["versions"]] == [False, True]


def test_removed_file_unregisters_flow_but_keeps_history(server, http, flows_dir):
    """Deleting the file removes the flow; its versions stay readable."""
    path = flows_dir / "versioned.yaml"
    path.unlink()
    watcher = server.app.state.flow_watcher
    assert watcher.wait_for(lambda: _current_version(server) is None, RELOAD_TIMEOUT_S)

    assert http.get("/api/v1/flows/versioned").status_code == 404
    listing = http.get("/api/v1/flows/versioned/versions").json()
    assert listing["current_version"] is None
    assert listing["versions"][0]["current"] is False


def test_new_file_loads_as_new_flow(server, http, flows_dir):
    """A flow file created while the server runs is loaded as version 1."""
    text = FLOW_V1.replace("versioned", "added")
    _edit(
        server,
        flows_dir / "added.yaml",
        text,
        lambda: _current_version(server, "added") == 1,
    )

    assert http.get("/api/v1/flows/added/versions").json()["total"] == 1


def test_unknown_flow_or_version_is_404(http):
    """Unknown flows and versions get 404 with a specific code."""
    flow = http.get("/api/v1/flows/nope/versions")
    version = http.get("/api/v1/flows/versioned/versions/9")
    other = http.get("/api/v1/flows/nope/versions/1")

    assert flow.status_code == 404
    assert flow.json()["code"] == "FLOW_NOT_FOUND"
    assert version.status_code == 404
    assert version.json()["code"] == "VERSION_NOT_FOUND"
    assert other.json()["code"] == "FLOW_NOT_FOUND"


@pytest.mark.parametrize("version", ["0", "abc", "-1"])
def test_bad_version_number_is_422(http, version):
    """A version that is not a positive integer is a validation error."""
    response = http.get(f"/api/v1/flows/versioned/versions/{version}")

    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_bad_format_is_422(http):
    """Only yaml and json are formats."""
    response = http.get("/api/v1/flows/versioned/versions/1", params={"format": "xml"})

    assert response.status_code == 422


OLD_JOBS_TABLE = """
CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY, flow_id TEXT NOT NULL, worker_id TEXT NOT NULL,
    routine_id TEXT NOT NULL, slot_name TEXT NOT NULL, status TEXT NOT NULL,
    created_at REAL NOT NULL, started_at REAL, completed_at REAL, error TEXT,
    traceback TEXT, failed_routine TEXT, params TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}', metadata TEXT NOT NULL DEFAULT '{}',
    output TEXT NOT NULL DEFAULT '', output_truncated INTEGER NOT NULL DEFAULT 0
);
INSERT INTO jobs (job_id, flow_id, worker_id, routine_id, slot_name, status,
                  created_at, params)
VALUES ('old-job', 'versioned', 'w', 'waiter', 'input', 'completed', 1, '{}');
"""


def test_old_history_file_gains_flow_version_column(make_server, flows_dir, tmp_path):
    """A history file from before flow versions opens, and its jobs have no version."""
    db_path = tmp_path / "old.db"
    connection = sqlite3.connect(db_path)
    connection.executescript(OLD_JOBS_TABLE)
    connection.close()

    server = make_server(
        routines_dirs=[BATCH / "routines"], flows_dirs=[flows_dir], db_path=db_path
    )
    with httpx.Client(base_url=server.url, headers=server.headers) as http:
        detail = http.get("/api/v1/jobs/old-job").json()
        rows = http.get("/api/v1/jobs").json()["jobs"]

    assert detail["flow_version"] is None
    assert rows[0]["flow_version"] is None


def test_migration_runs_once(tmp_path):
    """Opening a migrated file again leaves the schema as it is."""
    path = tmp_path / "old.db"
    connection = sqlite3.connect(path)
    connection.executescript(OLD_JOBS_TABLE)
    connection.close()

    Database(path).close()
    database = Database(path)
    columns = [row[1] for row in database.reader().execute("PRAGMA table_info(jobs)")]
    version = database.reader().execute("PRAGMA user_version").fetchone()[0]
    database.close()

    assert columns.count("flow_version") == 1
    assert version == 2
