"""Live events: the server-wide event bus and the WebSocket stream that serves it.

`EventBus` numbers, stores and fans out events; the router in
`embedded_server.events.websocket` serves them at ``/api/v1/websocket``.
"""

from embedded_server.events.bus import EventBus
from embedded_server.events.protocol import EVENT_TYPES, Subscription

__all__ = ["EVENT_TYPES", "EventBus", "Subscription"]
