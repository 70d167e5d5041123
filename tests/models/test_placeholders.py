"""Tests for job-param placeholders: today, now, uuid, ask, escapes and errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.models.placeholders import (
    PlaceholderError,
    ask_names,
    expand,
    local_now,
    scan,
)

PLUS_ONE = timezone(timedelta(hours=1))
MOMENT = datetime(2026, 12, 4, 17, 3, 12, 500_000, tzinfo=PLUS_ONE)


def fixed_clock():
    return MOMENT


def counting_uuids():
    numbers = iter(range(100))
    return lambda: f"uuid-{next(numbers)}"


def test_today_is_local_date():
    """${today} becomes the clock's local date."""
    assert expand({"day": "${today}"}, clock=fixed_clock) == {"day": "2026-12-04"}


def test_now_is_iso_with_offset():
    """${now} is ISO 8601 to the second with the UTC offset."""
    result = expand({"at": "${now}"}, clock=fixed_clock)

    assert result == {"at": "2026-12-04T17:03:12+01:00"}


def test_now_from_real_clock_has_offset():
    """The default clock gives the local zone's offset, never a naive time."""
    text = expand({"at": "${now}"})["at"]

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", text)
    assert local_now().utcoffset() is not None


def test_naive_clock_is_taken_as_local():
    """A clock without a zone still gives a time with an offset."""
    text = expand({"at": "${now}"}, clock=lambda: datetime(2026, 1, 2, 3, 4, 5))["at"]

    assert text.startswith("2026-01-02T03:04:05")
    assert re.search(r"[+-]\d\d:\d\d$", text)


def test_each_uuid_is_new():
    """Every ${uuid} gets its own value."""
    result = expand(
        {"a": "${uuid}", "b": ["${uuid}", "x-${uuid}"]},
        clock=fixed_clock,
        new_uuid=counting_uuids(),
    )

    assert result == {"a": "uuid-0", "b": ["uuid-1", "x-uuid-2"]}


def test_default_uuid_is_random_uuid4():
    """Without an injected source, ${uuid} is a random UUID."""
    first, second = expand({"a": "${uuid}", "b": "${uuid}"}).values()

    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", first
    )
    assert first != second


def test_ask_uses_one_answer_per_name():
    """Every ${ask:NAME} of one name gets the same value."""
    params = {"customer": "${ask:customer}", "note": "for ${ask:customer} on ${today}"}

    result = expand(params, answers={"customer": "ACME"}, clock=fixed_clock)

    assert result == {"customer": "ACME", "note": "for ACME on 2026-12-04"}


def test_ask_names_in_first_use_order():
    """The names to ask for are listed once each, in document order."""
    params = {"b": "${ask:second}", "a": ["${ask:first}", "${ask:second}"]}

    assert ask_names(params) == ["second", "first"]


def test_missing_answer_is_error():
    """An ${ask:NAME} without a value is never sent as text."""
    with pytest.raises(PlaceholderError, match=r"no value given for \$\{ask:who\}"):
        expand({"who": "${ask:who}"}, answers={})


def test_unknown_placeholder_is_error_with_path():
    """A misspelt placeholder names itself and where it is."""
    with pytest.raises(PlaceholderError) as caught:
        scan({"orders": [{"day": "${tody}"}]})

    assert caught.value.path == "orders[0].day"
    assert "unknown placeholder ${tody}" in str(caught.value)


def test_unknown_placeholder_stops_expand():
    """expand raises instead of sending an unknown placeholder."""
    with pytest.raises(PlaceholderError):
        expand({"x": "${yesterday}"}, clock=fixed_clock)


def test_unclosed_placeholder_is_error():
    """A ${ without its closing brace is an error, not text."""
    with pytest.raises(PlaceholderError, match="without a closing"):
        scan({"x": "${today"})


def test_empty_ask_name_is_error():
    """${ask:} needs a name."""
    with pytest.raises(PlaceholderError, match="needs a name"):
        scan({"x": "${ask: }"})


def test_escape_writes_literal():
    """$${ stands for a literal ${ and is not a placeholder."""
    result = expand({"shell": "echo $${HOME} on ${today}"}, clock=fixed_clock)

    assert result == {"shell": "echo ${HOME} on 2026-12-04"}
    assert scan({"shell": "$${anything}"}) == []


def test_keys_and_other_values_untouched():
    """Keys are never expanded, and numbers, booleans and null pass through."""
    params = {"${today}": 1, "n": 2.5, "ok": True, "none": None}

    assert expand(params, clock=fixed_clock) == params


def test_params_not_changed_in_place():
    """expand returns a copy and leaves the template's params as they were."""
    params = {"day": "${today}", "list": ["${today}"]}

    expand(params, clock=fixed_clock)

    assert params == {"day": "${today}", "list": ["${today}"]}


def test_utc_clock_date():
    """The date is the clock's own date, not UTC's."""
    late = datetime(2026, 12, 4, 23, 30, tzinfo=UTC).astimezone(PLUS_ONE)

    assert expand({"d": "${today}"}, clock=lambda: late) == {"d": "2026-12-05"}
