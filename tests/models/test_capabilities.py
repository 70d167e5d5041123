"""Tests for feature availability by server capabilities."""

from __future__ import annotations

import pytest

from app.models.capabilities import Feature, availability, feature_availability
from app.models.records import ServerInfo

STOCK = ServerInfo.from_json({"name": "Routilux API", "version": "1.1.0"})
OURS_FULL = ServerInfo(
    "overseer-embedded-server",
    "0.1.0",
    frozenset(feature.value for feature in Feature),
)
OURS_NO_EVALUATE = ServerInfo(
    "overseer-embedded-server",
    "0.1.0",
    frozenset(feature.value for feature in Feature) - {"evaluate"},
)


def test_stock_server_lacks_every_feature():
    result = feature_availability(STOCK)
    assert set(result) == set(Feature)
    assert not any(item.available for item in result.values())
    assert all(item.reason.endswith(".") for item in result.values())


def test_stock_debug_reason_explains_breakpoints():
    reason = availability(STOCK, Feature.DEBUG).reason
    assert reason == "This server cannot pause jobs; its breakpoints drop data instead."


def test_full_server_has_every_feature():
    result = feature_availability(OURS_FULL)
    assert all(item.available for item in result.values())
    assert all(item.reason == "" for item in result.values())


def test_evaluate_off_names_the_switch():
    item = availability(OURS_NO_EVALUATE, Feature.EVALUATE)
    assert not item.available
    assert "--allow-evaluate" in item.reason
    assert availability(OURS_NO_EVALUATE, Feature.DEBUG).available


def test_other_server_missing_capability():
    info = ServerInfo("other", "2.0", frozenset({"debug"}))
    item = availability(info, Feature.DRY_RUN)
    assert not item.available
    assert item.reason == "This server does not support dry runs."


@pytest.mark.parametrize("feature", list(Feature), ids=lambda f: f.value)
def test_unknown_server_disables(feature):
    item = availability(None, feature)
    assert not item.available
    assert item.reason.startswith("Not connected to a server")
