"""Fast decoding of `odds` events for the streams hot path (50,000 prices/s).

`OddsSnapshot.model_validate_json` costs ~15 µs an event, the largest single cost in the worker.
`decode_odds` accepts and rejects exactly what it does, several times faster:

- a price's decimal text is canonical (`canonical`): "2.750" and "2.75" are one price, and
  read back from PostgreSQL it is "2.75" too;
- the fast path is one msgspec decode whose native constraints mirror the model's, plus what
  msgspec cannot check by itself: the decimal text (memoised, as books quote from ladders) and
  times held to <= 6 fractional digits (msgspec rounds a 7th where pydantic truncates). It
  takes what our producers write (`schemas.base.encode`), and whatever it accepts pydantic
  accepts with the same values (tests/unit/streams/test_odds_decode.py proves it);
- anything else (invalid, or valid but unusual: a number as a decimal, "3" as an int, "02.5",
  a time without seconds) goes to pydantic itself, so acceptance and values stay exact and the
  rejection reason is pydantic's.

`schemas/odds.py` stays the contract; this module only mirrors it.
"""

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from pydantic import ValidationError

from market.clock import micros
from schemas.base import (
    EARLIEST,
    EVENT_ID_MAX,
    EVENT_ID_PATTERN,
    ID_MAX,
    ID_PATTERN,
    LATEST,
    RECORD_MAX,
    new_event_id,
    utc_now,
)
from schemas.odds import MAX_RUNNERS, OddsSnapshot

# Lengths and ranges are msgspec's to check; the id pattern and NUL are checked after it, with
# `fullmatch` (msgspec's `pattern` searches, and its `$` would take a trailing newline).
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=ID_MAX)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Code = Annotated[str, msgspec.Meta(max_length=100)]
EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=EVENT_ID_MAX)]
_ID = re.compile(ID_PATTERN.removeprefix("^").removesuffix("$"))
_EVENT_ID = re.compile(EVENT_ID_PATTERN.removeprefix("^").removesuffix("$"))
_ids: set[str] = set()  # race, bookmaker and horse ids known good: they repeat
_IDS_MAX = 262_144
Source = Literal["racing_api", "simulator", "replay"]  # EventSource's values (a test checks)

# Decimal text for `gt=1, max_digits=12, decimal_places=4` that is its own str(Decimal): no sign,
# exponent, spaces or leading zeros; <= 8 whole digits and <= 4 decimals once trailing zeros go
# (pydantic counts the digits of the normalised value); and not 1, 1.0, 1.00...
_DECIMAL = re.compile(r"(?!1(?:\.0+)?\Z)[1-9][0-9]{0,7}(?:\.[0-9]{1,4}0*)?\Z")
_decimals: set[str | None] = {None}  # texts known good: books quote from short ladders
_DECIMALS_MAX = 65_536
# An RFC 3339 time with a 7th fractional digit needs >= 28 characters, 30 as JSON (escapes only
# lengthen it), so the fast path takes times of at most 29 bytes.
_TIME_MAX = 29
_time = msgspec.json.Decoder(Annotated[datetime, msgspec.Meta(tz=True)])


class InvalidOdds(ValueError):
    """A payload `OddsSnapshot` rejects; `reason` names the fields and what was wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PriceIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """`RunnerPrice`, with the decimal as text: str() of the Decimal pydantic would give."""

    horse_id: Id
    decimal: str | None = None  # checked by `decode_odds` (a `pattern` here costs far more)
    fractional: Code | None = None
    ew_places: Annotated[int, msgspec.Meta(ge=0, le=20)] | None = None
    ew_denom: Annotated[int, msgspec.Meta(ge=1, le=20)] | None = None


class OddsIn(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A validated `OddsSnapshot`, as `decode_odds` returns it: `source` is the EventSource
    value, both times are UTC and `source_us` is source_time in microseconds since the epoch
    (exact; computed once here because every consumer orders events by it)."""

    event_id: str
    source: Source
    source_time: datetime
    ingest_time: datetime
    race_id: str
    bookmaker_id: str
    bookmaker: str
    prices: tuple[PriceIn, ...]
    source_us: int


