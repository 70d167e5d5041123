"""Starting jobs from templates: fill in the placeholders, then submit."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from app.models import placeholders
from app.models.records import FlowInfo, JobDetail
from app.models.templates import JobTemplate, template_problem

logger = logging.getLogger(__name__)

SubmitFunction = Callable[[str, str, str, dict[str, Any]], Awaitable[JobDetail]]


def why_not_direct(
    template: JobTemplate, flows: Mapping[str, FlowInfo] | Sequence[FlowInfo]
) -> str | None:
    """Return why ``template`` needs the new-job dialog before it starts, or None.

    It does when its start point is missing on the server, when its params
    have a placeholder error, or when it has ``${ask:NAME}`` placeholders.
    """
    problem = template_problem(template, flows)
    if problem is not None:
        return problem
    try:
        asks = placeholders.ask_names(template.params)
    except placeholders.PlaceholderError as exc:
        return str(exc)
    if asks:
        return f"it asks for {', '.join(asks)}"
    return None


async def start_from_template(
    template: JobTemplate,
    submit: SubmitFunction,
    *,
    answers: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = placeholders.local_now,
) -> JobDetail:
    """Fill in the template's placeholders and start the job.

    Raises:
        PlaceholderError: a placeholder is unknown or a value is missing;
            nothing is sent then.
        ApiError, ServerUnreachable: the server rejected the job or did not respond.
    """
    params = placeholders.expand(template.params, answers=answers, clock=clock)
    job = await submit(
        template.flow_id, template.routine_id, template.slot_name, params
    )
    logger.info("Started job %s from template %r", job.job_id, template.name)
    return job
