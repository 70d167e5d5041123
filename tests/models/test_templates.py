"""Tests for the template library: files, export and import, and missing start points."""

from __future__ import annotations

import json

import pytest

from app.models import templates as templates_module
from app.models.records import FlowInfo
from app.models.templates import (
    JobTemplate,
    TemplateFormatError,
    TemplateLibrary,
    default_folder,
    shared_library,
    slugify,
    template_problem,
)
from app.models.ui_state import CONFIG_DIR_ENV
from tests.support.fake_api import DEMO_FLOW, OTHER_FLOW

FLOWS = [FlowInfo.from_json(DEMO_FLOW), FlowInfo.from_json(OTHER_FLOW)]


def daily(**changes):
    values = {
        "name": "Daily import",
        "flow_id": "demo_flow",
        "routine_id": "reader",
        "slot_name": "input",
        "params": {"day": "${today}", "nested": {"n": [1, 2]}},
        "description": "Reads today's orders",
    }
    values.update(changes)
    return JobTemplate(**values)


@pytest.fixture
def library(tmp_path):
    return TemplateLibrary(tmp_path / "templates")


def test_save_writes_readable_json_file(library):
    """A saved template is one indented JSON file named after it."""
    saved = library.save(daily())

    path = library.folder / "daily-import.json"
    assert saved.template_id == "daily-import"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("{\n  ")
    data = json.loads(text)
    assert data["format"] == "overseer-job-template"
    assert data["name"] == "Daily import"
    assert data["params"] == {"day": "${today}", "nested": {"n": [1, 2]}}


def test_round_trip_through_a_new_library(library):
    """A second library on the same folder reads the same templates."""
    saved = library.save(daily())
    library.save(daily(name="Other", flow_id="other_flow"))

    again = TemplateLibrary(library.folder)

    assert [t.name for t in again.templates()] == ["Daily import", "Other"]
    loaded = again.get(saved.template_id)
    assert loaded.same_content(saved)
    assert loaded.description == "Reads today's orders"


def test_same_slug_gets_new_file(library):
    """Names that slugify alike are kept in separate files."""
    first = library.save(daily(name="Daily import"))
    second = library.save(daily(name="daily: import!"))

    assert first.template_id == "daily-import"
    assert second.template_id == "daily-import-2"
    assert len(library.templates()) == 2


def test_save_with_id_replaces_file(library, qtbot):
    """Saving a template again under its id overwrites it and signals the change."""
    saved = library.save(daily())

    with qtbot.waitSignal(library.changed):
        library.save(daily(params={"day": "2026-01-01"}, template_id=saved.template_id))

    assert len(library.templates()) == 1
    assert library.get(saved.template_id).params == {"day": "2026-01-01"}


def test_delete_removes_file(library):
    """Deleting a template removes its file."""
    saved = library.save(daily())

    library.delete(saved.template_id)

    assert library.templates() == []
    assert not (library.folder / f"{saved.template_id}.json").exists()


def test_bad_files_are_listed_not_dropped(library):
    """Unreadable files stay on disk and are reported with the reason."""
    library.save(daily())
    (library.folder / "broken.json").write_text("{not json", encoding="utf-8")
    (library.folder / "wrong.json").write_text('{"name": "x"}', encoding="utf-8")

    library.reload()

    assert [t.name for t in library.templates()] == ["Daily import"]
    assert len(library.errors) == 2
    assert any(error.startswith("broken.json: cannot read") for error in library.errors)
    assert any("wrong.json: 'flow_id' must be" in error for error in library.errors)
    assert (library.folder / "broken.json").exists()


def test_export_then_import_elsewhere(library, tmp_path):
    """An export file imports into another library with the same templates."""
    library.save(daily())
    library.save(daily(name="Other", flow_id="other_flow"))
    bundle = tmp_path / "export.json"

    count = library.export(bundle)
    other = TemplateLibrary(tmp_path / "elsewhere")
    report = other.import_file(bundle)

    assert count == 2
    assert json.loads(bundle.read_text())["format"] == "overseer-job-templates"
    assert sorted(report.added) == ["Daily import", "Other"]
    assert [t.name for t in other.templates()] == ["Daily import", "Other"]
    assert other.find_by_name("daily import").same_content(daily())


def test_export_chosen_templates_only(library, tmp_path):
    """Export writes only the chosen templates when ids are given."""
    saved = library.save(daily())
    library.save(daily(name="Other"))

    count = library.export(tmp_path / "one.json", [saved.template_id])

    assert count == 1


def test_import_skips_identical_and_renames_conflicts(library, tmp_path):
    """An identical template is skipped; a different one with a taken name is renamed."""
    library.save(daily())
    bundle = tmp_path / "export.json"
    library.export(bundle)
    changed = daily(params={"day": "2020-01-01"})
    single = tmp_path / "single.json"
    single.write_text(json.dumps(changed.to_json()), encoding="utf-8")

    skipped = library.import_file(bundle)
    renamed = library.import_file(single)

    assert skipped.skipped == ("Daily import",)
    assert skipped.added == ()
    assert renamed.renamed == (("Daily import", "Daily import (2)"),)
    assert library.find_by_name("Daily import (2)").params == {"day": "2020-01-01"}


def test_import_reports_bad_entries(library, tmp_path):
    """Bad entries in an export are reported; good ones are imported."""
    bundle = tmp_path / "export.json"
    bundle.write_text(
        json.dumps(
            {
                "format": "overseer-job-templates",
                "version": 1,
                "templates": [daily().to_json(), {"name": "no flow"}],
            }
        ),
        encoding="utf-8",
    )

    report = library.import_file(bundle)

    assert report.added == ("Daily import",)
    assert report.errors == ("template 2: 'flow_id' must be a non-empty string",)


@pytest.mark.parametrize(
    "content",
    ["[1, 2]", "not json", '{"format": "something-else", "templates": []}'],
    ids=["array", "not-json", "other-format"],
)
def test_import_rejects_other_files(library, tmp_path, content):
    """A file that is neither kind is rejected as a whole."""
    path = tmp_path / "x.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(TemplateFormatError):
        library.import_file(path)


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        (daily(), None),
        (daily(flow_id="gone"), "flow 'gone' is not on this server"),
        (daily(routine_id="ghost"), "flow 'demo_flow' has no routine 'ghost'"),
        (daily(routine_id="writer"), "routine 'writer' is no longer an entry routine"),
        (daily(slot_name="nope"), "routine 'reader' has no slot 'nope'"),
    ],
    ids=["ok", "flow", "routine", "not-entry", "slot"],
)
def test_missing_start_point_is_marked(template, problem):
    """A template whose start point is gone is marked with the reason."""
    assert template_problem(template, FLOWS) == problem


def test_marked_template_stays_in_library(library):
    """Templates for flows this server lacks are kept and listed."""
    library.save(daily(flow_id="other_server_flow"))

    assert [t.flow_id for t in TemplateLibrary(library.folder).templates()] == [
        "other_server_flow"
    ]


def test_config_dir_env_moves_the_folder(monkeypatch, tmp_path):
    """OVERSEER_CONFIG_DIR decides where templates live, and the shared library follows."""
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(templates_module, "_shared", {})

    assert default_folder() == tmp_path / "templates"
    library = shared_library()
    assert library.folder == tmp_path / "templates"
    assert shared_library() is library


def test_slugify_keeps_names_file_safe():
    """Slugs are lower case words joined by dashes, never empty."""
    assert slugify("Daily Orders / EU") == "daily-orders-eu"
    assert slugify("***") == "template"
    assert slugify("Zoë 👋") == "zoë"
