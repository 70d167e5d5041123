"""Tests for the state file: layout bytes and filters kept between runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from app.models import ui_state
from app.models.job_filter import FilterState, TimePreset


def test_config_dir_follows_environment(tmp_path, monkeypatch):
    """OVERSEER_CONFIG_DIR moves the state file."""
    monkeypatch.setenv(ui_state.CONFIG_DIR_ENV, str(tmp_path))

    assert ui_state.default_state_path() == tmp_path / ui_state.STATE_FILE_NAME


def test_state_round_trip(tmp_path):
    """Saved layout bytes, filters and event types load back unchanged."""
    path = tmp_path / "nested" / "state.json"
    filters = FilterState(
        flow_id="etl_orders",
        status="failed",
        time_preset=TimePreset.CUSTOM,
        custom_from=datetime(2026, 12, 1, tzinfo=UTC),
        custom_to=datetime(2026, 12, 2, tzinfo=UTC),
    )
    state = ui_state.UiState(
        b"\x00geometry\xff", b"state", filters, frozenset({"job_failed"})
    )

    ui_state.save_state(state, path)

    assert ui_state.load_state(path) == state


def test_missing_file_gives_defaults(tmp_path):
    """No state file means the default state."""
    assert ui_state.load_state(tmp_path / "absent.json") == ui_state.UiState()


def test_corrupt_file_gives_defaults(tmp_path, caplog):
    """A state file that is not JSON is ignored with a warning."""
    path = tmp_path / "state.json"
    path.write_text("{not json", encoding="utf-8")

    assert ui_state.load_state(path) == ui_state.UiState()
    assert "Ignoring invalid state file" in caplog.text


def test_newer_schema_gives_defaults(tmp_path, caplog):
    """A state file from an unknown schema version is ignored."""
    path = tmp_path / "state.json"
    path.write_text(
        json.dumps({"schema_version": 99, "filters": {"status": "failed"}}),
        encoding="utf-8",
    )

    assert ui_state.load_state(path) == ui_state.UiState()
    assert "schema version 99" in caplog.text


def test_invalid_filter_values_dropped(tmp_path):
    """Unknown statuses and presets fall back to "any"."""
    path = tmp_path / "state.json"
    document = {
        "schema_version": 1,
        "filters": {"status": "exploded", "time_preset": "yesterday", "flow_id": 7},
    }
    path.write_text(json.dumps(document), encoding="utf-8")

    assert ui_state.load_state(path).filters == FilterState()
