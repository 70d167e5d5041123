"""Flows known to the server, described from their DSL and checked at load time."""

from __future__ import annotations

import copy
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from routilux.core.error import ErrorHandler, ErrorStrategy
from routilux.core.routine import Routine
from routilux.tools.factory.factory import ObjectFactory

if TYPE_CHECKING:
    from embedded_server.store.versions import FlowVersionStore

logger = logging.getLogger(__name__)


class FlowDefinitionError(ValueError):
    """A flow's DSL is invalid; the message names the part that is wrong."""


@dataclass(frozen=True)
class RoutineSpec:
    """One routine of a flow: its factory name, configuration and ports."""

    routine_id: str
    class_name: str
    config: dict[str, Any]
    error_handler: dict[str, Any] | None
    slots: tuple[str, ...]
    events: tuple[str, ...]


@dataclass(frozen=True)
class ConnectionSpec:
    """An edge from one routine's event to another routine's slot."""

    source_routine: str
    source_event: str
    target_routine: str
    target_slot: str


@dataclass
class FlowSpec:
    """A flow as the server runs it: the DSL plus what was learned from it.

    A job keeps the FlowSpec it was submitted with, so replacing a flow in
    the catalog never changes jobs already running.

    Attributes:
        version: the number of this DSL in the flow's version history, set
            when the catalog records versions; None before that.
    """

    flow_id: str
    dsl: dict[str, Any]
    routines: dict[str, RoutineSpec]
    connections: list[ConnectionSpec]
    source: str | None = None
    description: str = ""
    targets: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    version: int | None = None

    @property
    def entry_routines(self) -> list[str]:
        """Routines with no incoming connection, where a job can start."""
        fed = {connection.target_routine for connection in self.connections}
        return [rid for rid in self.routines if rid not in fed]

    def instantiate(self) -> dict[str, Routine]:
        """Make fresh routine instances for one job."""
        factory = ObjectFactory.get_instance()
        routines: dict[str, Routine] = {}
        for rid, spec in self.routines.items():
            routine = factory.create(spec.class_name, config=copy.deepcopy(spec.config))
            routine._id = rid
            if spec.error_handler:
                routine.set_error_handler(build_error_handler(spec.error_handler))
            routines[rid] = routine
        return routines

    def to_json(self) -> dict[str, Any]:
        """Describe the flow in the stock ``FlowResponse`` shape, plus entry points."""
        return {
            "flow_id": self.flow_id,
            "routines": {
                rid: {
                    "routine_id": rid,
                    "class_name": spec.class_name,
                    "slots": list(spec.slots),
                    "events": list(spec.events),
                    "config": spec.config,
                }
                for rid, spec in self.routines.items()
            },
            "connections": [
                {
                    "connection_id": f"conn_{index}",
                    "source_routine": c.source_routine,
                    "source_event": c.source_event,
                    "target_routine": c.target_routine,
                    "target_slot": c.target_slot,
                }
                for index, c in enumerate(self.connections)
            ],
            "entry_routines": self.entry_routines,
            "source": self.source,
            "description": self.description,
            "version": self.version,
            "created_at": None,
            "updated_at": None,
        }


def build_error_handler(spec: dict[str, Any]) -> ErrorHandler:
    """Build a routilux ErrorHandler from a DSL ``error_handler`` mapping."""
    strategy = str(spec.get("strategy", "stop")).upper()
    if strategy not in ErrorStrategy.__members__:
        allowed = ", ".join(s.value for s in ErrorStrategy)
        raise FlowDefinitionError(
            f"unknown error_handler strategy {spec.get('strategy')!r}; use one of {allowed}"
        )
    options = {
        key: spec[key]
        for key in ("max_retries", "retry_delay", "retry_backoff", "is_critical")
        if spec.get(key) is not None
    }
    return ErrorHandler(strategy=ErrorStrategy[strategy], **options)


def parse_flow(dsl: Any, *, source: str | None = None) -> FlowSpec:
    """Check a DSL mapping against the factory and describe the flow.

    Raises:
        FlowDefinitionError: the DSL is not a flow this server can run.
    """
    if not isinstance(dsl, dict):
        raise FlowDefinitionError(
            f"expected a mapping at the top level, got {type(dsl).__name__}"
        )
    flow_id = dsl.get("flow_id")
    if not isinstance(flow_id, str) or not flow_id.strip():
        raise FlowDefinitionError(
            "missing 'flow_id': give the flow a non-empty string id"
        )
    raw_routines = dsl.get("routines")
    if not isinstance(raw_routines, dict) or not raw_routines:
        raise FlowDefinitionError(
            "missing 'routines': expected a mapping of routine ids"
        )

    routines = {
        rid: _parse_routine(str(rid), spec) for rid, spec in raw_routines.items()
    }
    connections = _parse_connections(dsl.get("connections", []), routines)
    targets: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for c in connections:
        targets.setdefault((c.source_routine, c.source_event), []).append(
            (c.target_routine, c.target_slot)
        )
    return FlowSpec(
        flow_id=flow_id,
        dsl=dsl,
        routines=routines,
        connections=connections,
        source=source,
        description=str(dsl.get("description", "") or ""),
        targets=targets,
    )


