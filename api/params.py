"""The parameter types of every REST route: one definition per kind, bounded the same everywhere.

Each type validates exactly what its OpenAPI schema says (the `pattern` published is the one
checked), so a value the document allows is accepted and anything else is a 422 naming the field:

- `Instant`: an RFC 3339 date-time *with* an offset, seconds and at most 6 fractional digits,
  years 1900 to 2099 (`2026-11-28T14:00:00Z`, `2026-11-28T15:00:00.5+01:00`). A naive date-time
  is refused rather than read as UTC: a price's time is an instant, and a guessed zone would be an
  hour off all summer. Numbers (Unix times) are refused, as is anything outside the years, which
  is also what keeps every offset arithmetic on it from overflowing.
- `Day`: a calendar date `YYYY-MM-DD`, same years.
- `IdPath`, `IdQuery`, `Id`, `text`: strings of bounded length without NUL, which PostgreSQL
  text cannot hold (api.errors.RejectNulBytes answers 422 for NUL anywhere before routing too).
- `Price`: a decimal price above evens and at most 10 000, sent as a plain number.

Text filters that match against names are literal: `contains` and `literal` escape the LIKE
metacharacters, so `%`, `_` and `\\` match themselves.
"""

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Final

from fastapi import Path, Query
from pydantic import BeforeValidator, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

FIRST_YEAR: Final = 1900
LAST_YEAR: Final = 2099
_YEAR = "(19|20)[0-9][0-9]"  # FIRST_YEAR to LAST_YEAR
_DATE = f"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_TIME = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?"
_OFFSET = "(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
# Published as the schemas' `pattern` and checked as written (ASCII classes only: Python's \d would
# also match other scripts' digits).
DATE_TIME_PATTERN: Final = f"^{_DATE}T{_TIME}{_OFFSET}$"
DATE_PATTERN: Final = f"^{_DATE}$"
NO_NUL_PATTERN: Final = "^[^\\x00]*$"
_DATE_TIME = re.compile(DATE_TIME_PATTERN)
_DATE_ONLY = re.compile(DATE_PATTERN)
_NUMBER = re.compile(r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?")
_DATE_TIME_EXAMPLE = "2026-11-28T14:00:00Z"
_DATE_TIME_HINT = f"send an RFC 3339 date-time with a timezone, e.g. {_DATE_TIME_EXAMPLE}"
_DATE_HINT = "send a date as YYYY-MM-DD, e.g. 2026-11-28"
ID_MAX_LENGTH: Final = 64


def _refuse(kind: str, value: Any, why: str) -> PydanticCustomError:
    return PydanticCustomError(
        kind, "{value} is not accepted: {why}", {"value": _shown(value), "why": why}
    )


def _shown(value: Any, limit: int = 40) -> str:
    shown = repr(value)
    return shown if len(shown) <= limit else f"{shown[: limit - 3]}..."


def _instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _refuse("date_time", value, f"send an RFC 3339 date-time, e.g. {_DATE_TIME_EXAMPLE}")
    if _DATE_TIME.fullmatch(value) is None:
        raise _refuse(
            "date_time",
            value,
            _why_not(value, datetime.fromisoformat, "date-time", _DATE_TIME_HINT),
        )
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise _refuse("date_time", value, "there is no such day or time") from None


def _day(value: Any) -> date:
    if not isinstance(value, str):
        raise _refuse("date", value, _DATE_HINT)
    if _DATE_ONLY.fullmatch(value) is None:
        raise _refuse("date", value, _why_not(value, date.fromisoformat, "date", _DATE_HINT))
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _refuse("date", value, "there is no such day") from None


def _why_not(value: str, parse: Callable[[str], date], noun: str, hint: str) -> str:
    """Why `value` is refused, for the 422's message: the closest of the reasons that apply."""
    if _NUMBER.fullmatch(value.strip()):
        return f"a number is not a {noun}; {hint}"
    try:
        parsed = parse(value)
    except ValueError:
        return hint
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        return f"the year must be {FIRST_YEAR} to {LAST_YEAR}"
    if isinstance(parsed, datetime) and parsed.tzinfo is None and "T" in value:
        return f"a timezone is required (Z or an offset such as +01:00), e.g. {_DATE_TIME_EXAMPLE}"
    return hint


Instant = Annotated[
    datetime,
    BeforeValidator(_instant),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": DATE_TIME_PATTERN,
            "description": f"RFC 3339 with a timezone, years {FIRST_YEAR}-{LAST_YEAR}.",
            "examples": [_DATE_TIME_EXAMPLE],
        }
    ),
]
Day = Annotated[
    date,
    BeforeValidator(_day),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": DATE_PATTERN,
            "description": f"YYYY-MM-DD, years {FIRST_YEAR}-{LAST_YEAR}.",
            "examples": ["2026-11-28"],
        }
    ),
]

IdPath = Annotated[str, Path(min_length=1, max_length=ID_MAX_LENGTH, pattern=NO_NUL_PATTERN)]
IdQuery = Annotated[
    str | None, Query(min_length=1, max_length=ID_MAX_LENGTH, pattern=NO_NUL_PATTERN)
]
# An id inside a list parameter (the list's own length is bounded by its route's Query).
Id = Annotated[
    str, StringConstraints(min_length=1, max_length=ID_MAX_LENGTH, pattern=NO_NUL_PATTERN)
]
MAX_LIST_ITEMS: Final = 50


def text(max_length: int, description: str | None = None, **extra: Any) -> Any:
    """A free-text query parameter of at most `max_length` characters, without NUL."""
    return Query(max_length=max_length, pattern=NO_NUL_PATTERN, description=description, **extra)


Price = Annotated[
    Decimal | None,
    Query(gt=1, le=10_000),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 1, "maximum": 10_000}),
]


def like_escape(value: str) -> str:
    """`value` as a LIKE/ILIKE pattern matching exactly itself (the default escape is `\\`)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(value: str | None) -> str | None:
    """A LIKE/ILIKE pattern for `value` anywhere in the text, taken literally; None stays None."""
    return None if value is None else f"%{like_escape(value)}%"
