"""Pause points and the causal chain of frames behind the data at a pause."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SLOT = "slot"
ROUTINE = "routine"
EVENT = "event"
KINDS = (SLOT, ROUTINE, EVENT)


@dataclass
class Frame:
    """One link of the causal chain: data entering a slot, a routine run, or an emit.

    Attributes:
        kind: ``slot`` (data about to enter ``port``), ``routine`` (logic about
            to run with ``data``, one list per slot) or ``event`` (``port``
            about to be emitted with ``data``, the emit's keyword arguments).
        parent: the frame whose work produced this one's data, or None for
            data posted from outside the flow.
        depth: 0 for slot and routine frames, 1 for emits inside a routine's
            logic; stepping uses it to tell "over" from "into".
    """

    kind: str
    routine_id: str
    port: str | None
    data: Any
    parent: Frame | None = None
    depth: int = 0
    frame_id: int = field(default=0, compare=False)

    def chain(self) -> list[Frame]:
        """Return this frame and its ancestors, newest first."""
        frames, frame = [], self
        while frame is not None:
            frames.append(frame)
            frame = frame.parent
        return frames

    def describe(self) -> dict[str, Any]:
        """Return the frame's place, without its data."""
        return {
            "kind": self.kind,
            "routine_id": self.routine_id,
            "slot": self.port if self.kind == SLOT else None,
            "event": self.port if self.kind == EVENT else None,
        }
