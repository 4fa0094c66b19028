"""Cursors of feeds ordered by (time, race_id, horse_id, bookmaker_id): a row's position, written
so that the parameter's published `pattern` says exactly which cursors are accepted.

A cursor is the time in microseconds since 1900-01-01 UTC, then each id's UTF-8 bytes, in
lower-case hex separated by `-`. Every string matching the pattern is a position (ids that exist
or not, bytes decoded leniently), so a value the OpenAPI document allows is never refused, and
anything else is a 422 naming `cursor`. Clients pass back what they were given; the format is no
promise.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

from fastapi import Query

_EPOCH: Final = datetime(1900, 1, 1, tzinfo=UTC)
_TIME_DIGITS: Final = 14  # 16**14 µs after 1900 is past the year 4000: always a datetime
_ID_BYTES: Final = 256  # an id of 64 characters, 4 bytes each at most
CURSOR_PATTERN: Final = f"^[0-9a-f]{{1,{_TIME_DIGITS}}}(-([0-9a-f]{{2}}){{1,{_ID_BYTES}}}){{3}}$"
CURSOR_MAX_LENGTH: Final = _TIME_DIGITS + 3 * (1 + 2 * _ID_BYTES)


@dataclass(frozen=True, slots=True)
class Position:
    """A row's place in the order; the next page starts after it."""

    time: datetime
    race_id: str
    horse_id: str
    bookmaker_id: str


def encode(position: Position) -> str:
    micros = (position.time - _EPOCH) // timedelta(microseconds=1)
    ids = (position.race_id, position.horse_id, position.bookmaker_id)
    return "-".join([format(micros, "x"), *(i.encode().hex() for i in ids)])


def decode(cursor: str) -> Position:
    """The position of a cursor that matches CURSOR_PATTERN (the route's Query checked it)."""
    time, *ids = cursor.split("-")
    race_id, horse_id, bookmaker_id = (_text(i) for i in ids)
    return Position(_EPOCH + timedelta(microseconds=int(time, 16)), race_id, horse_id, bookmaker_id)


def _text(hex_bytes: str) -> str:
    # Bytes no id has (not UTF-8, or NUL, which PostgreSQL text cannot hold) still name a place
    # in the order: replaced, they sort somewhere, and an id that was never issued matches none.
    return bytes.fromhex(hex_bytes).decode(errors="replace").replace("\x00", "\ufffd")


Cursor = Annotated[
    str | None,
    Query(
        max_length=CURSOR_MAX_LENGTH,
        pattern=CURSOR_PATTERN,
        description="`meta.next_cursor` of the previous page; the first page without it.",
    ),
]
