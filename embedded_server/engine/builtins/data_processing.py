"""Working Mapper, Filter and SchemaValidator, plus their routilux 1.1.0 aliases.

routilux 1.1.0 registers ``DataTransformer`` as an alias of ``Mapper`` and
``DataValidator`` as an alias of ``SchemaValidator``. The classes here keep
that behaviour. They are distinct subclasses, so a flow exported to DSL keeps
the name it was written with.
"""

from __future__ import annotations

import logging
from typing import Any

from routilux.builtin_routines import data_processing as upstream
from routilux.builtin_routines.data_processing import schema_validator

from embedded_server.engine.builtins import _support as support

logger = logging.getLogger(__name__)


class Mapper(support.InputSlotAdapter, upstream.Mapper):
    """Map each input item to a new dict of fields.

    Slot ``input``: each item is mapped on its own (a non-dict item is read as
    ``{"value": item}``). Events: ``output(mapped_data, fields_mapped)`` per
    item; ``error(error, original_data)`` when mapping an item raises.

    Config:
        mappings: ``{target_field: source}``. A source is a field name, a dot
            path (``user.profile.name``, ``items[0].sku``), a ``$.`` path
            (JSONPath when jsonpath-ng is installed, else read as a dot
            path), a dict ``{path, default, transform}`` or a callable that
            receives the whole item.
        drop_missing: leave out targets whose source is missing (default
            True); when False they get ``default_value``.
        keep_unmapped: also copy the item's fields whose names are not
            mapping targets, source fields included (default False).
        default_value: value for missing fields when ``drop_missing`` is False.
    """

    def __init__(self) -> None:
        super().__init__()
        self.adopt_standard_calling()


class DataTransformer(Mapper):
    """Same behaviour and config as ``Mapper``; routilux 1.1.0 registers this name as its alias."""


class Filter(support.InputSlotAdapter, upstream.Filter):
    """Route each input item to a pass or a reject event by a condition.

    Slot ``input``. Events: ``passed(data)`` and ``rejected(data, reason)``,
    under the names in ``pass_event`` and ``reject_event``.

    Config:
        condition: None passes everything. A dict passes items whose fields
            equal all the given values. A string passes dict items whose field
            of that name is truthy. A list passes items equal to one of its
            values. A callable passes items for which it returns a truthy
            value (or ``(passes, reason)``). A condition that raises rejects
            the item with the error as reason.
        invert: swap passing and rejecting (default False).
        include_reason: add ``reason`` to rejected items (default True).
        pass_event / reject_event: event names (default ``passed`` and
            ``rejected``); the events are created when configured.
    """

    def __init__(self) -> None:
        super().__init__()
        self.adopt_standard_calling()
        self._events_follow_config = True
        self._add_configured_events()

    def set_config(self, **kwargs: Any) -> None:
        """Extend ``set_config`` to create the configured pass and reject events."""
        super().set_config(**kwargs)
        if getattr(self, "_events_follow_config", False):
            self._add_configured_events()

    def emit(self, event_name: str, *args: Any, **kwargs: Any) -> None:
        """Extend ``emit`` to send to the configured event names.

        WORKAROUND: routilux 1.1.0's ``Filter._run_logic`` always emits
        ``passed`` and ``rejected`` and ignores ``pass_event`` and
        ``reject_event``.
        """
        if event_name == "passed":
            event_name = self.get_config("pass_event") or "passed"
        elif event_name == "rejected":
            event_name = self.get_config("reject_event") or "rejected"
        super().emit(event_name, *args, **kwargs)

    def _add_configured_events(self) -> None:
        for key, params in (
            ("pass_event", ["data"]),
            ("reject_event", ["data", "reason"]),
        ):
            name = self.get_config(key)
            if name and self.get_event(name) is None:
                self.add_event(name, params)


class SchemaValidator(support.InputSlotAdapter, upstream.SchemaValidator):
    """Validate each input item against a schema.

    Slot ``input``. Events: ``valid(validated_data, schema_type)`` and
    ``invalid(errors, original_data, schema_type)``, where ``errors`` is a
    list of ``"path: message"`` strings.

    Config:
        schema: a JSON Schema dict (needs the jsonschema package), a pydantic
            model class, or a callable returning a bool or ``(valid, errors)``.
            None accepts everything.
        schema_type: ``auto`` (default; detected from ``schema``),
            ``jsonschema``, ``pydantic`` or ``custom``.
        strict_mode: report only the first error (default False reports all).
        coerce_types: let pydantic coerce types (default True); False
            validates in pydantic's strict mode.
        custom_validators: ``{field: callable}`` checked after the schema; a
            field whose validator returns a falsy value or raises is an error.
    """

    def __init__(self) -> None:
        super().__init__()
        self.adopt_standard_calling()

    def _validate_item(
        self, data: Any, schema: Any, schema_type: str, strict_mode: bool
    ) -> tuple[bool, list[str], Any]:
        # WORKAROUND: routilux 1.1.0 documents strict_mode and
        # custom_validators but never reads them while validating.
        is_valid, errors, validated = super()._validate_item(
            data, schema, schema_type, strict_mode
        )
        field_errors = self._field_errors(validated)
        errors = list(errors) + field_errors
        if strict_mode:
            errors = errors[:1]
        return is_valid and not field_errors, errors, validated

    def _validate_pydantic(self, data: Any, model: type) -> tuple[bool, list[str], Any]:
        # WORKAROUND: routilux 1.1.0 calls model.model_validate_strict(), which
        # pydantic 2 does not have, when coerce_types is False.
        if self.get_config("coerce_types", True):
            return super()._validate_pydantic(data, model)
        try:
            validated = model.model_validate(data, strict=True)
        except schema_validator.PydanticValidationError as error:
            return False, _pydantic_messages(error), data
        return True, [], validated.model_dump()

    def _validate_jsonschema(self, data: Any, schema: dict) -> tuple[bool, list[str]]:
        # Report every violation rather than only the first one that
        # jsonschema.validate() raises; strict_mode trims the list later.
        if not schema_validator.HAS_JSONSCHEMA:
            return super()._validate_jsonschema(data, schema)
        validator_class = schema_validator.jsonschema.validators.validator_for(schema)
        violations = sorted(
            validator_class(schema).iter_errors(data),
            key=lambda error: list(error.absolute_path),
        )
        errors = [f"{_json_path(error)}: {error.message}" for error in violations]
        return not errors, errors

    def _field_errors(self, data: Any) -> list[str]:
        validators = self.get_config("custom_validators") or {}
        if not validators:
            return []
        if not isinstance(data, dict):
            return ["root: custom field validators need a dict item"]

        errors = []
        for field, validator in validators.items():
            try:
                passed = bool(validator(data.get(field)))
            except Exception as error:  # a validator that raises rejects the field
                errors.append(
                    f"{field}: validator raised {type(error).__name__}: {error}"
                )
                continue
            if not passed:
                errors.append(f"{field}: failed custom validation")
        return errors


class DataValidator(SchemaValidator):
    """Same behaviour and config as ``SchemaValidator``; routilux 1.1.0 registers this name as its alias."""


def _json_path(error: Any) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "root"


def _pydantic_messages(error: Any) -> list[str]:
    return [
        f"{'.'.join(str(part) for part in detail['loc']) or 'root'}: {detail['msg']}"
        for detail in error.errors()
    ]
