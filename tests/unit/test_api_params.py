"""The REST parameter types (api/params.py) and the rule that every route uses them: each
parameter in the OpenAPI document is bounded, and every date or date-time is the shared type."""

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from api.app import create_app
from api.cursor import CURSOR_MAX_LENGTH, CURSOR_PATTERN, Position, decode, encode
from api.params import DATE_PATTERN, DATE_TIME_PATTERN, Day, Instant, contains, like_escape
from api.settings import ApiSettings

INSTANT: TypeAdapter[datetime] = TypeAdapter(Instant)
DAY: TypeAdapter[date] = TypeAdapter(Day)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-28T14:00:00Z", datetime(2026, 11, 28, 14, tzinfo=UTC)),
        ("2026-11-28T15:00:00+01:00", datetime(2026, 11, 28, 14, tzinfo=UTC)),
        ("2026-11-28T14:00:00.5Z", datetime(2026, 11, 28, 14, 0, 0, 500_000, tzinfo=UTC)),
        ("2026-11-28T14:00:00.123456-00:30", datetime(2026, 11, 28, 14, 30, 0, 123456, UTC)),
        ("1900-01-01T00:00:00+14:00", datetime(1899, 12, 31, 10, tzinfo=UTC)),
        ("2099-12-31T23:59:59-23:59", datetime(2100, 1, 1, 23, 58, 59, tzinfo=UTC)),
        ("2024-02-29T00:00:00Z", datetime(2024, 2, 29, tzinfo=UTC)),
    ],
)
def test_instants_accepted(text: str, expected: datetime) -> None:
    parsed = INSTANT.validate_python(text)
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0001-01-01T00:00:00+14:00", "year must be 1900 to 2099"),
        ("9999-12-31T23:59:59-14:00", "year must be 1900 to 2099"),
        ("1899-12-31T23:59:59Z", "year must be 1900 to 2099"),
        ("2100-01-01T00:00:00Z", "year must be 1900 to 2099"),
        ("0", "a number is not a date-time"),
        ("1700000000", "a number is not a date-time"),
        ("-1.5e3", "a number is not a date-time"),
        ("2026-11-28T14:00:00", "a timezone is required"),
        ("2026-11-28T14:00", "a timezone is required"),
        ("2026-11-28", "RFC 3339"),
        ("2026-02-30T00:00:00Z", "no such day"),
        ("2026-11-28T24:00:00Z", "RFC 3339"),
        ("2026-11-28T14:00:60Z", "RFC 3339"),
        ("2026-11-28T14:00:00.1234567Z", "RFC 3339"),
        ("2026-11-28 14:00:00Z", "RFC 3339"),
        ("2026-11-28T14:00:00z", "RFC 3339"),
        ("2026-11-28T14:00:00Z\n", "RFC 3339"),
        ("٢٠٢٦-11-28T14:00:00Z", "RFC 3339"),  # other scripts' digits
        ("", "RFC 3339"),
        ("x" * 10_000, "RFC 3339"),
    ],
)
def test_instants_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ValidationError) as refused:
        INSTANT.validate_python(text)
    message = refused.value.errors()[0]["msg"]
    assert reason in message
    assert len(message) < 200  # the value is shown cut short


@pytest.mark.parametrize("value", [0, 1.5, None, datetime(2026, 1, 1, tzinfo=UTC)])
def test_only_text_is_an_instant(value: Any) -> None:
    with pytest.raises(ValidationError):
        INSTANT.validate_python(value)


def test_an_instant_keeps_its_offset() -> None:
    parsed = INSTANT.validate_python("2026-06-01T12:00:00+01:00")
    assert parsed.utcoffset() == timedelta(hours=1)
    assert parsed.tzinfo == timezone(timedelta(hours=1))


@pytest.mark.parametrize("text", ["2026-11-28", "1900-01-01", "2099-12-31", "2024-02-29"])
def test_days_accepted(text: str) -> None:
    assert DAY.validate_python(text) == date.fromisoformat(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0001-01-01", "year must be 1900 to 2099"),
        ("9999-12-31", "year must be 1900 to 2099"),
        ("2100-01-01", "year must be 1900 to 2099"),
        ("0", "a number is not a date"),
        ("20261128", "a number is not a date"),
        ("2026-02-30", "no such day"),
        ("2025-02-29", "no such day"),
        ("2026-1-1", "YYYY-MM-DD"),
        ("2026-11-28T00:00:00Z", "YYYY-MM-DD"),
        ("2026-11-28\n", "YYYY-MM-DD"),
        ("", "YYYY-MM-DD"),
    ],
)
def test_days_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ValidationError) as refused:
        DAY.validate_python(text)
    assert reason in refused.value.errors()[0]["msg"]


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        ("Kempton", "Kempton"),
        ("%", "\\%"),
        ("_", "\\_"),
        ("\\", "\\\\"),
        ("a\\%b_c%", "a\\\\\\%b\\_c\\%"),
    ],
)
def test_like_patterns_match_only_the_text(value: str, pattern: str) -> None:
    assert like_escape(value) == pattern
    assert contains(value) == f"%{pattern}%"
    assert contains(None) is None


