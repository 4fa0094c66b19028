"""Turning The Racing API's strings into typed values (domain.md section 1).

Every number upstream is a string; prices can be "SP", "-" or "" (no price), fractional odds can be
"evs", starting prices carry favourite markers ("13/8F", "2/1JF"), `updated` is naive UK local
time. Each function returns None for "no value" and raises `ValueError` for junk, so callers can
count the two apart.
"""

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")
# "-" and, in results' ratings, an en dash (U+2013) mean no value.
NO_VALUE = frozenset({"", "-", "\u2013", "\u2014"})
NO_PRICE = frozenset({"", "-", "SP", "sp", "N/A", "n/a"})
POSITION_CODES = frozenset(
    {"PU", "F", "UR", "BD", "RO", "DSQ", "VO", "RR", "CO", "SU", "LFT", "REF", "DNF", "NR", "WDU"}
)
_FRACTION = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
# Favourite markers after an SP: F, JF (joint), CF (co-favourite) and a bare J ("7/2J", joint).
_SP = re.compile(r"^\s*(?P<price>.+?)\s*(?P<fav>JF|CF|F|J)?\s*$", re.IGNORECASE)
_WEIGHT = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")
_MAX_DECIMAL = Decimal("100000")


def blank(value: str | None) -> bool:
    return value is None or not value.strip()


@lru_cache(maxsize=4096)
def decimal_price(value: str | None) -> Decimal | None:
    """A decimal price ("3.75"); None for no price ("SP", "-", ""); ValueError for junk."""
    if value is None or value.strip() in NO_PRICE:
        return None
    try:
        price = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal price: {value!r}") from None
    if not price.is_finite() or price <= 1 or price > _MAX_DECIMAL:
        raise ValueError(f"decimal price out of range: {value!r}")
    exponent = price.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        return price.quantize(Decimal("0.0001")).normalize()
    return price


@lru_cache(maxsize=4096)
def fractional_price(value: str | None) -> Decimal | None:
    """The decimal equivalent of fractional odds ("11/4" -> 3.75, "evs" -> 2)."""
    if value is None or value.strip() in NO_PRICE:
        return None
    text = value.strip().lower()
    if text in {"evs", "evens", "even", "ev"}:
        return Decimal(2)
    match = _FRACTION.match(text)
    if match is None:
        raise ValueError(f"not fractional odds: {value!r}")
    numerator, denominator = int(match[1]), int(match[2])
    if numerator == 0 or denominator == 0:
        raise ValueError(f"fractional odds out of range: {value!r}")
    return (Decimal(numerator) / Decimal(denominator) + 1).quantize(Decimal("0.0001")).normalize()


def starting_price(value: str | None) -> tuple[Decimal | None, bool, bool]:
    """An SP string -> (decimal, favourite, joint favourite): "2/1JF" -> (3, True, True).

    A bare "J" ("7/2J") is a joint favourite too; "CF" (co-favourites) is shared likewise."""
    text = (value or "").strip()
    if not text:
        return None, False, False
    match = _SP.match(text)
    if match is None:  # pragma: no cover - the pattern matches any non-blank text
        raise ValueError(f"not a starting price: {value!r}")
    fav = (match["fav"] or "").upper()
    price = match["price"]
    parsed = fractional_price(price)
    return parsed, bool(fav), fav in {"J", "JF", "CF"}


@lru_cache(maxsize=4096)
def uk_local_to_utc(value: str | None) -> datetime | None:
    """Naive UK local "YYYY-MM-DD HH:MM:SS" (e.g. odds `updated`) -> aware UTC."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a UK local time: {value!r}") from None
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    return naive.replace(tzinfo=UK).astimezone(UTC)


@lru_cache(maxsize=4096)
def instant(value: str | None) -> datetime | None:
    """An ISO time with offset (`off_dt`, `changed_at`) -> aware UTC; naive means UK local."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO time: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UK)
    return parsed.astimezone(UTC)


def day(value: str | None) -> date | None:
    text = (value or "").strip()
    return date.fromisoformat(text) if text else None


@lru_cache(maxsize=4096)
def integer(value: str | int | None) -> int | None:
    """ "12" -> 12; "", "-" -> None; junk -> ValueError."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = value.strip()
    if text in NO_VALUE:
        return None
    return int(text)


def number(value: str | None) -> Decimal | None:
    """ "8.0", ".5", "8f" -> Decimal; "", "-" -> None."""
    if value is None:
        return None
    text = value.strip().rstrip("f").strip()
    if text in NO_VALUE:
        return None
    try:
        parsed = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not parsed.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return parsed


def weight_lbs(stones_pounds: str | None, lbs: str | None = None) -> int | None:
    """Weight in pounds from "9-7" (stones-pounds) or a pounds string."""
    if not blank(lbs):
        return integer(lbs)
    text = (stones_pounds or "").strip()
    if not text:
        return None
    match = _WEIGHT.match(text)
    if match is None:
        raise ValueError(f"not a stones-pounds weight: {stones_pounds!r}")
    return int(match[1]) * 14 + int(match[2])


def position(value: str | None) -> tuple[str, int | None]:
    """A finishing position -> (as quoted, numeric place or None): "PU" -> ("PU", None)."""
    text = (value or "").strip()
    if not text:
        return "", None
    if text.isdigit():
        place = int(text)
        return text, place if place >= 1 else None
    return text.upper() if text.upper() in POSITION_CODES else text, None


def now_utc() -> datetime:
    return datetime.now(UTC)
