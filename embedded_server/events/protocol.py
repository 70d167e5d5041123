"""The event stream's wire protocol: event types, subscriptions and client messages.

Everything here is pure: it turns client text into a new `Subscription` and a
reply, and builds the server's own messages. The socket handling lives in
`embedded_server.events.connection`.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

EVENT_TYPES: tuple[str, ...] = (
    "job_started",
    "job_completed",
    "job_failed",
    "job_cancelled",
    "job_paused",
    "job_resumed",
    "routine_started",
    "routine_completed",
    "routine_failed",
    "event_emitted",
    "breakpoint_hit",
    "condition_error",
    "log_message",
)
_EVENT_TYPE_SET = frozenset(EVENT_TYPES)

# Bounds on what one client may ask for, so a subscription stays cheap to
# match and its SQL filter stays under SQLite's limit on bound parameters.
MAX_IDS_PER_MESSAGE = 1_000
MAX_IDS_PER_FILTER = 10_000
MAX_ID_LENGTH = 512


def utc_timestamp(epoch: float) -> str:
    """Format epoch seconds as ISO 8601 UTC with milliseconds, like ``2026-12-04T16:00:00.123Z``."""
    seconds = int(epoch)
    millis = min(int((epoch - seconds) * 1000), 999)
    return f"{_second_prefix(seconds)}.{millis:03d}Z"


@functools.lru_cache(maxsize=8)
def _second_prefix(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def encode(message: Mapping[str, Any]) -> str:
    """Serialise one server message as compact JSON."""
    return json.dumps(message, separators=(",", ":"))


@dataclass(frozen=True)
class Subscription:
    """Filter on the events a subscriber receives; ``None`` in a field means no narrowing.

    An event matches when its type, its job and its flow each pass their
    filter. An empty set matches nothing.
    """

    event_types: frozenset[str] | None = None
    job_ids: frozenset[str] | None = None
    flow_ids: frozenset[str] | None = None

    @property
    def everything(self) -> bool:
        """Whether every event matches (the default on connect)."""
        return (
            self.event_types is None and self.job_ids is None and self.flow_ids is None
        )

    def matches(self, event_type: str, job_id: str | None, flow_id: str | None) -> bool:
        """Return whether an event with these fields passes every filter."""
        if self.event_types is not None and event_type not in self.event_types:
            return False
        if self.job_ids is not None and job_id not in self.job_ids:
            return False
        return self.flow_ids is None or flow_id in self.flow_ids

    def add(
        self,
        event_types: Iterable[str] = (),
        job_ids: Iterable[str] = (),
        flow_ids: Iterable[str] = (),
    ) -> Subscription:
        """Return a copy that also admits the given items.

        A filter that admitted everything becomes exactly the given items, so
        the first ``subscribe`` narrows the default. Empty arguments leave
        their filter as it is.
        """
        return Subscription(
            _widen(self.event_types, event_types),
            _widen(self.job_ids, job_ids),
            _widen(self.flow_ids, flow_ids),
        )

    def remove(
        self,
        event_types: Iterable[str] = (),
        job_ids: Iterable[str] = (),
        flow_ids: Iterable[str] = (),
    ) -> Subscription:
        """Return a copy that no longer admits the given items.

        Removing event types from "every type" leaves the other known types.
        Job and flow ids can only be removed from a list the client built, so
        they are ignored while that filter still admits every id.
        """
        removed_types = frozenset(event_types)
        types = self.event_types
        if removed_types:
            types = (_EVENT_TYPE_SET if types is None else types) - removed_types
        jobs = (
            self.job_ids if self.job_ids is None else self.job_ids - frozenset(job_ids)
        )
        flows = (
            self.flow_ids
            if self.flow_ids is None
            else self.flow_ids - frozenset(flow_ids)
        )
        return Subscription(types, jobs, flows)

    def to_json(self) -> dict[str, list[str] | None]:
        """Describe the filters for an acknowledgement; ``null`` means no narrowing."""
        return {
            "events": _sorted_or_none(self.event_types),
            "job_ids": _sorted_or_none(self.job_ids),
            "flow_ids": _sorted_or_none(self.flow_ids),
        }


def _widen(
    current: frozenset[str] | None, added: Iterable[str]
) -> frozenset[str] | None:
    added_set = frozenset(added)
    if not added_set:
        return current
    return added_set if current is None else current | added_set


def _sorted_or_none(values: frozenset[str] | None) -> list[str] | None:
    return None if values is None else sorted(values)


class ProtocolError(Exception):
    """A client message the server cannot act on; becomes an ``error`` reply."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        """Build the ``{"type": "error", ...}`` reply."""
        return {
            "type": "error",
            "code": self.code,
            "message": self.message,
            **self.extra,
        }


# Server messages


def connection_status(
    *,
    subscriber_id: str,
    heartbeat_interval: float,
    last_seq: int,
    subscription: Subscription,
) -> dict[str, Any]:
    """Build the first message of every connection."""
    now = utc_timestamp(time.time())
    return {
        "type": "connection:status",
        "status": "connected",
        "timestamp": now,
        "server_time": now,
        "heartbeat_interval": heartbeat_interval,
        "last_seq": last_seq,
        "subscriber_id": subscriber_id,
        "subscription": subscription.to_json(),
    }


def ping() -> str:
    """Build a heartbeat ping."""
    return encode({"type": "ping", "timestamp": utc_timestamp(time.time())})


def catch_up_incomplete(first_available_seq: int, reason: str) -> str:
    """Build the notice that events the client asked for are gone."""
    return encode(
        {
            "type": "catch_up:incomplete",
            "first_available_seq": first_available_seq,
            "reason": reason,
        }
    )


# Client messages


def handle_message(
    text: str, subscription: Subscription, subscriber_id: str
) -> tuple[Subscription, dict[str, Any] | None]:
    """Apply one client text message.

    Returns:
        The subscription after the message and the reply to send, or ``None``
        when the message needs no reply (a ``pong``). A message that cannot be
        applied leaves the subscription unchanged and gets an ``error`` reply.
    """
    try:
        message = _parse(text)
        if "action" in message:
            return _handle_action(message, subscription)
        if "type" in message:
            return _handle_stock(message, subscription, subscriber_id)
        raise ProtocolError(
            "UNKNOWN_MESSAGE", 'Expected an "action" or a "type" field in the message.'
        )
    except ProtocolError as error:
        return subscription, error.to_json()


def _parse(text: str) -> dict[str, Any]:
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise ProtocolError(
            "INVALID_JSON", f"The message is not valid JSON: {exc}"
        ) from None
    if not isinstance(message, dict):
        found = type(message).__name__
        raise ProtocolError("INVALID_MESSAGE", f"Expected a JSON object, got {found}.")
    return message


def _handle_action(
    message: dict[str, Any], subscription: Subscription
) -> tuple[Subscription, dict[str, Any] | None]:
    action = message["action"]
    if action == "subscribe_all":
        return Subscription(), {"type": "subscribed", **Subscription().to_json()}
    if action not in ("subscribe", "unsubscribe"):
        raise ProtocolError(
            "UNKNOWN_MESSAGE",
            f"Unknown action {action!r}; expected subscribe, unsubscribe or subscribe_all.",
        )

    event_types = parse_event_types(message.get("events"))
    job_ids = parse_ids(message.get("job_ids"), "job_ids")
    flow_ids = parse_ids(message.get("flow_ids"), "flow_ids")
    if not (event_types or job_ids or flow_ids):
        raise ProtocolError(
            "INVALID_MESSAGE",
            f'A {action} message needs a non-empty "events", "job_ids" or "flow_ids" list.',
        )

    if action == "subscribe":
        updated = subscription.add(event_types, job_ids, flow_ids)
        reply_type = "subscribed"
    else:
        updated = subscription.remove(event_types, job_ids, flow_ids)
        reply_type = "unsubscribed"
    check_filter_size(updated)
    return updated, {"type": reply_type, **updated.to_json()}


def _handle_stock(
    message: dict[str, Any], subscription: Subscription, subscriber_id: str
) -> tuple[Subscription, dict[str, Any] | None]:
    kind = message["type"]
    if kind == "pong":
        return subscription, None
    if kind == "ping":
        return subscription, {"type": "pong", "timestamp": utc_timestamp(time.time())}
    if kind not in ("subscribe", "unsubscribe"):
        raise ProtocolError(
            "UNKNOWN_MESSAGE",
            f"Unknown message type {kind!r}; expected ping, pong, subscribe or unsubscribe.",
        )

    job_id = message.get("job_id")
    _check_id(job_id, "job_id")
    jobs = subscription.job_ids
    if kind == "subscribe":
        if jobs is not None and job_id in jobs:
            return subscription, {"type": "already_subscribed", "job_id": job_id}
        updated = subscription.add(job_ids=[job_id])
        check_filter_size(updated)
        reply = {"type": "subscribed", "job_id": job_id, "subscriber_id": subscriber_id}
        return updated, reply
    if jobs is None or job_id not in jobs:
        return subscription, {"type": "not_subscribed", "job_id": job_id}
    return subscription.remove(job_ids=[job_id]), {
        "type": "unsubscribed",
        "job_id": job_id,
    }


def parse_event_types(value: Any) -> list[str]:
    """Validate an ``events`` list; ``None`` stands for an empty list.

    Raises:
        ProtocolError: ``INVALID_MESSAGE`` for a malformed list and
            ``UNKNOWN_EVENT_TYPE`` (naming the allowed types) for a type the
            server does not publish.
    """
    names = parse_ids(value, "events")
    unknown = [name for name in names if name not in _EVENT_TYPE_SET]
    if unknown:
        raise ProtocolError(
            "UNKNOWN_EVENT_TYPE",
            f"Unknown event type(s) {', '.join(map(repr, unknown))}; "
            f"allowed types: {', '.join(EVENT_TYPES)}.",
            allowed=list(EVENT_TYPES),
        )
    return names


def parse_ids(value: Any, field: str) -> list[str]:
    """Validate a list of non-empty strings; ``None`` stands for an empty list."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProtocolError("INVALID_MESSAGE", f'"{field}" must be a list of strings.')
    if len(value) > MAX_IDS_PER_MESSAGE:
        raise ProtocolError(
            "INVALID_MESSAGE",
            f'"{field}" has {len(value)} items; send at most {MAX_IDS_PER_MESSAGE} per message.',
        )
    for item in value:
        _check_id(item, field)
    return value


def _check_id(value: Any, field: str) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise ProtocolError(
            "INVALID_MESSAGE",
            f'"{field}" must contain non-empty strings of at most {MAX_ID_LENGTH} characters.',
        )


def check_filter_size(subscription: Subscription) -> None:
    """Raise ProtocolError when a job or flow filter grew past its limit."""
    for field, ids in (
        ("job_ids", subscription.job_ids),
        ("flow_ids", subscription.flow_ids),
    ):
        if ids is not None and len(ids) > MAX_IDS_PER_FILTER:
            raise ProtocolError(
                "INVALID_MESSAGE",
                f"A subscription may name at most {MAX_IDS_PER_FILTER} {field}.",
            )
