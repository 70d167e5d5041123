"""Line diffs between two YAML texts, in hunks with line numbers, for display."""

from __future__ import annotations

import difflib
import enum
import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)


class LineKind(enum.Enum):
    """What a diff line is."""

    CONTEXT = "context"
    ADDED = "added"
    REMOVED = "removed"
    HUNK = "hunk"

    @property
    def sign(self) -> str:
        """The unified-diff prefix: ``+``, ``-``, a space, or ``@``."""
        return {"context": " ", "added": "+", "removed": "-", "hunk": "@"}[self.value]


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff.

    Attributes:
        old_number: 1-based line in the old text, None for added lines and hunks.
        new_number: 1-based line in the new text, None for removed lines and hunks.
    """

    kind: LineKind
    text: str
    old_number: int | None = None
    new_number: int | None = None


def diff_lines(old: str, new: str, *, context: int = 3) -> list[DiffLine]:
    """Return the changed lines between ``old`` and ``new`` with ``context`` lines around.

    Each hunk starts with a HUNK line in unified-diff notation
    (``@@ -3,4 +3,5 @@``). Identical texts give an empty list.
    """
    before, after = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    lines: list[DiffLine] = []
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        old_range = _range(first[1], last[2])
        new_range = _range(first[3], last[4])
        lines.append(DiffLine(LineKind.HUNK, f"@@ -{old_range} +{new_range} @@"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(
                    DiffLine(LineKind.CONTEXT, before[i], i + 1, j1 + offset + 1)
                    for offset, i in enumerate(range(i1, i2))
                )
                continue
            if tag in ("replace", "delete"):
                lines.extend(
                    DiffLine(LineKind.REMOVED, before[i], i + 1, None)
                    for i in range(i1, i2)
                )
            if tag in ("replace", "insert"):
                lines.extend(
                    DiffLine(LineKind.ADDED, after[j], None, j + 1)
                    for j in range(j1, j2)
                )
    return lines


def diff_stats(lines: list[DiffLine]) -> tuple[int, int]:
    """Return (added, removed) line counts."""
    added = sum(1 for line in lines if line.kind is LineKind.ADDED)
    removed = sum(1 for line in lines if line.kind is LineKind.REMOVED)
    return added, removed


def _range(start: int, stop: int) -> str:
    """Format a 0-based half-open range as unified diff does: ``start,length``."""
    length = stop - start
    first = start + 1 if length else start
    return f"{first},{length}"
