"""Loading routine modules and flow files the way the stock server does.

A routines folder contains Python files that register routine classes with
routilux's ``ObjectFactory``; a flows folder contains YAML or JSON DSL files.
One broken file never stops the others: it is recorded as a load error with
the reason, and the rest loads. ``reload_flow_file`` loads one file again
after it changed on disk (see ``engine.watcher``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import sys
import traceback
from pathlib import Path

import yaml

from embedded_server.engine.catalog import (
    FlowCatalog,
    FlowDefinitionError,
    FlowSpec,
    parse_flow,
)

logger = logging.getLogger(__name__)

FLOW_SUFFIXES = (".yaml", ".yml", ".json")


def load_routine_modules(folder: Path, catalog: FlowCatalog) -> int:
    """Import every ``*.py`` file in ``folder``; return how many imported cleanly."""
    if not folder.is_dir():
        catalog.add_error(folder, "routines", "folder not found; check --routines-dir")
        return 0
    loaded = 0
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        if _import_file(path, catalog):
            loaded += 1
    logger.info("Imported %d routine module(s) from %s", loaded, folder)
    return loaded


def _import_file(path: Path, catalog: FlowCatalog) -> bool:
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    name = f"overseer_routines_{path.stem}_{digest}"
    if name in sys.modules:
        return True
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        catalog.add_error(path, "routines", "not an importable Python file")
        return False
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ModuleNotFoundError as exc:
        del sys.modules[name]
        catalog.add_error(path, "routines", f"missing module '{exc.name}': {exc}")
        return False
    except BaseException as exc:  # noqa: BLE001 - user code may raise anything
        del sys.modules[name]
        if isinstance(exc, KeyboardInterrupt):
            raise
        where = _user_frame(exc, path)
        catalog.add_error(path, "routines", f"{type(exc).__name__}: {exc}{where}")
        return False
    return True


def _user_frame(exc: BaseException, path: Path) -> str:
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)
    ]
    return f" (line {frames[-1].lineno})" if frames else ""


def load_flow_files(folder: Path, catalog: FlowCatalog) -> int:
    """Load every flow file in ``folder``; return how many loaded cleanly."""
    if not folder.is_dir():
        catalog.add_error(folder, "flow", "folder not found; check --flows-dir")
        return 0
    catalog.flow_folders.append(folder)
    loaded = 0
    for path in sorted(folder.iterdir()):
        if is_flow_file(path) and path.is_file():
            loaded += load_flow_file(path, catalog)
    logger.info("Loaded %d flow(s) from %s", loaded, folder)
    return loaded


def is_flow_file(path: Path) -> bool:
    """Return whether ``path`` has the name of a flow file (YAML or JSON)."""
    return path.suffix.lower() in FLOW_SUFFIXES


def load_flow_file(path: Path, catalog: FlowCatalog) -> int:
    """Load one flow file into the catalog; return 1 on success, 0 on error."""
    try:
        flow = read_flow_file(path)
    except FlowDefinitionError as exc:
        catalog.add_error(path, "flow", str(exc))
        return 0
    if catalog.get(flow.flow_id) is not None:
        catalog.add_error(path, "flow", f"flow id '{flow.flow_id}' is already loaded")
        return 0
    catalog.add(flow)
    return 1


def read_flow_file(path: Path) -> FlowSpec:
    """Read and check one flow file.

    Raises:
        FlowDefinitionError: the file cannot be read, does not parse or is not
            a flow this server can run; the message names the problem.
    """
    try:
        text = path.read_text(encoding="utf-8")
        dsl = (
            json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        )
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowDefinitionError(f"cannot read the file: {exc}") from exc
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise FlowDefinitionError(f"invalid {path.suffix[1:].upper()}: {exc}") from exc
    return parse_flow(dsl, source=str(path))


def reload_flow_file(path: Path, catalog: FlowCatalog) -> str:
    """Load ``path`` again after it changed on disk, and return what happened.

    Returns one of ``loaded`` (the flow now runs the file's DSL), ``unchanged``
    (the DSL is the one already running), ``removed`` (the file is gone, so its
    flow is unregistered) or ``broken`` (the file does not load; the flow it
    defined before keeps running its last good version, and the load errors
    contain the reason). Jobs already running keep the FlowSpec they started with.
    """
    previous = catalog.by_source(path)
    catalog.clear_errors(path)
    if not path.is_file():
        if previous is None:
            return "unchanged"
        catalog.remove(previous.flow_id)
        logger.info("Flow %s unregistered: %s was removed", previous.flow_id, path)
        return "removed"

    try:
        flow = read_flow_file(path)
        owner = catalog.get(flow.flow_id)
        if owner is not None and owner.source != str(path):
            raise FlowDefinitionError(
                f"flow id '{flow.flow_id}' is already loaded from {owner.source}"
            )
    except FlowDefinitionError as exc:
        _report_broken(path, catalog, previous, str(exc))
        return "broken"

    if owner is not None and owner.dsl == flow.dsl:
        return "unchanged"
    if previous is not None and previous.flow_id != flow.flow_id:
        catalog.remove(previous.flow_id)
    catalog.add(flow)
    logger.info(
        "Flow %s reloaded from %s: version %s", flow.flow_id, path, flow.version
    )
    return "loaded"


def _report_broken(
    path: Path, catalog: FlowCatalog, previous: FlowSpec | None, reason: str
) -> None:
    if previous is None:
        catalog.add_error(path, "flow", reason)
        return
    kept = f"version {previous.version}" if previous.version else "its last good DSL"
    catalog.add_error(
        path,
        "flow",
        f"{reason}; flow '{previous.flow_id}' keeps running {kept}",
        flow_id=previous.flow_id,
        version=previous.version,
    )
