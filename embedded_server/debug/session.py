"""The debugger's state for one job: where it is paused and how it should step."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from embedded_server.debug.frames import SLOT, Frame

CONTINUE, STEP_OVER, STEP_INTO, STEP_OUT = "continue", "over", "into", "out"
STEP_MODES = (STEP_OVER, STEP_INTO, STEP_OUT)


@dataclass(frozen=True)
class StepRequest:
    """Where a step should stop, relative to the pause point it started from.

    into: at the next pause point of any kind.
    over: at the next point no deeper than the origin (from a slot or a
        routine this skips the emits inside the routine's logic).
    out: from an emit, at the next slot or routine point after the running
        logic returns; from a slot or routine, at the next slot point, so the
        routine's own processing of this data runs to its end.
    """

    mode: str
    origin: Frame

    def stops_at(self, frame: Frame) -> bool:
        if self.mode == STEP_INTO:
            return True
        if self.mode == STEP_OVER:
            return frame.depth <= self.origin.depth
        if self.origin.depth > 0:
            return frame.depth == 0
        return frame.kind == SLOT


@dataclass
class Pause:
    """A job stopped at a pause point.

    Attributes:
        setter: changes a variable of frame 0 before the job goes on; it
            receives the variable name and the new value.
        release: set to let a thread blocked at an emit go on; None for slot
            and routine pauses, which hold no thread.
    """

    frame: Frame
    reason: str
    breakpoint_id: str | None
    setter: Callable[[str, Any], None]
    release: threading.Event | None = None
    since: float = field(default_factory=time.time)


@dataclass
class DebugState:
    """The debugger's part of a running job."""

    step: StepRequest | None = None
    pause: Pause | None = None
    next_frame_id: int = 1

    def number(self, frame: Frame) -> Frame:
        frame.frame_id = self.next_frame_id
        self.next_frame_id += 1
        return frame