def _parse_routine(rid: str, spec: Any) -> RoutineSpec:
    if not isinstance(spec, dict):
        raise FlowDefinitionError(f"routine '{rid}': expected a mapping with 'class'")
    class_name = spec.get("class")
    factory = ObjectFactory.get_instance()
    if not isinstance(class_name, str) or class_name not in factory._registry:
        known = ", ".join(sorted(factory._registry)) or "none"
        raise FlowDefinitionError(
            f"routine '{rid}': unknown class {class_name!r}; registered classes: {known}"
        )
    config = spec.get("config") or {}
    if not isinstance(config, dict):
        raise FlowDefinitionError(f"routine '{rid}': 'config' must be a mapping")
    error_handler = spec.get("error_handler")
    if error_handler is not None:
        if not isinstance(error_handler, dict):
            raise FlowDefinitionError(
                f"routine '{rid}': 'error_handler' must be a mapping"
            )
        build_error_handler(error_handler)

    try:
        sample = factory.create(class_name, config=copy.deepcopy(config))
    except Exception as exc:
        raise FlowDefinitionError(
            f"routine '{rid}': creating {class_name} failed: {type(exc).__name__}: {exc}"
        ) from exc
    return RoutineSpec(
        routine_id=rid,
        class_name=class_name,
        config=config,
        error_handler=error_handler,
        slots=tuple(sample.slots),
        events=tuple(sample.events),
    )


def _parse_connections(
    raw: Any, routines: dict[str, RoutineSpec]
) -> list[ConnectionSpec]:
    if not isinstance(raw, list):
        raise FlowDefinitionError("'connections' must be a list of {from, to} mappings")
    connections = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or "from" not in item or "to" not in item:
            raise FlowDefinitionError(
                f"connection {index}: expected a mapping with 'from' and 'to'"
            )
        source, event = _split_port(index, "from", item["from"])
        target, slot = _split_port(index, "to", item["to"])
        if source not in routines:
            raise FlowDefinitionError(f"connection {index}: unknown routine '{source}'")
        if target not in routines:
            raise FlowDefinitionError(f"connection {index}: unknown routine '{target}'")
        if event not in routines[source].events:
            raise FlowDefinitionError(
                f"connection {index}: routine '{source}' has no event '{event}'; "
                f"its events: {', '.join(routines[source].events) or 'none'}"
            )
        if slot not in routines[target].slots:
            raise FlowDefinitionError(
                f"connection {index}: routine '{target}' has no slot '{slot}'; "
                f"its slots: {', '.join(routines[target].slots) or 'none'}"
            )
        connections.append(ConnectionSpec(source, event, target, slot))
    return connections


def _split_port(index: int, key: str, value: Any) -> tuple[str, str]:
    parts = value.split(".") if isinstance(value, str) else []
    if len(parts) != 2 or not all(parts):
        raise FlowDefinitionError(
            f"connection {index}: '{key}' must look like 'routine.port', got {value!r}"
        )
    return parts[0], parts[1]


@dataclass(frozen=True)
class LoadError:
    """A file that could not be loaded, and why.

    Attributes:
        flow_id: for a flow file that loaded before and broke when it was
            edited, the flow it defines; that flow keeps running ``version``.
    """

    path: str
    kind: str
    error: str
    flow_id: str | None = None
    version: int | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "path": self.path,
            "kind": self.kind,
            "error": self.error,
        }
        if self.flow_id is not None:
            body["flow_id"] = self.flow_id
            body["version"] = self.version
        return body


class FlowCatalog:
    """The flows the server can run, and the files that failed to load.

    Attributes:
        flow_folders: the folders flow files were loaded from, for a watcher.
    """

    def __init__(self) -> None:
        self._flows: dict[str, FlowSpec] = {}
        self._errors: list[LoadError] = []
        self._lock = threading.Lock()
        self._versions: FlowVersionStore | None = None
        self.flow_folders: list[Path] = []

    def track_versions(self, store: FlowVersionStore) -> None:
        """Record every flow's DSL in ``store``, now and whenever a flow is added."""
        with self._lock:
            self._versions = store
            flows = list(self._flows.values())
        for flow in flows:
            flow.version = store.record(flow.flow_id, flow.dsl, flow.source).version

    @property
    def versions(self) -> FlowVersionStore | None:
        """The version history, once ``track_versions`` was called."""
        return self._versions

    def add(self, flow: FlowSpec) -> None:
        """Add or replace a flow, numbering its DSL first when versions are tracked."""
        store = self._versions
        if store is not None:
            flow.version = store.record(flow.flow_id, flow.dsl, flow.source).version
        with self._lock:
            self._flows[flow.flow_id] = flow

    def remove(self, flow_id: str) -> bool:
        with self._lock:
            return self._flows.pop(flow_id, None) is not None

    def get(self, flow_id: str) -> FlowSpec | None:
        return self._flows.get(flow_id)

    def flows(self) -> list[FlowSpec]:
        with self._lock:
            return sorted(self._flows.values(), key=lambda flow: flow.flow_id)

    def by_source(self, path: Path | str) -> FlowSpec | None:
        """Return the flow loaded from the file ``path``, if any."""
        source = str(path)
        with self._lock:
            return next(
                (flow for flow in self._flows.values() if flow.source == source), None
            )

    def add_error(
        self,
        path: Path | str,
        kind: str,
        error: str,
        *,
        flow_id: str | None = None,
        version: int | None = None,
    ) -> None:
        logger.warning("Could not load %s %s: %s", kind, path, error)
        with self._lock:
            self._errors.append(LoadError(str(path), kind, error, flow_id, version))

    def clear_errors(self, path: Path | str) -> None:
        """Forget the load errors of ``path``, before it is loaded again."""
        with self._lock:
            self._errors = [error for error in self._errors if error.path != str(path)]

    @property
    def load_errors(self) -> list[LoadError]:
        with self._lock:
            return list(self._errors)
