"""A trace function that stops any Python code outside the sandbox during an evaluation.

Operators and built-ins call special methods of the values they receive
(``__eq__``, ``__hash__``, ``__len__``, ``__getitem__``, ...). For built-in
types those are C code, but a user class can define them in Python, and
such a method could do anything. While an expression evaluates, the code
guard is the thread's ``sys.settrace`` function: every new Python frame
whose code is not part of this package or of a short list of standard
library modules is stopped at its first line with SandboxViolation.

NOTE: the guard replaces any trace function (a debugger, coverage) in the
evaluating thread for the duration of the evaluation and restores it
afterwards, so those tools do not see the sandbox's own frames.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import FrameType
from typing import Any

from embedded_server.debug.errors import SandboxViolation

_PACKAGE_DIRECTORY = os.path.dirname(os.path.abspath(__file__)) + os.sep

# Standard library modules whose Python code may run inside an evaluation:
# the value classes the sandbox renders and compares (enum, fractions,
# uuid, ipaddress, pathlib, ...), the ABC machinery behind isinstance(),
# inspect for argument binding, and codecs with the import system so that
# str.encode() can load a codec from the encodings package.
_ALLOWED_MODULES = (
    "abc", "_weakrefset", "_collections_abc", "collections", "numbers", "enum",
    "fractions", "decimal", "_pydecimal", "datetime", "uuid", "ipaddress",
    "pathlib", "posixpath", "ntpath", "genericpath", "os", "inspect", "codecs",
    "stringprep", "importlib._bootstrap", "importlib._bootstrap_external",
    "zoneinfo", "zoneinfo._common", "zoneinfo._tzpath", "zoneinfo._zoneinfo",
)  # fmt: skip
_ALLOWED_PACKAGES = ("encodings",)


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
            files.add(os.path.abspath(path))
    prefixes = [_PACKAGE_DIRECTORY]
    for name in _ALLOWED_PACKAGES:
        package = importlib.import_module(name)
        prefixes.append(os.path.dirname(os.path.abspath(package.__file__)) + os.sep)
    return frozenset(files), tuple(prefixes)


_ALLOWED_FILES, _ALLOWED_PREFIXES = _allowed_locations()
# Decisions by code filename; filenames are few, so the cache stays small.
_decisions: dict[str, bool] = {}


def is_allowed_file(filename: str) -> bool:
    """Return True if Python code from filename may run during an evaluation."""
    decision = _decisions.get(filename)
    if decision is None:
        path = filename if filename.startswith("<") else os.path.abspath(filename)
        decision = path in _ALLOWED_FILES or path.startswith(_ALLOWED_PREFIXES)
        _decisions[filename] = decision
    return decision


class CodeGuard:
    """Installs the trace function for one evaluation and reports if it was removed.

    Attributes:
        active: True between start() and stop().
    """

    __slots__ = ("_trace", "_previous", "active")

    def __init__(self) -> None:
        # Keep one bound-method object, so gettrace() can be compared to it.
        self._trace = self._on_trace
        self._previous: Any = None
        self.active = False

    def start(self) -> None:
        self._previous = sys.gettrace()
        sys.settrace(self._trace)
        self.active = True

    def stop(self) -> None:
        self.active = False
        sys.settrace(self._previous)
        self._previous = None

    def check(self) -> None:
        """Raise SandboxViolation if the trace function is no longer installed.

        CPython removes a trace function that raises, so after a stopped
        call the guard must not be trusted to stay in place.
        """
        if sys.gettrace() is not self._trace:
            raise SandboxViolation(
                "the code guard was removed during the evaluation; it was stopped"
            )

    def _on_trace(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return None
        code = frame.f_code
        if is_allowed_file(code.co_filename):
            return None
        raise SandboxViolation(
            f"the expression would run {code.co_qualname}() from "
            f"{os.path.basename(code.co_filename)}, and expressions run no "
            "Python code of user classes"
        )
