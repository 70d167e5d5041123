"""Placeholders in job params, filled in when a job starts.

Any string in the params, at any depth, may contain:

- ``${today}``: the local date, such as ``2026-12-04``;
- ``${now}``: the local time in ISO 8601 with its UTC offset, such as
  ``2026-12-04T17:03:12+01:00``;
- ``${uuid}``: a new random UUID; each occurrence gets its own;
- ``${ask:NAME}``: a value the user enters when the job starts; every
  occurrence of one NAME gets the same value.

``$${`` stands for a literal ``${``. Any other ``${...}``, and a ``${``
without its ``}``, is an error that is reported before the job is sent, so a
misspelt placeholder never reaches the server as text. Object keys are never
expanded. Values stay strings: ``"${today}"`` becomes ``"2026-12-04"``.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
SIMPLE_NAMES = ("today", "now", "uuid")
ASK_PREFIX = "ask:"


class PlaceholderError(ValueError):
    """A placeholder that is unknown or malformed.

    Attributes:
        path: where in the params the string is, such as ``orders[2].day``.
    """

    def __init__(self, message: str, path: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


@dataclass(frozen=True)
class Placeholder:
    """One placeholder found in the params.

    Attributes:
        name: ``today``, ``now``, ``uuid`` or ``ask``.
        argument: the NAME of ``${ask:NAME}``, else None.
        path: where in the params it is.
    """

    name: str
    argument: str | None
    path: str


def local_now() -> datetime:
    """Return the current local time with its UTC offset."""
    return datetime.now().astimezone()


def scan(params: Any) -> list[Placeholder]:
    """Return every placeholder in ``params``, in document order.

    Raises:
        PlaceholderError: for the first unknown or malformed placeholder.
    """
    found: list[Placeholder] = []
    for path, text in _strings(params, ""):
        for match in _TOKEN.finditer(text):
            placeholder = _parse(match, path)
            if placeholder is not None:
                found.append(placeholder)
    return found


def ask_names(params: Any) -> list[str]:
    """Return the distinct ``${ask:NAME}`` names, in first-use order.

    Raises:
        PlaceholderError: as ``scan`` does.
    """
    names = (p.argument for p in scan(params) if p.name == "ask" and p.argument)
    return list(dict.fromkeys(names))


def expand(
    params: dict[str, Any],
    *,
    answers: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = local_now,
    new_uuid: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> dict[str, Any]:
    """Return a copy of ``params`` with every placeholder filled in.

    ``clock`` is read once, so ``${today}`` and ``${now}`` agree everywhere.
    A naive datetime from ``clock`` is taken as local time.

    Raises:
        PlaceholderError: an unknown or malformed placeholder, or an
            ``${ask:NAME}`` without an entry in ``answers``.
    """
    moment = clock()
    if moment.tzinfo is None:
        moment = moment.astimezone()
    values = {
        "today": moment.date().isoformat(),
        "now": moment.isoformat(timespec="seconds"),
    }
    given = dict(answers or {})

    def replace_in(text: str, path: str) -> str:
        def substitute(match: re.Match[str]) -> str:
            placeholder = _parse(match, path)
            if placeholder is None:
                return "${"
            if placeholder.name == "uuid":
                return new_uuid()
            if placeholder.name == "ask":
                name = placeholder.argument or ""
                if name not in given:
                    raise PlaceholderError(f"no value given for ${{ask:{name}}}", path)
                return given[name]
            return values[placeholder.name]

        return _TOKEN.sub(substitute, text)

    result = _map_strings(params, "", replace_in)
    assert isinstance(result, dict)
    return result


def _parse(match: re.Match[str], path: str) -> Placeholder | None:
    """Return the placeholder a token stands for; None for the ``$${`` escape."""
    token = match.group(0)
    if token == "$${":
        return None
    if match.group(1) is None:
        raise PlaceholderError(
            "'${' without a closing '}'; write '$${' for a literal '${'", path
        )
    body = match.group(1).strip()
    if body in SIMPLE_NAMES:
        return Placeholder(body, None, path)
    if body.startswith(ASK_PREFIX):
        name = body[len(ASK_PREFIX) :].strip()
        if not name:
            raise PlaceholderError("${ask:NAME} needs a name after 'ask:'", path)
        return Placeholder("ask", name, path)
    known = ", ".join(f"${{{name}}}" for name in SIMPLE_NAMES)
    raise PlaceholderError(
        f"unknown placeholder ${{{body}}}; use {known} or ${{ask:NAME}}", path
    )


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, _child(path, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, _child(path, index))


def _map_strings(value: Any, path: str, change: Callable[[str, str], str]) -> Any:
    if isinstance(value, str):
        return change(value, path)
    if isinstance(value, Mapping):
        return {
            key: _map_strings(item, _child(path, str(key)), change)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [
            _map_strings(item, _child(path, index), change)
            for index, item in enumerate(value)
        ]
    return value
