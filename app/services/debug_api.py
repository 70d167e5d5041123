"""Async client for the debugger routes: breakpoints, stepping, variables, evaluate.

It sends every request through the ApiClient's shared ``httpx.AsyncClient``
and its request helper, so errors arrive as the same ``ApiError`` and
``ServerUnreachable`` that the rest of the app handles. The routes are
described in docs/debugging.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from app.models.debug_records import (
    BreakpointInfo,
    BreakpointSpec,
    EvalResult,
    Frame,
    PausePoint,
    Variable,
)
from app.models.records import JobDetail
from app.services.api import API_PREFIX, ApiClient

logger = logging.getLogger(__name__)


def _segment(value: str) -> str:
    """Percent-encode one path segment, slashes included."""
    return quote(value, safe="")


def _breakpoint_list(body: Any) -> list[BreakpointInfo]:
    if not isinstance(body, Mapping):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    return [BreakpointInfo.from_json(raw) for raw in body.get("breakpoints") or []]


def _frames(body: Any) -> list[Frame]:
    if not isinstance(body, Mapping):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    return [Frame.from_json(raw) for raw in body.get("frames") or []]


def _variables(body: Any) -> list[Variable]:
    if not isinstance(body, Mapping):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    return [Variable.from_json(raw) for raw in body.get("variables") or []]


class DebugApi:
    """The debugger's REST calls, over an existing ApiClient.

    Every method raises ``ApiError`` for an error status (409
    ``JOB_NOT_PAUSED`` or ``JOB_NOT_RUNNING`` when the job is not in the
    state the call needs, 422 ``INVALID_EXPRESSION`` with ``details.column``
    for a condition that does not parse) and ``ServerUnreachable`` when the
    server does not answer.
    """

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    @property
    def api(self) -> ApiClient:
        """The REST client the calls go through."""
        return self._api

    # -- breakpoints ------------------------------------------------------

    async def list_flow_breakpoints(self, flow_id: str) -> list[BreakpointInfo]:
        """Fetch the breakpoints that apply to every job of ``flow_id``."""
        body = await self._call("GET", self._flow_path(flow_id))
        return self._parse(_breakpoint_list, body)

    async def create_flow_breakpoint(
        self, flow_id: str, spec: BreakpointSpec
    ) -> BreakpointInfo:
        """Add a breakpoint to every job of ``flow_id``, including later ones."""
        body = await self._call("POST", self._flow_path(flow_id), spec.to_json())
        return self._parse(BreakpointInfo.from_json, body)

    async def update_flow_breakpoint(
        self, flow_id: str, breakpoint_id: str, **changes: Any
    ) -> BreakpointInfo:
        """Change a flow breakpoint's ``condition``, ``hit_condition``,
        ``log_message`` or ``enabled``; fields not given stay as they are."""
        path = f"{self._flow_path(flow_id)}/{_segment(breakpoint_id)}"
        body = await self._call("PATCH", path, _patch_body(changes))
        return self._parse(BreakpointInfo.from_json, body)

    async def delete_flow_breakpoint(self, flow_id: str, breakpoint_id: str) -> None:
        """Remove a flow breakpoint."""
        await self._call(
            "DELETE", f"{self._flow_path(flow_id)}/{_segment(breakpoint_id)}"
        )

    async def list_job_breakpoints(self, job_id: str) -> list[BreakpointInfo]:
        """Fetch the breakpoints that belong to one job."""
        body = await self._call("GET", self._job_path(job_id, "breakpoints"))
        return self._parse(_breakpoint_list, body)

    async def create_job_breakpoint(
        self, job_id: str, spec: BreakpointSpec
    ) -> BreakpointInfo:
        """Add a breakpoint to one job."""
        path = self._job_path(job_id, "breakpoints")
        body = await self._call("POST", path, spec.to_json())
        return self._parse(BreakpointInfo.from_json, body)

    async def update_job_breakpoint(
        self, job_id: str, breakpoint_id: str, **changes: Any
    ) -> BreakpointInfo:
        """Change a job breakpoint; the fields are those of update_flow_breakpoint."""
        path = self._job_path(job_id, f"breakpoints/{_segment(breakpoint_id)}")
        body = await self._call("PATCH", path, _patch_body(changes))
        return self._parse(BreakpointInfo.from_json, body)

    async def delete_job_breakpoint(self, job_id: str, breakpoint_id: str) -> None:
        """Remove a job breakpoint."""
        path = self._job_path(job_id, f"breakpoints/{_segment(breakpoint_id)}")
        await self._call("DELETE", path)

    async def update_breakpoint(
        self, item: BreakpointInfo, **changes: Any
    ) -> BreakpointInfo:
        """Change ``item`` through the route of its scope (flow or job)."""
        if item.job_id:
            return await self.update_job_breakpoint(
                item.job_id, item.breakpoint_id, **changes
            )
        return await self.update_flow_breakpoint(
            item.flow_id, item.breakpoint_id, **changes
        )

    async def delete_breakpoint(self, item: BreakpointInfo) -> None:
        """Remove ``item`` through the route of its scope (flow or job)."""
        if item.job_id:
            await self.delete_job_breakpoint(item.job_id, item.breakpoint_id)
        else:
            await self.delete_flow_breakpoint(item.flow_id, item.breakpoint_id)

    # -- session and stepping --------------------------------------------

    async def session(self, job_id: str) -> PausePoint:
        """Fetch whether the job is paused, where and why."""
        return await self._session_call("GET", job_id, "session")

    async def resume(self, job_id: str) -> PausePoint:
        """Continue a paused job until the next breakpoint."""
        return await self._session_call("POST", job_id, "resume")

    async def step_over(self, job_id: str) -> PausePoint:
        """Run to the next pause point no deeper than the current one."""
        return await self._session_call("POST", job_id, "step-over")

    async def step_into(self, job_id: str) -> PausePoint:
        """Run to the very next pause point."""
        return await self._session_call("POST", job_id, "step-into")

    async def step_out(self, job_id: str) -> PausePoint:
        """Finish the current routine's work, then pause."""
        return await self._session_call("POST", job_id, "step-out")

    async def pause(self, job_id: str) -> PausePoint:
        """Ask a running job to stop at its next pause point."""
        return await self._session_call("POST", job_id, "pause")

    async def cancel_job(self, job_id: str) -> JobDetail:
        """Cancel the job, paused or running."""
        return await self._api.cancel_job(job_id)

    # -- inspection ---------------------------------------------------------

    async def call_stack(self, job_id: str) -> list[Frame]:
        """Fetch the causal chain of the data at the pause, newest first."""
        body = await self._call("GET", self._job_path(job_id, "debug/call-stack"))
        return self._parse(_frames, body)

    async def variables(self, job_id: str, frame_index: int = 0) -> list[Variable]:
        """Fetch the names an expression sees in frame ``frame_index``."""
        path = self._job_path(job_id, "debug/variables")
        body = await self._api._request(
            "GET", path, params={"frame_index": str(frame_index)}
        )
        return self._parse(_variables, body)

    async def set_variable(self, job_id: str, name: str, value: Any) -> Variable:
        """Replace the data in flight named ``name`` with the JSON ``value``."""
        path = self._job_path(job_id, f"debug/variables/{_segment(name)}")
        body = await self._call("PUT", path, {"value": value})
        variable = self._parse(Variable.from_json, body)
        return Variable(variable.name, variable.type, variable.preview, editable=True)

    async def evaluate(
        self,
        job_id: str,
        expression: str,
        frame_index: int = 0,
        *,
        time_limit: float | None = None,
    ) -> EvalResult:
        """Evaluate ``expression`` in a frame of the paused job.

        A mistake in the expression comes back as ``EvalResult.error``; only
        a request the server refuses (evaluate turned off, the job not
        paused, too many evaluations) raises ApiError. ``time_limit`` is the
        server's limit for the evaluation in seconds (at most 5).
        """
        payload: dict[str, Any] = {"expression": expression, "frame_index": frame_index}
        if time_limit is not None:
            payload["timeout"] = time_limit
        body = await self._call(
            "POST", self._job_path(job_id, "debug/evaluate"), payload
        )
        return self._parse(EvalResult.from_json, body)

    # -- helpers --------------------------------------------------------------

    @staticmethod
    def _flow_path(flow_id: str) -> str:
        return f"{API_PREFIX}/flows/{_segment(flow_id)}/breakpoints"

    @staticmethod
    def _job_path(job_id: str, rest: str) -> str:
        return f"{API_PREFIX}/jobs/{_segment(job_id)}/{rest}"

    async def _session_call(self, method: str, job_id: str, route: str) -> PausePoint:
        body = await self._call(method, self._job_path(job_id, f"debug/{route}"))
        return self._parse(PausePoint.from_json, body)

    async def _call(self, method: str, path: str, json_body: Any = None) -> Any:
        # NOTE: ApiClient has no public generic request method; its private
        # helper gives these calls the same retries and error mapping.
        return await self._api._request(method, path, json_body=json_body)

    def _parse(self, parser: Any, body: Any) -> Any:
        return self._api._parse(parser, body)


def _patch_body(changes: Mapping[str, Any]) -> dict[str, Any]:
    allowed = {"condition", "hit_condition", "log_message", "enabled"}
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"unknown breakpoint fields: {', '.join(sorted(unknown))}")
    return dict(changes)
