"""A trace function that stops any Python code outside the sandbox during an evaluation.

Operators and built-ins call special methods of the values they receive
(``__eq__``, ``__hash__``, ``__len__``, ``__getitem__``, ...). For built-in
types those are C code, but a user class can define them in Python, and
such a method could do anything. While an expression evaluates, the code
guard is the thread's ``sys.settrace`` function. It stops every new Python
frame at its first line with SandboxViolation, unless the frame's code is
part of this package or of a short list of standard library modules.

NOTE: the guard replaces any trace function (a debugger, coverage) in the
evaluating thread for the duration of the evaluation and restores it
afterwards, so those tools do not see the sandbox's own frames.
"""

from __future__ import annotations

import builtins
import gc
import importlib
import os
import sys
import threading
from types import FrameType
from typing import Any

from embedded_server.debug.errors import SandboxViolation

# In a PyInstaller bundle, code objects carry file names relative to the
# bundle (``enum.py``), and modules from its base_library.zip have a
# ``__file__`` inside that archive. Both are mapped to one absolute path below
# the bundle before they are compared.
_BUNDLE_ROOT: str | None = getattr(sys, "_MEIPASS", None)


def _normalize(path: str) -> str:
    """Return the absolute path that code file names and module files share."""
    if _BUNDLE_ROOT is None:
        return os.path.abspath(path)
    if not os.path.isabs(path):
        path = os.path.join(_BUNDLE_ROOT, path)
    archive = os.path.join(_BUNDLE_ROOT, "base_library.zip") + os.sep
    if path.startswith(archive):
        path = os.path.join(_BUNDLE_ROOT, path[len(archive) :])
    return path[:-1] if path.endswith(".pyc") else path


_PACKAGE_DIRECTORY = os.path.dirname(_normalize(__file__)) + os.sep

# Standard library modules whose Python code may run inside an evaluation.
# They are the value classes that the sandbox renders and compares (enum,
# fractions, uuid, ipaddress, pathlib, ...), the ABC machinery behind
# isinstance() and inspect for argument binding. Codecs, re and the import
# system are there so that str.encode() can load a codec module.
_ALLOWED_MODULES = (
    "abc", "_weakrefset", "_collections_abc", "collections", "numbers", "enum",
    "fractions", "decimal", "_pydecimal", "datetime", "uuid", "ipaddress",
    "pathlib", "posixpath", "ntpath", "genericpath", "inspect", "codecs",
    "stringprep", "importlib._bootstrap", "importlib._bootstrap_external",
    "zoneinfo", "zoneinfo._common", "zoneinfo._tzpath", "zoneinfo._zoneinfo",
)  # fmt: skip
_ALLOWED_PACKAGES = ("encodings", "re")


def _allowed_locations() -> tuple[frozenset[str], tuple[str, ...]]:
    files: set[str] = set()
    for name in _ALLOWED_MODULES:
        files.add(f"<frozen {name}>")
        module = sys.modules.get(name)
        if module is None:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
        path = getattr(module, "__file__", None)
        if path:
            files.add(_normalize(path))
    prefixes = [_PACKAGE_DIRECTORY]
    for name in _ALLOWED_PACKAGES:
        package = importlib.import_module(name)
        prefixes.append(os.path.dirname(_normalize(package.__file__)) + os.sep)
    return frozenset(files), tuple(prefixes)


_ALLOWED_FILES, _ALLOWED_PREFIXES = _allowed_locations()
# Decisions by code filename; filenames are few, so the cache stays small.
_decisions: dict[str, bool] = {}


def is_allowed_file(filename: str) -> bool:
    """Return True if Python code from filename may run during an evaluation."""
    decision = _decisions.get(filename)
    if decision is None:
        path = filename if filename.startswith("<") else _normalize(filename)
        decision = path in _ALLOWED_FILES or path.startswith(_ALLOWED_PREFIXES)
        _decisions[filename] = decision
    return decision


_import_probe: tuple[Any, frozenset[str]] = (None, frozenset())


def import_hook_files() -> frozenset[str]:
    """Return the files of the import system's Python code in this process.

    C code imports modules at run time (datetime's strftime imports time,
    str.encode() loads a codec) through ``builtins.__import__``, which a
    library may have replaced with a hook that runs Python code (PySide6's
    shiboken does), and through the finders on ``sys.meta_path``. The module
    names come from that C code, not from the expression, so this code may
    run. The hook's files are found by tracing one import of a loaded
    module; the finders' files from their ``find_spec`` methods. Both are
    found again whenever the hook or the finders change.
    """
    global _import_probe
    key = (builtins.__import__, tuple(map(id, sys.meta_path)))
    if _import_probe[0] != key:
        files = _trace_import(builtins.__import__)
        for finder in sys.meta_path:
            code = getattr(getattr(finder, "find_spec", None), "__code__", None)
            if code is not None:
                files.add(code.co_filename)
        _import_probe = (key, frozenset(files))
    return _import_probe[1]


def _trace_import(hook: Any) -> set[str]:
    files: set[str] = set()

    def record(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            files.add(frame.f_code.co_filename)

    previous = sys.gettrace()
    sys.settrace(record)
    try:
        hook("time")
    finally:
        sys.settrace(previous)
    return files


class _Collecting(threading.local):
    """Per thread: True while this thread runs the cyclic garbage collector."""

    active = False


_collecting = _Collecting()


def _on_garbage_collection(phase: str, info: dict[str, int]) -> None:
    _collecting.active = phase == "start"


# Finalizers that the garbage collector runs (``__del__``, generator close,
# weakref callbacks) belong to unrelated objects that happen to be collected
# in the evaluating thread, so the guard lets them run.
gc.callbacks.append(_on_garbage_collection)


class CodeGuard:
    """The trace function of one evaluation, with start() and stop() to install it.

    Attributes:
        trace_function: the installed function; while it is active,
            ``sys.gettrace()`` returns this object unless CPython removed it.
        active: True between start() and stop().
    """

    __slots__ = ("trace_function", "_previous", "_import_files", "active")

    def __init__(self) -> None:
        # One bound-method object, so that gettrace() can be compared to it.
        self.trace_function = self._on_trace
        self._previous: Any = None
        self._import_files: frozenset[str] = frozenset()
        self.active = False

    def start(self) -> None:
        self._import_files = import_hook_files()
        self._previous = sys.gettrace()
        sys.settrace(self.trace_function)
        self.active = True

    def stop(self) -> None:
        self.active = False
        sys.settrace(self._previous)
        self._previous = None

    def _on_trace(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return None
        code = frame.f_code
        filename = code.co_filename
        if (
            is_allowed_file(filename)
            or _collecting.active
            or filename in self._import_files
        ):
            return None
        raise SandboxViolation(
            f"the expression would run {code.co_qualname}() from "
            f"{os.path.basename(filename)}; expressions run no Python code "
            "outside the sandbox"
        )
