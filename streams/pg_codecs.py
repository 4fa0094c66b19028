"""Binary codecs for `timestamptz`, `numeric`, `json` and `jsonb` on the sinks' connections.

The race pipeline COPYs two rows per price, and asyncpg's generic encoders cost more than all the
other columns together: about 1.5 µs per timestamp (timezone arithmetic on datetime objects) and
3 µs per numeric given as text (a `Decimal` built and taken apart digit by digit). Here a
timestamp may be given as integer microseconds since the Unix epoch, the board's own clock (one
subtraction and a pack), and a numeric's text is encoded once and cached: prices move on a
ladder of a few hundred values. A `json` or `jsonb` value may be given as the bytes orjson makes,
with no decoding to `str` and encoding back.
"""

import struct
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import asyncpg

from market.clock import micros

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
PG_EPOCH_US = micros(PG_EPOCH)
_INT64 = struct.Struct("!q")
_NUMERIC_HEAD = struct.Struct("!hhHH")  # ndigits, weight, sign, dscale
_POSITIVE, _NEGATIVE, _NAN = 0x0000, 0x4000, 0xC000


def encode_timestamptz(value: int | datetime) -> bytes:
    """Microseconds since the Unix epoch, or an aware datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} for a timestamptz")
        value = micros(value)
    return _INT64.pack(value - PG_EPOCH_US)


def decode_timestamptz(data: bytes) -> datetime:
    return PG_EPOCH + timedelta(microseconds=_INT64.unpack(data)[0])


def encode_numeric(value: str | Decimal | int | float) -> bytes:
    return _encode_numeric_text(value if isinstance(value, str) else str(value))


@lru_cache(maxsize=8192)
def _encode_numeric_text(text: str) -> bytes:
    number = Decimal(text)
    if number.is_nan():
        return _NUMERIC_HEAD.pack(0, 0, _NAN, 0)
    if not number.is_finite():
        raise ValueError(f"{text!r} is not a finite numeric")
    sign, digits, exponent = number.as_tuple()
    exponent = int(exponent)  # finite: an int
    dscale = max(0, -exponent)
    body = "".join(map(str, digits))
    if exponent >= 0:
        whole, fraction = body + "0" * exponent, ""
    elif len(body) > -exponent:
        whole, fraction = body[:exponent], body[exponent:]
    else:
        whole, fraction = "", "0" * (-exponent - len(body)) + body
    whole = whole.lstrip("0")
    whole = "0" * (-len(whole) % 4) + whole
    fraction += "0" * (-len(fraction) % 4)
    groups = [int(whole[i : i + 4]) for i in range(0, len(whole), 4)]
    weight = len(groups) - 1
    groups += [int(fraction[i : i + 4]) for i in range(0, len(fraction), 4)]
    while groups and groups[0] == 0:  # leading zero groups: the first digit is further right
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        return _NUMERIC_HEAD.pack(0, 0, _POSITIVE, dscale)
    head = _NUMERIC_HEAD.pack(len(groups), weight, _NEGATIVE if sign else _POSITIVE, dscale)
    return head + struct.pack(f"!{len(groups)}H", *groups)


def decode_numeric(data: bytes) -> Decimal:
    count, weight, sign, dscale = _NUMERIC_HEAD.unpack_from(data)
    if sign == _NAN:
        return Decimal("NaN")
    whole = 0
    for group in struct.unpack_from(f"!{count}H", data, _NUMERIC_HEAD.size):
        whole = whole * 10000 + group
    exponent = 4 * (weight - count + 1) if count else 0
    if exponent < -dscale:  # the last group's digits past the scale are zeros
        whole //= 10 ** (-dscale - exponent)
    else:
        whole *= 10 ** (exponent + dscale)
    digits = tuple(int(d) for d in str(whole))
    return Decimal((1 if sign == _NEGATIVE else 0, digits, -dscale))


_JSONB_VERSION = b"\x01"  # the binary jsonb format: a version byte, then the JSON text


def encode_json(value: bytes | str) -> bytes:
    """JSON text, as bytes (orjson's) or str: the binary json format is the text alone."""
    return value if isinstance(value, bytes) else value.encode()


def decode_json(data: bytes) -> str:
    return data.decode()


def encode_jsonb(value: bytes | str) -> bytes:
    """JSON text, as bytes (orjson's) or str."""
    return _JSONB_VERSION + encode_json(value)


def decode_jsonb(data: bytes) -> str:
    """The JSON text, as asyncpg's own codec gives it."""
    if data[:1] != _JSONB_VERSION:
        raise ValueError(f"unknown binary jsonb version {data[:1]!r}")
    return data[1:].decode()


async def register(connection: asyncpg.Connection) -> None:
    """Install the codecs on a connection (a pool's `init`)."""
    for name, encoder, decoder in (
        ("timestamptz", encode_timestamptz, decode_timestamptz),
        ("numeric", encode_numeric, decode_numeric),
        ("json", encode_json, decode_json),
        ("jsonb", encode_jsonb, decode_jsonb),
    ):
        await connection.set_type_codec(
            name, schema="pg_catalog", encoder=encoder, decoder=decoder, format="binary"
        )
