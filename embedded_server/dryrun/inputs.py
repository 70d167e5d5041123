"""The params an entry routine declares it needs, and which of them a dry run lacks.

A routine declares required params in any of these ways, all optional:

- a ``required_params`` (or ``REQUIRED_PARAMS``) attribute: a list of names;
- a ``required_params`` config key: a list of names;
- an ``input_schema`` attribute or config key: a JSON Schema object whose
  ``required`` lists the names;
- for the built-in ``SchemaValidator``/``DataValidator``, a JSON Schema in its
  ``schema`` config, whose ``required`` applies to the job params;
- for the built-in ``Splitter``, its ``field`` config: the param it splits.

A routine that declares nothing gets ``declared=False``; nothing is guessed
from its code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from routilux.builtin_routines.control_flow.splitter import Splitter
from routilux.builtin_routines.data_processing.schema_validator import SchemaValidator
from routilux.core.routine import Routine

NAME_ATTRIBUTES = ("required_params", "REQUIRED_PARAMS")


@dataclass(frozen=True)
class InputDeclaration:
    """Required param names of one routine, and where each declaration was found."""

    required: tuple[str, ...]
    sources: tuple[str, ...]

    @property
    def declared(self) -> bool:
        return bool(self.sources)

    def missing(self, params: Mapping[str, Any]) -> list[str]:
        """Return the required names that ``params`` has no key for."""
        return [name for name in self.required if name not in params]


def declared_inputs(routine: Routine) -> InputDeclaration:
    """Collect the routine's declarations of required params."""
    found: list[tuple[str, list[str]]] = []
    for name in NAME_ATTRIBUTES:
        value = getattr(routine, name, None)
        if value is not None:
            found.append((f"attribute {name}", _names(value)))
    config_names = routine.get_config("required_params")
    if config_names is not None:
        found.append(("config required_params", _names(config_names)))

    schema = getattr(routine, "input_schema", None)
    if isinstance(schema, Mapping):
        found.append(("attribute input_schema", _schema_required(schema)))
    schema = routine.get_config("input_schema")
    if isinstance(schema, Mapping):
        found.append(("config input_schema", _schema_required(schema)))

    if isinstance(routine, SchemaValidator):
        schema = routine.get_config("schema")
        if isinstance(schema, Mapping):
            found.append(("config schema (JSON Schema)", _schema_required(schema)))
    if isinstance(routine, Splitter):
        split_field = routine.get_config("field")
        if isinstance(split_field, str) and split_field:
            found.append(("config field (Splitter)", [split_field]))

    required: list[str] = []
    for _, names in found:
        required += [name for name in names if name not in required]
    return InputDeclaration(tuple(required), tuple(source for source, _ in found))


def _names(value: Any) -> list[str]:
    # A lone string is one name, a common slip for a one-item list.
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return [item for item in value if isinstance(item, str)]
    return []


def _schema_required(schema: Mapping[str, Any]) -> list[str]:
    # NOTE: only the top-level "required" list is read. Nested objects,
    # allOf/anyOf branches and type constraints are not checked.
    return _names(schema.get("required") or [])