class _Wire(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """The JSON as sent. Times stay raw until their length is checked."""

    source: Source
    source_time: msgspec.Raw
    race_id: Id
    bookmaker_id: Id
    bookmaker: Name
    prices: Annotated[tuple[PriceIn, ...], msgspec.Meta(min_length=1, max_length=MAX_RUNNERS)]
    event_id: EventId = msgspec.field(default_factory=new_event_id)
    ingest_time: msgspec.Raw = msgspec.Raw()  # empty: absent, so now (as pydantic's default)


_wire = msgspec.json.Decoder(_Wire)


def decode_odds(payload: bytes) -> OddsIn:
    """Validate one `odds` payload exactly as `OddsSnapshot.model_validate_json` would, raising
    `InvalidOdds` wherever it raises, and for a payload over `RECORD_MAX` bytes."""
    if len(payload) > RECORD_MAX:
        raise InvalidOdds(f"record of {len(payload)} bytes exceeds the {RECORD_MAX}-byte limit")
    try:
        wire = _wire.decode(payload)
        known, ids = _decimals, _ids
        for price in wire.prices:
            if price.decimal not in known and not _good_decimal(price.decimal):
                return _decode_slowly(payload)
            if price.horse_id not in ids and not _good_id(price.horse_id):
                return _decode_slowly(payload)
            if price.fractional is not None and "\x00" in price.fractional:
                return _decode_slowly(payload)
        if (
            (wire.race_id not in ids and not _good_id(wire.race_id))
            or (wire.bookmaker_id not in ids and not _good_id(wire.bookmaker_id))
            or _EVENT_ID.fullmatch(wire.event_id) is None
            or "\x00" in wire.bookmaker
        ):
            return _decode_slowly(payload)
        prices = wire.prices
        for price in prices:
            if (text := price.decimal) is not None and text[-1] == "0" and "." in text:
                prices = tuple(_trimmed(p) for p in prices)
                break
        raw_source, raw_ingest = wire.source_time, wire.ingest_time
        if len(raw_source) > _TIME_MAX or len(raw_ingest) > _TIME_MAX:
            return _decode_slowly(payload)
        source_time = _time.decode(raw_source)
        if source_time.tzinfo is not UTC:
            source_time = source_time.astimezone(UTC)
        if not raw_ingest:
            ingest_time = utc_now()
        elif (ingest_time := _time.decode(raw_ingest)).tzinfo is not UTC:
            ingest_time = ingest_time.astimezone(UTC)
        if not (EARLIEST <= source_time < LATEST and EARLIEST <= ingest_time < LATEST):
            return _decode_slowly(payload)
    except (msgspec.DecodeError, OverflowError, RecursionError):  # pydantic decides, explains
        return _decode_slowly(payload)
    return OddsIn(
        event_id=wire.event_id,
        source=wire.source,
        source_time=source_time,
        ingest_time=ingest_time,
        race_id=wire.race_id,
        bookmaker_id=wire.bookmaker_id,
        bookmaker=wire.bookmaker,
        prices=prices,
        source_us=micros(source_time),
    )


def canonical(value: Decimal) -> str:
    """A price's one text: its digits without exponent or trailing zeros ("2.75", "100"), as
    PostgreSQL's `trim_scale(numeric)::text` reads it back, so a price restored from the
    database reads as it did live."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _trimmed(price: PriceIn) -> PriceIn:
    text = price.decimal
    if text is None or "." not in text or text[-1] != "0":
        return price
    return msgspec.structs.replace(price, decimal=text.rstrip("0").rstrip("."))


def _good_decimal(text: str | None) -> bool:
    if text is None or _DECIMAL.match(text) is None:
        return False
    if len(_decimals) < _DECIMALS_MAX:
        _decimals.add(text)
    return True


def _good_id(text: str) -> bool:
    if _ID.fullmatch(text) is None:
        return False
    if len(_ids) < _IDS_MAX:
        _ids.add(text)
    return True


def _decode_slowly(payload: bytes) -> OddsIn:
    try:
        snapshot = OddsSnapshot.model_validate_json(payload)
    except ValidationError as error:
        raise InvalidOdds(_reason(error)) from None
    except (ValueError, OverflowError, RecursionError) as error:  # never fatal, whatever it is
        raise InvalidOdds(f"payload: {type(error).__name__}: {error}") from None
    return OddsIn(
        event_id=snapshot.event_id,
        source=snapshot.source.value,  # mypy checks Source covers EventSource
        source_time=snapshot.source_time,
        ingest_time=snapshot.ingest_time,
        race_id=snapshot.race_id,
        bookmaker_id=snapshot.bookmaker_id,
        bookmaker=snapshot.bookmaker,
        prices=tuple(
            PriceIn(
                p.horse_id,
                None if p.decimal is None else canonical(p.decimal),
                p.fractional,
                p.ew_places,
                p.ew_denom,
            )
            for p in snapshot.prices
        ),
        source_us=micros(snapshot.source_time),
    )


def _reason(error: ValidationError) -> str:
    """pydantic's errors on one line, e.g. `prices.0.decimal: Input should be greater than 1
    (got '1.0')`, joined by "; "."""
    errors = error.errors(include_url=False)
    parts = []
    for item in errors:
        kind, value = item["type"], item["input"]
        if kind == "too_short" and value and len(errors) > 1:
            continue  # pydantic's echo of a bad price: "prices: at least 1 item, not 0"
        where = ".".join(str(part) for part in item["loc"]) or "payload"
        got = "" if kind in ("missing", "json_invalid") else f" (got {_short(value)})"
        parts.append(f"{where}: {item['msg']}{got}")
    return "; ".join(parts)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
