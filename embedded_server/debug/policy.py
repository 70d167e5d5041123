"""Access rules of the sandbox: plain data types, callable methods and readable attributes.

The evaluator never uses plain ``getattr`` or ``isinstance`` on the values it
meets, because both can run code that a value's class defines (properties,
``__getattr__``, a ``__class__`` property). Classes are inspected through the
descriptors of ``type`` itself, and attributes are read only from an
instance's ``__dict__``, from slots, or from C-level data descriptors.
"""

from __future__ import annotations

import collections
import datetime
import enum
import types
import zoneinfo
from typing import Any

NONE_TYPE = type(None)

# Exact types whose values are "plain data". Order matters in plain_base():
# bool before int, because bool is a subclass of int.
PLAIN_TYPES = (
    NONE_TYPE, bool, int, float, complex, str, bytes,
    list, tuple, dict, set, frozenset,
)  # fmt: skip
PLAIN_TYPE_SET = frozenset(PLAIN_TYPES)

ALLOWED_BUILTIN_NAMES = (
    "len", "abs", "min", "max", "sum", "round", "sorted", "any", "all",
    "str", "int", "float", "bool", "list", "dict", "set", "tuple", "isinstance",
)  # fmt: skip

_TEXT_QUERIES = frozenset(
    "count endswith find index isalnum isalpha isascii isdigit islower isspace "
    "istitle isupper rfind rindex startswith".split()
)
_TEXT_TRANSFORMS = frozenset(
    "capitalize center expandtabs join ljust lower lstrip partition removeprefix "
    "removesuffix replace rjust rpartition rsplit rstrip split splitlines strip "
    "swapcase title upper zfill".split()
)
_SET_METHODS = frozenset(
    "copy difference intersection isdisjoint issubset issuperset "
    "symmetric_difference union".split()
)
_INT_METHODS = frozenset({"as_integer_ratio", "bit_count", "bit_length", "conjugate"})

# Public methods that expressions may call, per plain type. Only methods that
# do not change their receiver and whose cost the evaluator can bound.
# format, format_map, maketrans, translate, to_bytes and fromhex are left out.
ALLOWED_METHODS: dict[type, frozenset[str]] = {
    NONE_TYPE: frozenset(),
    bool: _INT_METHODS,
    int: _INT_METHODS,
    float: frozenset({"as_integer_ratio", "conjugate", "hex", "is_integer"}),
    complex: frozenset({"conjugate"}),
    str: _TEXT_QUERIES
    | _TEXT_TRANSFORMS
    | frozenset("casefold encode isdecimal isidentifier isnumeric isprintable".split()),
    bytes: _TEXT_QUERIES | _TEXT_TRANSFORMS | frozenset({"decode", "hex"}),
    list: frozenset({"count", "index", "copy"}),
    tuple: frozenset({"count", "index"}),
    dict: frozenset({"get", "keys", "values", "items", "copy"}),
    set: _SET_METHODS,
    frozenset: _SET_METHODS,
}
ALLOWED_METHOD_NAMES = frozenset().union(*ALLOWED_METHODS.values())

# Data attributes of plain numbers that expressions may read.
DATA_ATTRIBUTES: dict[type, frozenset[str]] = {
    bool: frozenset({"real", "imag", "numerator", "denominator"}),
    int: frozenset({"real", "imag", "numerator", "denominator"}),
    float: frozenset({"real", "imag"}),
    complex: frozenset({"real", "imag"}),
}

# Attribute names of frames, code objects, generators, coroutines,
# tracebacks, functions, cells and properties. They are rejected at compile
# time whatever the object, in addition to every name that starts with "_".
FORBIDDEN_ATTRIBUTES = frozenset(
    """
    f_back f_builtins f_code f_globals f_lasti f_lineno f_locals f_trace
    f_trace_lines f_trace_opcodes
    co_argcount co_cellvars co_code co_consts co_exceptiontable co_filename
    co_firstlineno co_flags co_freevars co_kwonlyargcount co_lines co_linetable
    co_lnotab co_name co_names co_nlocals co_positions co_posonlyargcount
    co_qualname co_stacksize co_varnames
    gi_code gi_frame gi_running gi_suspended gi_yieldfrom
    cr_await cr_code cr_frame cr_origin cr_running cr_suspended
    ag_await ag_code ag_frame ag_running
    tb_frame tb_lasti tb_lineno tb_next
    func_closure func_code func_defaults func_dict func_doc func_globals func_name
    im_class im_func im_self cell_contents fget fset fdel
    mro format format_map
    """.split()
)

