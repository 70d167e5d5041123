"""Tests for flow version records, the local history and the YAML diff."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.models.flow_versions import FlowVersion, FlowVersionList, LocalFlowHistory
from app.models.yaml_diff import LineKind, diff_lines, diff_stats

OLD = """\
flow_id: orders
routines:
  reader:
    class: reader
    config:
      batch: 10
  writer:
    class: writer
connections: []
"""
NEW = OLD.replace("batch: 10", "batch: 50\n      retries: 3").replace(
    "  writer:\n    class: writer\n", ""
)


def test_diff_marks_added_and_removed_lines():
    """Changed lines are removed then added, with both line numbers kept."""
    lines = diff_lines(OLD, NEW)

    removed = [
        (line.old_number, line.text) for line in lines if line.kind is LineKind.REMOVED
    ]
    added = [
        (line.new_number, line.text) for line in lines if line.kind is LineKind.ADDED
    ]
    assert removed == [
        (6, "      batch: 10"),
        (7, "  writer:"),
        (8, "    class: writer"),
    ]
    assert added == [(6, "      batch: 50"), (7, "      retries: 3")]
    assert diff_stats(lines) == (2, 3)


def test_diff_hunk_header_and_context():
    """Each hunk starts with a unified-diff header and keeps context lines."""
    lines = diff_lines(OLD, NEW, context=1)

    assert lines[0].kind is LineKind.HUNK
    assert lines[0].text == "@@ -5,5 +5,4 @@"
    assert lines[1] == lines[1].__class__(LineKind.CONTEXT, "    config:", 5, 5)
    assert lines[-1].kind is LineKind.CONTEXT
    assert lines[-1].text == "connections: []"


def test_identical_texts_have_no_diff():
    """Equal texts give an empty diff."""
    assert diff_lines(OLD, OLD) == []


def test_diff_from_empty_text():
    """Everything is added when the old text is empty."""
    lines = diff_lines("", "a: 1\n")

    assert [line.kind for line in lines] == [LineKind.HUNK, LineKind.ADDED]
    assert lines[0].text == "@@ -0,0 +1,1 @@"


def test_version_list_from_json():
    """The versions list parses numbers, times and the current marker."""
    listing = FlowVersionList.from_json(
        {
            "flow_id": "orders",
            "current_version": 2,
            "versions": [
                {
                    "version": 2,
                    "content_hash": "b" * 64,
                    "current": True,
                    "first_seen": "2026-12-04T16:00:00.000Z",
                    "source": "/f.yaml",
                },
                {
                    "version": 1,
                    "content_hash": "a" * 64,
                    "current": False,
                    "first_seen": "2026-12-03T16:00:00.000Z",
                    "source": "/f.yaml",
                },
            ],
            "total": 2,
        }
    )

    assert listing.current_version == 2
    assert [v.label for v in listing.versions] == ["v2 (current)", "v1"]
    assert listing.versions[1].first_seen == datetime(2026, 12, 3, 16, tzinfo=UTC)
    assert listing.get(1).content_hash == "a" * 64


@pytest.mark.parametrize(
    "version", [None, "1", True], ids=["missing", "string", "bool"]
)
def test_version_must_be_integer(version):
    """A version that is not an integer is rejected."""
    with pytest.raises(ValueError, match="invalid flow version"):
        FlowVersion.from_json({"version": version})


@pytest.fixture
def history(tmp_path):
    return LocalFlowHistory.for_server("http://stock.test:8000", tmp_path)


def test_local_history_numbers_new_texts(history):
    """Each new DSL text gets the next number and becomes current."""
    first = history.record("orders", OLD)
    second = history.record("orders", NEW)

    listing = history.versions("orders")
    assert (first.version, second.version) == (1, 2)
    assert listing.local
    assert listing.current_version == 2
    assert [(v.version, v.current) for v in listing.versions] == [(2, True), (1, False)]
    assert history.get("orders", 1).dsl == OLD


def test_local_history_reuses_seen_text(history):
    """A text seen before keeps its number and becomes current again."""
    history.record("orders", OLD)
    history.record("orders", NEW)

    again = history.record("orders", OLD)

    assert again.version == 1
    assert history.versions("orders").current_version == 1
    assert len(history.versions("orders").versions) == 2


def test_local_history_survives_restart(history, tmp_path):
    """A new history object on the same folder reads what was recorded."""
    history.record("orders", OLD, seen_at=datetime(2026, 1, 1, tzinfo=UTC))

    reopened = LocalFlowHistory.for_server("http://stock.test:8000", tmp_path)

    version = reopened.get("orders", 1)
    assert version.first_seen == datetime(2026, 1, 1, tzinfo=UTC)
    assert reopened.get("orders", 2) is None


def test_local_history_is_per_server(tmp_path):
    """Two servers keep separate histories for the same flow id."""
    one = LocalFlowHistory.for_server("http://one.test", tmp_path)
    two = LocalFlowHistory.for_server("http://two.test", tmp_path)
    one.record("orders", OLD)

    assert two.versions("orders").versions == ()


def test_corrupt_history_file_starts_over(history):
    """An unreadable history file is replaced by a new history, not a crash."""
    history.record("orders", OLD)
    for path in history.folder.glob("*.json"):
        path.write_text("{broken", encoding="utf-8")

    assert history.record("orders", NEW).version == 1
