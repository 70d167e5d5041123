"""The layered layout: flows of any shape get positions, left to right."""

from __future__ import annotations

import random

import pytest

from app.models.graph_layout import LAYER_GAP, NodeBox, compute_layout


def boxes(count, height=80.0):
    return [NodeBox(f"r{i}", 200.0, height) for i in range(count)]


def random_flow(count, seed=7):
    rng = random.Random(seed)
    links = [(f"r{rng.randrange(max(0, i - 12), i)}", f"r{i}") for i in range(1, count)]
    links += [
        (f"r{rng.randrange(count)}", f"r{rng.randrange(count)}")
        for _ in range(count // 5)
    ]
    return links


def test_chain_runs_left_to_right():
    layout = compute_layout(boxes(3), [("r0", "r1"), ("r1", "r2")])

    xs = [layout.positions[f"r{i}"][0] for i in range(3)]
    assert xs[0] < xs[1] < xs[2]
    assert xs[1] - xs[0] >= 200.0 + LAYER_GAP - 1


@pytest.mark.parametrize("seed", [1, 7, 13, 21])
def test_three_hundred_routines_all_placed_without_overlap(seed):
    layout = compute_layout(boxes(300), random_flow(300, seed), roots=["r0"])

    assert len(layout.positions) == 300
    rects = sorted((x, y, x + 200.0, y + 80.0) for x, y in layout.positions.values())
    for (ax, ay, _, ay2), (bx, by, _, by2) in zip(rects, rects[1:], strict=False):
        same_column = ax == bx
        assert not (same_column and ay < by2 and by < ay2), (
            "two nodes of a layer overlap"
        )
    assert layout.width > 0
    assert layout.height > 0


def test_cycle_and_isolated_node_are_placed():
    layout = compute_layout(
        boxes(4), [("r0", "r1"), ("r1", "r2"), ("r2", "r0"), ("r3", "r3")]
    )

    assert set(layout.positions) == {"r0", "r1", "r2", "r3"}
    # r2 -> r0 goes back two layers, so it bends around r1.
    assert len(layout.routes[("r2", "r0")]) == 1


def test_components_are_stacked_not_overlapping():
    layout = compute_layout(boxes(4), [("r0", "r1"), ("r2", "r3")])

    first = max(layout.positions["r0"][1], layout.positions["r1"][1]) + 80.0
    second = min(layout.positions["r2"][1], layout.positions["r3"][1])
    assert second > first


def test_unknown_and_duplicate_links_are_ignored():
    layout = compute_layout(boxes(2), [("r0", "r1"), ("r0", "r1"), ("r0", "ghost")])

    assert set(layout.positions) == {"r0", "r1"}
    assert layout.routes == {}


def test_empty_graph():
    layout = compute_layout([], [])

    assert layout.positions == {}
    assert (layout.width, layout.height) == (0.0, 0.0)
