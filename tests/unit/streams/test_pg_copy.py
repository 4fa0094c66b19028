"""The native binary COPY encoder (native/pgcopy): the stream's layout, and every value encoded
exactly as the sinks' codecs (streams/pg_codecs.py) and asyncpg's builtins encode it."""

import struct
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from darkhorses_pgcopy import encode
from hypothesis import given
from hypothesis import strategies as st

from streams.pg_codecs import encode_json, encode_jsonb, encode_numeric, encode_timestamptz

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # the signature, flags and no header extension
TRAILER = b"\xff\xff"


def fields(payload: bytes) -> list[list[bytes | None]]:
    """Each row's fields (None: NULL) of a binary COPY stream."""
    assert payload.startswith(SIGNATURE)
    assert payload.endswith(TRAILER)
    rows, at = [], len(SIGNATURE)
    while at < len(payload) - len(TRAILER):
        (count,), at = struct.unpack_from("!h", payload, at), at + 2
        row: list[bytes | None] = []
        for _ in range(count):
            (length,), at = struct.unpack_from("!i", payload, at), at + 4
            row.append(None if length < 0 else payload[at : at + length])
            at += max(length, 0)
        rows.append(row)
    assert at == len(payload) - len(TRAILER)
    return rows


def one(value: Any, kind: str) -> bytes | None:
    """The encoding of one value as a column of type `kind`."""
    return fields(encode([(value,)], [kind]))[0][0]


def test_stream_layout_rows_and_nulls() -> None:
    payload = encode([("a", 1, None), ("bé", -2, "x")], ["text", "int4", "text"])
    assert fields(payload) == [
        [b"a", struct.pack("!i", 1), None],
        ["bé".encode(), struct.pack("!i", -2), b"x"],
    ]
    assert encode([], ["text"]) == SIGNATURE + TRAILER


@given(
    st.integers(-(2**15), 2**15 - 1),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(-(2**63), 2**63 - 1),
)
def test_integers(small: int, regular: int, big: int) -> None:
    row = fields(encode([(small, regular, big)], ["int2", "int4", "int8"]))[0]
    assert row == [struct.pack("!h", small), struct.pack("!i", regular), struct.pack("!q", big)]


@given(st.floats(allow_nan=False) | st.integers(-(2**53), 2**53))
def test_float8(value: float) -> None:
    assert one(value, "float8") == struct.pack("!d", value)


def test_bool_text_json_and_jsonb() -> None:
    assert one(True, "bool") == b"\x01"
    assert one(False, "bool") == b"\x00"
    assert one("Ascot (IRE) € 2m", "text") == "Ascot (IRE) € 2m".encode()
    assert one(b'[1, "2.5"]', "jsonb") == encode_jsonb(b'[1, "2.5"]')
    assert one('{"a": "é"}', "jsonb") == encode_jsonb('{"a": "é"}')
    assert one(b'[1, "2.5"]', "json") == encode_json(b'[1, "2.5"]') == b'[1, "2.5"]'
    assert one('{"a": "é"}', "json") == encode_json('{"a": "é"}')


@given(st.decimals(allow_nan=True, allow_infinity=False))
def test_numeric_as_the_sinks_codec(value: Decimal) -> None:
    assert one(str(value), "numeric") == encode_numeric(str(value))
    assert one(value, "numeric") == encode_numeric(value)


@given(
    st.from_regex(r"\A[+-]?[0-9]{0,12}(\.[0-9]{0,12})?([eE][+-]?[0-9]{1,3})?\Z").filter(
        lambda text: any(c.isdigit() for c in text.split("e")[0].split("E")[0])
    )
)
def test_numeric_texts_as_the_sinks_codec(text: str) -> None:
    assert one(text, "numeric") == encode_numeric(text)


def test_numeric_known_encodings_and_ints() -> None:
    assert one("2.75", "numeric") == bytes.fromhex("000200000000000200021d4c")
    assert one("0.00", "numeric") == bytes.fromhex("0000000000000002")
    assert one(10000, "numeric") == encode_numeric(10000)
    assert one("NaN", "numeric") == encode_numeric("NaN")


@given(st.integers(-(2**62), 2**62))
def test_timestamptz_from_microseconds(micros: int) -> None:
    assert one(micros, "timestamptz") == encode_timestamptz(micros)


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1),  # noqa: DTZ001  # hypothesis bounds are naive
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.builds(timezone, st.timedeltas(timedelta(hours=-23), timedelta(hours=23)))
        | st.just(UTC),
    )
)
def test_timestamptz_from_aware_datetimes(moment: datetime) -> None:
    assert one(moment, "timestamptz") == encode_timestamptz(moment)


@given(st.dates())
def test_date_as_days_since_2000(day: date) -> None:
    assert one(day, "date") == struct.pack("!i", (day - date(2000, 1, 1)).days)


def test_text_arrays() -> None:
    def array(elements: list[str | None], oid: int) -> bytes:
        head = struct.pack("!iiiii", 1, None in elements, oid, len(elements), 1)
        body = b"".join(
            struct.pack("!i", -1) if e is None else struct.pack("!i", len(e.encode())) + e.encode()
            for e in elements
        )
        return head + body

    assert one(["bet365", "sky"], "text[]") == array(["bet365", "sky"], 25)
    assert one(("a", None), "varchar[]") == array(["a", None], 1043)
    assert one([], "text[]") == struct.pack("!iii", 0, 0, 25)


@pytest.mark.parametrize(
    ("value", "kind", "error", "message"),
    [
        (3.5, "numeric", TypeError, "str, int or Decimal expected, got float"),
        ("1_000", "numeric", ValueError, "not a decimal this encoder takes"),
        ("Infinity", "numeric", ValueError, "not a decimal"),
        (datetime(2026, 3, 14, 9), "timestamptz", ValueError, "naive datetime"),  # noqa: DTZ001
        ("2026-03-14", "timestamptz", TypeError, "int or datetime expected, got str"),
        (2**15, "int2", ValueError, "out of range"),
        ("3", "int4", TypeError, "int expected, got str"),
        (1, "bool", TypeError, "bool expected"),
        (datetime(2026, 3, 14, tzinfo=UTC), "date", TypeError, "not datetime"),
        (["a", 1], "text[]", TypeError, "str expected, got int"),
        (7, "text", TypeError, "str expected, got int"),
    ],
)
def test_refuses_what_it_does_not_take(value: Any, kind: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message) as raised:
        encode([(value,)], [kind])
    assert f"row 0, column 0 ({kind})" in str(raised.value)


def test_refuses_malformed_rows_and_types() -> None:
    with pytest.raises(ValueError, match="row 1: 1 values for 2 columns"):
        encode([("a", "b"), ("c",)], ["text", "text"])
    with pytest.raises(TypeError, match="row 0: a tuple expected, got list"):
        encode([["a"]], ["text"])  # type: ignore[list-item]  # what the check refuses
    with pytest.raises(ValueError, match='unknown column type "interval"'):
        encode([], ["interval"])
