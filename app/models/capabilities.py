"""Availability of app features on a server, with a one-line reason when missing.

This project's server lists its optional features in the ``capabilities`` of
its discovery document. The stock Routilux 1.1.x server has no such list and
lacks all of them, so the reasons for a stock server describe what that
server does instead. Views disable an action whose feature is unavailable
and show the reason as its tooltip or status text.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from app.models.records import ServerInfo

logger = logging.getLogger(__name__)


class Feature(enum.Enum):
    """An app feature that depends on the server; the value is its capability name."""

    DEBUG = "debug"
    FLOW_BREAKPOINTS = "flow_breakpoints"
    EVALUATE = "evaluate"
    DRY_RUN = "dry_run"
    TIME_FILTER = "time_filter"
    CANCEL = "cancel"
    JOB_HISTORY = "job_history"
    EVENT_CATCH_UP = "event_catch_up"


@dataclass(frozen=True)
class Availability:
    """Whether a feature can be used, and if not, why, in one sentence."""

    available: bool
    reason: str = ""


AVAILABLE = Availability(True)

LABELS = {
    Feature.DEBUG: "pausing and stepping through jobs",
    Feature.FLOW_BREAKPOINTS: "flow breakpoints",
    Feature.EVALUATE: "evaluating expressions",
    Feature.DRY_RUN: "dry runs",
    Feature.TIME_FILTER: "filtering jobs by time",
    Feature.CANCEL: "cancelling jobs",
    Feature.JOB_HISTORY: "job history",
    Feature.EVENT_CATCH_UP: "catching up on missed events",
}

# Reasons for the stock Routilux 1.1.x server: what it does instead of each feature.
_STOCK_REASONS = {
    Feature.DEBUG: "This server cannot pause jobs; its breakpoints drop data instead.",
    Feature.FLOW_BREAKPOINTS: (
        "This server has per-job breakpoints only, which drop the data they "
        "stop instead of pausing the job."
    ),
    Feature.EVALUATE: "This server cannot evaluate expressions in a job.",
    Feature.DRY_RUN: "This server cannot dry-run a flow.",
    Feature.TIME_FILTER: (
        "This server ignores time filters, so the list shows jobs of any time."
    ),
    Feature.CANCEL: "This server cannot cancel jobs.",
    Feature.JOB_HISTORY: (
        "This server keeps jobs in memory only, so they are gone after it restarts."
    ),
    Feature.EVENT_CATCH_UP: (
        "This server cannot replay missed events, so the app reloads the jobs "
        "list after each reconnect."
    ),
}

# This project's server leaves evaluate off unless it was started with it.
_OWN_SERVER_REASONS = {
    Feature.EVALUATE: (
        "Evaluate is turned off on this server; start it with --allow-evaluate."
    ),
}


def availability(info: ServerInfo | None, feature: Feature) -> Availability:
    """Return whether ``feature`` works on the server described by ``info``.

    Args:
        info: The server's discovery document, or None while it is unknown
            (not connected yet, or discovery failed).
    """
    if info is None:
        return Availability(
            False, f"Not connected to a server, so {LABELS[feature]} is unavailable."
        )
    if info.supports(feature.value):
        return AVAILABLE
    if info.is_stock:
        return Availability(False, _STOCK_REASONS[feature])
    reason = _OWN_SERVER_REASONS.get(feature)
    if reason is None:
        reason = f"This server does not support {LABELS[feature]}."
    return Availability(False, reason)


def feature_availability(info: ServerInfo | None) -> dict[Feature, Availability]:
    """Return the availability of every feature on the server described by ``info``."""
    return {feature: availability(info, feature) for feature in Feature}
