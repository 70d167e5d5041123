"""Hostile expressions fail with clear errors as evaluate and as breakpoint conditions.

Every expression here tries to leave the sandbox or to stall the server. Each
must be rejected when a breakpoint is created (422 with a column) or fail when
evaluated, with no side effect and no pause.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.embedded_server.test_debugger import add_breakpoint, wait_paused
from tests.embedded_server.test_jobs_api import submit, wait_done

MARKER = "/tmp/overseer-sandbox-escape-marker"

HOSTILE = [
    # Dunder names and attributes, the subclasses walk.
    "[().__class__.__base__.__subclasses__][0]()",
    "().__class__.__base__.__subclasses__()",
    "value.__class__",
    "__import__('os').system('touch " + MARKER + "')",
    "__builtins__",
    "data.__class__.__mro__[1].__subclasses__()",
    "(1).__class__.__bases__[0].__subclasses__()",
    "getattr(value, '_' + '_class__')",
    "type(value)",
    "vars()",
    "globals()",
    "locals()",
    "dir()",
    "eval('1')",
    "exec('x = 1')",
    "compile('1', 's', 'eval')",
    "open('" + MARKER + "', 'w')",
    "breakpoint()",
    "help()",
    # Format-string traversal.
    "'{0.__class__.__mro__}'.format(value)",
    "'{x.__class__}'.format_map(data)",
    "'{0.__class__}'.format(data)",
    "str.format('{0.__globals__}', len)",
    # Calls written through other expressions.
    "[len, open][1]('" + MARKER + "', 'w')",
    "(open if True else len)('" + MARKER + "', 'w')",
    "(False or open)('" + MARKER + "', 'w')",
    "[f for f in [open]][0]('" + MARKER + "', 'w')",
    "{'f': open}['f']('" + MARKER + "', 'w')",
    # Lambdas, assignments, walrus, generators and frames.
    "(lambda: 0)()",
    "(y := 5)",
    "(x for x in []).gi_frame",
    "(x for x in []).gi_code",
    "[x for x in data].__class__",
    "len.__self__",
    "len.__call__",
    "data.get.__self__",
    # Imports through attributes of plain data.
    "data.get('__builtins__')['__import__']('os')",
    "job['data'].__init__.__globals__",
    # Cost: big numbers, shifts, repetition, deep nesting.
    "9**9**9",
    "1 << 10**9",
    "'a' * 10**10",
    "[0] * 10**9",
    "'x' * 10**6 * 10**6",
    "sum([1] * 10**8)",
    "str(10**100000)",
    "int('9' * 100000)",
    "[" * 5000 + "1" + "]" * 5000,
    "-" * 100000 + "1",
    "()" * 10**6,
    "max([[i for i in [1]*1000] for j in [1]*100000])",
]


@pytest.fixture
def debug_server(make_server):
    return make_server(allow_evaluate=True)


@pytest.fixture
def http(debug_server):
    with httpx.Client(base_url=debug_server.url, headers=debug_server.headers,
                      timeout=30) as client:
        yield client


def test_corpus_covers_forty_cases():
    assert len(HOSTILE) >= 40


@pytest.mark.parametrize("expression", HOSTILE, ids=lambda text: text[:40])
def test_hostile_evaluate_fails_cleanly(debug_server, http, expression):
    add_breakpoint(http, routine_id="sink", slot_name="input")
    job_id = submit(http, {"value": 1})["job_id"]
    wait_paused(debug_server, job_id)

    response = http.post(f"/api/v1/jobs/{job_id}/debug/evaluate",
                         json={"expression": expression[:2000], "timeout": 0.5})

    assert response.status_code in (200, 422), response.text
    body = response.json()
    if response.status_code == 200:
        assert body["result"] is None, body
        assert body["error"], body
    import os

    assert not os.path.exists(MARKER)


@pytest.mark.parametrize("expression", HOSTILE, ids=lambda text: text[:40])
def test_hostile_condition_rejected_or_never_pauses(debug_server, http, expression):
    created = http.post("/api/v1/flows/pipeline/breakpoints",
                        json={"routine_id": "middle", "slot_name": "input",
                              "condition": expression[:2000]})

    if created.status_code == 422:
        assert created.json()["error"]["details"]["column"] >= 1
        return
    assert created.status_code == 201, created.text
    job = wait_done(http, submit(http, {"value": 1})["job_id"])
    stored = http.get("/api/v1/flows/pipeline/breakpoints").json()["breakpoints"][0]

    assert job["status"] == "completed"
    assert stored["hit_count"] == 0
    assert stored["error_count"] == 1
    assert stored["last_error"]
    import os

    assert not os.path.exists(MARKER)


@pytest.mark.parametrize(
    "expression",
    ["10**5000", "float('nan')", "[data] * 3", "'\u05e9\U0001f680' * 100", "list(range(10))"],
)
def test_strange_results_get_readable_previews(debug_server, http, expression):
    add_breakpoint(http, routine_id="sink", slot_name="input")
    job_id = submit(http, {"value": 1})["job_id"]
    wait_paused(debug_server, job_id)

    response = http.post(f"/api/v1/jobs/{job_id}/debug/evaluate",
                         json={"expression": expression})

    assert response.status_code == 200
    body = response.json()
    if body["error"] is None:
        assert isinstance(body["result"]["repr"], str)
        assert len(body["result"]["repr"]) <= 2000
    else:
        assert ":" in body["error"]


def test_health_answers_while_evaluations_run(debug_server, http):
    add_breakpoint(http, routine_id="sink", slot_name="input")
    job_id = submit(http, {"value": 1})["job_id"]
    wait_paused(debug_server, job_id)
    heavy = "max([[i for i in [1]*1000] for j in [1]*100000])"
    started = threading.Event()

    def evaluate_loop():
        with httpx.Client(base_url=debug_server.url, headers=debug_server.headers,
                          timeout=30) as other:
            started.set()
            for _ in range(3):
                other.post(f"/api/v1/jobs/{job_id}/debug/evaluate",
                           json={"expression": heavy, "timeout": 2.0})

    worker = threading.Thread(target=evaluate_loop)
    worker.start()
    started.wait(5)
    latencies = []
    while worker.is_alive() and len(latencies) < 200:
        begin = time.perf_counter()
        assert http.get("/api/v1/health/live").status_code == 200
        latencies.append(time.perf_counter() - begin)
    worker.join(30)

    # NOTE: the 95th percentile carries the 100 ms target; single outliers
    # come from the operating system scheduling other processes on a busy
    # two-core machine, so the maximum only has to stay far from a stall.
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95) - 1] if len(ordered) >= 20 else ordered[-1]
    assert len(latencies) >= 20, f"only {len(latencies)} health requests ran"
    assert p95 < 0.1, f"95% of health answers took up to {p95 * 1000:.0f} ms"
    assert ordered[-1] < 0.3, f"slowest health answer took {ordered[-1] * 1000:.0f} ms"
