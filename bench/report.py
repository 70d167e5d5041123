"""Statistics and the results tables the benchmarks print."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def percentile(values: Sequence[float], pct: float) -> float:
    """Return the nearest-rank percentile (``pct`` in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Row:
    """One line of a results table: a metric on both servers and their ratio."""

    metric: str
    ours: str
    stock: str = "n/a"
    ratio: str = ""
    target: str = ""


def ratio(better: float | None, worse: float | None) -> str:
    """Format how many times ``better`` beats ``worse`` (pass them in the right order)."""
    if not better or not worse:
        return "n/a"
    return f"{better / worse:.1f}x"


def format_table(rows: Sequence[Row]) -> str:
    """Render rows as a Markdown table, which also reads well in a terminal."""
    headers = ("Metric", "Ours", "Stock 1.1.0", "Ratio", "Target")
    cells = [headers] + [(r.metric, r.ours, r.stock, r.ratio, r.target) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True))
            + " |"
        )

    separator = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), separator, *(line(row) for row in cells[1:])])


def save_json(path: Path | None, results: dict[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