# Objects whose attributes are never read: code, classes, modules, functions
# and anything else that can be called or that exposes interpreter state.
_OPAQUE_TYPES = (
    type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
    types.MethodType, types.CodeType, types.FrameType, types.TracebackType,
    types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType,
    types.CellType, types.MappingProxyType, property, classmethod, staticmethod,
)  # fmt: skip

# C-level data descriptors: reading them runs no Python code of the class.
_SAFE_DESCRIPTORS = (
    types.GetSetDescriptorType,
    types.MemberDescriptorType,
    type(collections.namedtuple("_Probe", "field").field),
)

_type_dict = type.__dict__["__dict__"].__get__
_type_mro = type.__dict__["__mro__"].__get__
_type_name = type.__dict__["__name__"].__get__
_type_module = type.__dict__["__module__"].__get__
_MISSING = object()


class SandboxObject:
    """Base of the evaluator's own objects: built-in wrappers and iterators."""

    __slots__ = ()
    display_type = "object"

    def describe(self) -> str:
        """Return the text that previews and str() show for this object."""
        return f"<{self.display_type} object>"


def is_a(value: Any, classes: type | tuple[type, ...]) -> bool:
    """Return isinstance(value, classes) without consulting ``value.__class__``."""
    return issubclass(type(value), classes)


def type_name(value: Any) -> str:
    """Return the name of the value's type, read without running class code."""
    if is_a(value, SandboxObject):
        return value.display_type
    return _type_name(type(value))


def class_name(cls: type) -> str:
    return _type_name(cls)


def class_module(cls: type) -> str:
    module = _type_module(cls)
    return module if type(module) is str else "?"


def plain_base(value: Any) -> type | None:
    """Return the plain type that value is, or is a subclass of, else None."""
    cls = type(value)
    if cls in PLAIN_TYPE_SET:
        return cls
    for base in PLAIN_TYPES:
        if issubclass(cls, base):
            return base
    return None


def mro(cls: type) -> tuple[type, ...]:
    return _type_mro(cls)


def static_lookup(cls: type, name: str) -> tuple[type | None, Any]:
    """Find name in the class dictionaries along cls's MRO, without running code.

    Returns:
        (owner, raw) where raw is the object stored in the owner's
        ``__dict__``, or (None, _MISSING) when no class defines the name.
    """
    for klass in _type_mro(cls):
        namespace = _type_dict(klass)
        if name in namespace:
            return klass, namespace[name]
    return None, _MISSING


def is_missing(raw: Any) -> bool:
    return raw is _MISSING


def instance_dict(value: Any) -> dict | None:
    """Return the value's instance ``__dict__`` if a C descriptor provides it."""
    _, raw = static_lookup(type(value), "__dict__")
    if type(raw) not in (types.GetSetDescriptorType, types.MemberDescriptorType):
        return None
    namespace = raw.__get__(value, type(value))
    return namespace if type(namespace) is dict else None


def is_opaque(value: Any) -> bool:
    """Return True for values whose attributes are never read."""
    return is_a(value, _OPAQUE_TYPES) or is_a(value, SandboxObject) or callable(value)


def method_is_inherited(value: Any, base: type, name: str) -> bool:
    """Return True if value's class uses ``base``'s own method ``name``."""
    return static_lookup(type(value), name)[1] is static_lookup(base, name)[1]


def read_attribute(value: Any, name: str, bind_method: Any) -> Any:
    """Read ``value.name`` under the sandbox's rules.

    Plain data offers its allowed methods (through ``bind_method(value,
    base, name)``) and a few number attributes. Other objects offer only
    stored data: instance ``__dict__`` entries, slots, C-level data
    descriptors, and non-callable class attributes. Properties and other
    Python descriptors are not run, and callable values are not returned.

    Raises:
        AttributeError: with a message that names the rule that applied.
    """
    cls = type(value)
    if cls in PLAIN_TYPE_SET and name in ALLOWED_METHODS[cls]:
        return bind_method(value, cls, name)  # the common case, checked first
    if is_opaque(value):
        raise AttributeError(
            f"attributes of '{type_name(value)}' objects cannot be read in expressions"
        )
    base = plain_base(value)
    if base is not None and name in ALLOWED_METHODS[base]:
        if not method_is_inherited(value, base, name):
            raise AttributeError(
                f"'{type_name(value)}.{name}' is defined by a user class; "
                "expressions call only methods of plain data"
            )
        return bind_method(value, base, name)
    if base is not None and name in DATA_ATTRIBUTES.get(base, ()):
        return static_lookup(base, name)[1].__get__(value, base)
    if is_a(value, enum.Enum) and name in ("name", "value"):
        return _enum_attribute(value, name)
    if type(value) in PLAIN_TYPE_SET:
        _reject_plain_attribute(value, name)
    return _read_stored_attribute(value, name)


