"""Job templates: named start points with params, one readable JSON file each.

Templates live in the ``templates`` folder of the app's config folder (see
``ui_state.config_dir``; ``OVERSEER_CONFIG_DIR`` moves it). They belong to
no connection profile: a template works on any server that has its flow.
A template whose flow, entry routine or slot is missing on the current
server is kept and marked with the reason (``template_problem``).

A template file looks like this; its params may hold placeholders
(``app.models.placeholders``)::

    {
      "format": "overseer-job-template",
      "version": 1,
      "name": "Daily orders",
      "description": "",
      "flow_id": "etl_orders",
      "routine_id": "reader",
      "slot_name": "input",
      "params": {"day": "${today}"}
    }

An export file contains several: ``{"format": "overseer-job-templates",
"version": 1, "templates": [...]}``. Import reads either kind.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from PySide6.QtCore import QObject, Signal

from app.models.records import FlowInfo
from app.models.ui_state import config_dir

logger = logging.getLogger(__name__)

TEMPLATE_FORMAT = "overseer-job-template"
BUNDLE_FORMAT = "overseer-job-templates"
FORMAT_VERSION = 1
FOLDER_NAME = "templates"


class TemplateFormatError(ValueError):
    """A template or export file that is not valid JSON in the expected shape."""


def default_folder() -> Path:
    """Return the folder where templates are kept."""
    return config_dir() / FOLDER_NAME


@dataclass(frozen=True)
class JobTemplate:
    """A named job start point.

    Attributes:
        template_id: the file name without ``.json``; empty until saved.
    """

    name: str
    flow_id: str
    routine_id: str
    slot_name: str
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    template_id: str = ""
    updated_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the template as it is written to its file."""
        return {
            "format": TEMPLATE_FORMAT,
            "version": FORMAT_VERSION,
            "name": self.name,
            "description": self.description,
            "flow_id": self.flow_id,
            "routine_id": self.routine_id,
            "slot_name": self.slot_name,
            "params": self.params,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_json(cls, data: Any, *, template_id: str = "") -> Self:
        """Build from a template file's object.

        Raises:
            TemplateFormatError: a field is missing or has the wrong type.
        """
        if not isinstance(data, Mapping):
            raise TemplateFormatError(
                f"expected a JSON object, got {type(data).__name__}"
            )
        if data.get("format", TEMPLATE_FORMAT) != TEMPLATE_FORMAT:
            raise TemplateFormatError(
                f"expected format {TEMPLATE_FORMAT!r}, got {data.get('format')!r}"
            )
        texts = {}
        for key in ("name", "flow_id", "routine_id", "slot_name"):
            value = data.get(key)
            if not isinstance(value, str) or not value.strip():
                raise TemplateFormatError(f"'{key}' must be a non-empty string")
            texts[key] = value.strip()
        params = data.get("params", {})
        if not isinstance(params, dict):
            raise TemplateFormatError("'params' must be a JSON object")
        description = data.get("description") or ""
        updated = data.get("updated_at")
        return cls(
            **texts,
            params=params,
            description=str(description),
            template_id=template_id,
            updated_at=updated if isinstance(updated, str) else None,
        )

    def same_content(self, other: JobTemplate) -> bool:
        """Return whether both start the same job with the same params."""
        return (
            self.flow_id,
            self.routine_id,
            self.slot_name,
            self.params,
        ) == (other.flow_id, other.routine_id, other.slot_name, other.params)


def template_problem(
    template: JobTemplate, flows: Mapping[str, FlowInfo] | Sequence[FlowInfo]
) -> str | None:
    """Return why ``template`` cannot start on a server with ``flows``, or None."""
    by_id = flows if isinstance(flows, Mapping) else {f.flow_id: f for f in flows}
    flow = by_id.get(template.flow_id)
    if flow is None:
        return f"flow '{template.flow_id}' is not on this server"
    routine = flow.routines.get(template.routine_id)
    if routine is None:
        return f"flow '{template.flow_id}' has no routine '{template.routine_id}'"
    if flow.entry_routines and template.routine_id not in flow.entry_routines:
        return f"routine '{template.routine_id}' is no longer an entry routine"
    if template.slot_name not in routine.slots:
        return f"routine '{template.routine_id}' has no slot '{template.slot_name}'"
    return None


@dataclass(frozen=True)
class ImportReport:
    """Outcome of an import.

    Attributes:
        added: names of the templates saved.
        renamed: (name in the file, name saved) for names already taken.
        skipped: names of templates identical to one already kept.
        errors: problems with entries that were not imported.
    """

    added: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()
    skipped: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


def slugify(name: str) -> str:
    """Return a file-name-safe form of ``name``: lower case, words joined by '-'."""
    slug = re.sub(r"[\W_]+", "-", name.casefold()).strip("-")
    return slug[:60].rstrip("-") or "template"


class TemplateLibrary(QObject):
    """The template files in one folder.

    Files that cannot be read are listed in ``errors`` and left on disk.

    Signals:
        changed: Templates were saved, deleted, imported or reloaded.
    """

    changed = Signal()

    def __init__(self, folder: Path | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._folder = folder or default_folder()
        self._templates: dict[str, JobTemplate] = {}
        self.errors: list[str] = []
        self.reload()

    @property
    def folder(self) -> Path:
        """Folder the template files are in."""
        return self._folder

    def templates(self) -> list[JobTemplate]:
        """Return every template, sorted by name."""
        return sorted(self._templates.values(), key=lambda t: t.name.casefold())

    def get(self, template_id: str) -> JobTemplate | None:
        """Return the template saved as ``template_id``."""
        return self._templates.get(template_id)

    def find_by_name(self, name: str) -> JobTemplate | None:
        """Return the template called ``name`` (case-insensitive), if any."""
        key = name.strip().casefold()
        return next(
            (t for t in self._templates.values() if t.name.casefold() == key), None
        )

    def reload(self) -> None:
        """Read the folder again."""
        templates: dict[str, JobTemplate] = {}
        errors: list[str] = []
        if self._folder.is_dir():
            for path in sorted(self._folder.glob("*.json")):
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                    template = JobTemplate.from_json(data, template_id=path.stem)
                except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                    errors.append(f"{path.name}: cannot read the file: {exc}")
                    continue
                except TemplateFormatError as exc:
                    errors.append(f"{path.name}: {exc}")
                    continue
                templates[path.stem] = template
        for error in errors:
            logger.warning("Skipping template file %s", error)
        self._templates, self.errors = templates, errors
        self.changed.emit()

    def save(self, template: JobTemplate) -> JobTemplate:
        """Write ``template``; one without ``template_id`` gets a new file.

        Returns the template as saved, with its ``template_id``.
        """
        template_id = template.template_id or self._free_id(template.name)
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        saved = replace(template, template_id=template_id, updated_at=stamp)
        self._write(self._folder / f"{template_id}.json", saved.to_json())
        self._templates[template_id] = saved
        logger.info("Saved job template %r as %s", saved.name, template_id)
        self.changed.emit()
        return saved

    def delete(self, template_id: str) -> None:
        """Remove a template and its file."""
        if self._templates.pop(template_id, None) is None:
            return
        (self._folder / f"{template_id}.json").unlink(missing_ok=True)
        logger.info("Deleted job template %s", template_id)
        self.changed.emit()

    def export(self, path: Path, template_ids: Iterable[str] | None = None) -> int:
        """Write templates (all when ``template_ids`` is None) to one file; return how many."""
        ids = list(template_ids) if template_ids is not None else None
        chosen = [t for t in self.templates() if ids is None or t.template_id in ids]
        bundle = {
            "format": BUNDLE_FORMAT,
            "version": FORMAT_VERSION,
            "templates": [t.to_json() for t in chosen],
        }
        self._write(path, bundle)
        logger.info("Exported %d job template(s) to %s", len(chosen), path)
        return len(chosen)

    def import_file(self, path: Path) -> ImportReport:
        """Add the templates of an export file or a single template file.

        Raises:
            TemplateFormatError: the file is not JSON, or neither kind of file.
        """
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TemplateFormatError(f"cannot read {path.name}: {exc}") from exc
        if isinstance(data, Mapping) and data.get("format") == BUNDLE_FORMAT:
            entries = data.get("templates")
            if not isinstance(entries, list):
                raise TemplateFormatError("'templates' must be a list")
        elif isinstance(data, Mapping) and "flow_id" in data:
            entries = [data]
        else:
            raise TemplateFormatError(
                f"{path.name} is neither a job template nor a template export"
            )
        return self._import_entries(entries)

    def _import_entries(self, entries: list[Any]) -> ImportReport:
        added, renamed, skipped, errors = [], [], [], []
        for index, entry in enumerate(entries):
            try:
                template = JobTemplate.from_json(entry)
            except TemplateFormatError as exc:
                errors.append(f"template {index + 1}: {exc}")
                continue
            existing = self.find_by_name(template.name)
            if existing is not None and existing.same_content(template):
                skipped.append(template.name)
                continue
            name = template.name
            if existing is not None:
                name = self._free_name(template.name)
                renamed.append((template.name, name))
            self.save(replace(template, name=name, template_id=""))
            added.append(name)
        return ImportReport(tuple(added), tuple(renamed), tuple(skipped), tuple(errors))

    def _free_id(self, name: str) -> str:
        base = slugify(name)
        candidate, number = base, 2
        while (
            candidate in self._templates
            or (self._folder / f"{candidate}.json").exists()
        ):
            candidate = f"{base}-{number}"
            number += 1
        return candidate

    def _free_name(self, name: str) -> str:
        number = 2
        while self.find_by_name(f"{name} ({number})") is not None:
            number += 1
        return f"{name} ({number})"

    @staticmethod
    def _write(path: Path, data: dict[str, Any]) -> None:
        """Write JSON through a temporary file, so a crash never leaves half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        handle, temporary = tempfile.mkstemp(
            prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent
        )
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


_shared: dict[Path, TemplateLibrary] = {}


def shared_library() -> TemplateLibrary:
    """Return the app's library for the current config folder, made on first use.

    The menus, the new-job dialog and the job detail share it, so a template
    saved in one place shows up in the others at once.
    """
    folder = default_folder()
    library = _shared.get(folder)
    if library is None:
        library = TemplateLibrary(folder)
        _shared[folder] = library
    return library