# -- every route's parameters -----------------------------------------------------------------

# The live stream's HTTP routes are the stream's (api/stream.py), outside this rule for now.
EXEMPT = {"/v1/stream/token", "/v1/stream/status"}


def _parameters() -> list[tuple[str, str, str, dict[str, Any], dict[str, Any]]]:
    document = create_app(ApiSettings()).openapi()
    found = []
    for path, operations in document["paths"].items():
        if path in EXEMPT:
            continue
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                found.append(
                    (method, path, parameter["name"], parameter["schema"], document["components"])
                )
    return found


def _resolved(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null alternatives of `schema`, references resolved."""
    if "$ref" in schema:
        return _resolved(components["schemas"][schema["$ref"].rsplit("/", 1)[-1]], components)
    if "anyOf" in schema:
        return [
            one
            for alternative in schema["anyOf"]
            for one in _resolved(alternative, components)
            if one.get("type") != "null"
        ]
    return [schema]


def _unbounded(pattern: str) -> bool:
    """Whether `pattern` admits strings of any length (a repeat with no upper bound)."""
    return re.search(r"[^\\[][*+]|,}", pattern) is not None


def _problems(schema: dict[str, Any], components: dict[str, Any]) -> list[str]:
    problems = []
    for one in _resolved(schema, components):
        kind = one.get("type")
        if kind == "string" and one.get("format") == "date-time":
            if one.get("pattern") != DATE_TIME_PATTERN:
                problems.append("a date-time that is not api.params.Instant")
        elif kind == "string" and one.get("format") == "date":
            if one.get("pattern") != DATE_PATTERN:
                problems.append("a date that is not api.params.Day")
        elif kind == "string":
            if "enum" not in one and "pattern" not in one:
                problems.append("a string without a pattern (NUL is not refused)")
            elif "enum" not in one and "maxLength" not in one and _unbounded(one["pattern"]):
                problems.append("a string without a length bound")
        elif kind in ("integer", "number"):
            if "minimum" not in one and "exclusiveMinimum" not in one:
                problems.append(f"an {kind} without a minimum")
            if "maximum" not in one and "exclusiveMaximum" not in one:
                problems.append(f"an {kind} without a maximum")
        elif kind == "array":
            if "maxItems" not in one:
                problems.append("a list without a length bound")
            problems += _problems(one["items"], components)
        else:
            problems.append(f"a parameter of type {kind}")
    return problems


@pytest.mark.parametrize(
    ("method", "path", "name", "schema", "components"),
    [pytest.param(*p, id=f"{p[0]} {p[1]} {p[2]}") for p in _parameters()],
)
def test_every_parameter_is_bounded(
    method: str, path: str, name: str, schema: dict[str, Any], components: dict[str, Any]
) -> None:
    assert _problems(schema, components) == []


def test_the_rule_sees_every_kind_of_parameter() -> None:
    kinds = {
        (one.get("type"), one.get("format"))
        for *_, schema, components in _parameters()
        for one in _resolved(schema, components)
    }
    assert {("string", "date-time"), ("string", "date"), ("integer", None)} <= kinds
    assert {("number", None), ("array", None), ("string", None)} <= kinds


# -- the cursor of /v1/odds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "position",
    [
        Position(datetime(2026, 11, 28, 14, 0, 0, 123456, UTC), "rac_1", "hrs_2", "bet365"),
        Position(datetime(1900, 1, 1, tzinfo=UTC), "r", "h", "x_lucky_star_bet"),
        Position(datetime(2199, 12, 31, 23, 59, 59, 999999, UTC), "a" * 64, "é" * 64, "日" * 64),
    ],
)
def test_a_cursor_names_its_position(position: Position) -> None:
    cursor = encode(position)
    assert re.fullmatch(CURSOR_PATTERN, cursor)
    assert len(cursor) <= CURSOR_MAX_LENGTH
    assert decode(cursor) == position


@pytest.mark.parametrize(
    "cursor", ["0-00-00-00", "f" * 14 + "-ff-c3-ed", "1-" + "ff" * 256 + "-00-80"]
)
def test_every_cursor_the_pattern_allows_is_a_position(cursor: str) -> None:
    """Never a 422 for a value the document allows: odd bytes and NUL are replaced."""
    assert re.fullmatch(CURSOR_PATTERN, cursor)
    position = decode(cursor)
    assert "\x00" not in position.race_id + position.horse_id + position.bookmaker_id
    assert position.time.year >= 1900


@given(st.from_regex(CURSOR_PATTERN, fullmatch=True))
def test_any_cursor_matching_the_pattern_decodes(cursor: str) -> None:
    decode(cursor)