def _reject_plain_attribute(value: Any, name: str) -> None:
    cls = type(value)
    if is_missing(static_lookup(cls, name)[1]):
        raise AttributeError(f"'{type_name(value)}' object has no attribute '{name}'")
    allowed = ", ".join(sorted(ALLOWED_METHODS[cls] | DATA_ATTRIBUTES.get(cls, set())))
    raise AttributeError(
        f"'{type_name(value)}.{name}' is not available in expressions; "
        f"allowed: {allowed or 'none'}"
    )


def _enum_attribute(member: enum.Enum, name: str) -> Any:
    namespace = instance_dict(member) or {}
    key = "_name_" if name == "name" else "_value_"
    if key not in namespace:
        raise AttributeError(f"'{type_name(member)}' object has no attribute '{name}'")
    return namespace[key]


def _read_stored_attribute(value: Any, name: str) -> Any:
    cls = type(value)
    owner, raw = static_lookup(cls, name)
    kind = _descriptor_kind(raw)
    namespace = instance_dict(value)

    if kind == "data":
        if type(raw) is property and owner in TRUSTED_CLASSES:
            # Properties of trusted standard library classes (Path.name,
            # Fraction.numerator, UUID.hex) compute from the value alone.
            result = raw.__get__(value, cls)
        elif type(raw) not in _SAFE_DESCRIPTORS:
            noun = "a property" if is_a(raw, property) else "computed by a descriptor"
            raise AttributeError(
                f"'{type_name(value)}.{name}' is {noun}; expressions read stored "
                "attributes only"
            )
        else:
            result = raw.__get__(value, cls)
    elif namespace is not None and name in namespace:
        result = namespace[name]
    elif kind == "method":
        raise AttributeError(
            f"'{type_name(value)}.{name}' is a method or computed attribute; "
            "expressions call only methods of plain data"
        )
    elif owner is not None:
        result = raw
    else:
        raise AttributeError(f"'{type_name(value)}' object has no attribute '{name}'")

    if callable(result):
        raise AttributeError(
            f"'{type_name(value)}.{name}' is callable; expressions read data "
            "attributes only"
        )
    return result


def _descriptor_kind(raw: Any) -> str | None:
    """Classify a class attribute: "data" descriptor, "method"-like, or None."""
    if raw is _MISSING:
        return None
    raw_type = type(raw)
    has_get = not is_missing(static_lookup(raw_type, "__get__")[1])
    has_set = not is_missing(static_lookup(raw_type, "__set__")[1])
    has_delete = not is_missing(static_lookup(raw_type, "__delete__")[1])
    if has_get and (has_set or has_delete):
        return "data"
    if has_get or callable(raw):
        return "method"
    return None


def _stdlib_value_classes() -> frozenset[type]:
    """Classes from the standard library whose __repr__/__str__ are safe to call."""
    import decimal
    import fractions
    import ipaddress
    import pathlib
    import uuid

    modules = (datetime, decimal, fractions, ipaddress, pathlib, uuid, zoneinfo)
    classes = {
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type) and not issubclass(value, BaseException)
    }
    return frozenset(classes)


TRUSTED_CLASSES = _stdlib_value_classes()
_SAFE_TZINFO = (datetime.timezone, zoneinfo.ZoneInfo)


def has_trusted_method(value: Any, name: str) -> bool:
    """Return True if value's ``name`` method comes from a trusted stdlib class.

    A datetime whose tzinfo is a user class does not count, because its
    repr and str call that tzinfo's methods.
    """
    owner, _ = static_lookup(type(value), name)
    if owner not in TRUSTED_CLASSES:
        return False
    for base in (datetime.datetime, datetime.time):
        if is_a(value, base):
            tzinfo = _type_dict(base)["tzinfo"].__get__(value, base)
            return tzinfo is None or type(tzinfo) in _SAFE_TZINFO
    return True
