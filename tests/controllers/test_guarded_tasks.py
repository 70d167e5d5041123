"""Tests for GuardedTasks, which start no work once stopped or without a loop."""

from __future__ import annotations

from app.controllers.guarded_tasks import GuardedTasks


async def _answer() -> int:
    return 42


def test_runs_work_on_the_loop(run_async):
    """Work starts as a task while the loop runs."""
    tasks = GuardedTasks()

    async def spawn_and_wait():
        task = tasks.spawn(_answer, name="answer")
        return await task

    assert run_async(spawn_and_wait()) == 42


def test_stopped_tasks_start_nothing(run_async):
    """After stop, spawn neither creates the coroutine nor a task."""
    tasks = GuardedTasks()
    made = []
    tasks.stop()

    async def spawn():
        return tasks.spawn(lambda: made.append(1) or _answer(), name="late")

    assert run_async(spawn()) is None
    assert made == []
    assert tasks.stopped


def test_no_running_loop_starts_nothing(qapp):
    """Without a running loop, spawn drops the work instead of failing."""
    tasks = GuardedTasks()
    made = []

    assert tasks.spawn(lambda: made.append(1) or _answer(), name="orphan") is None
    assert made == []
