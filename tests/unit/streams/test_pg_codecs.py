"""The sinks' binary codecs: PostgreSQL's wire formats, round trips and known encodings."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.clock import micros
from streams.pg_codecs import (
    decode_jsonb,
    decode_numeric,
    decode_timestamptz,
    encode_jsonb,
    encode_numeric,
    encode_timestamptz,
)


def test_numeric_known_encodings() -> None:
    # ndigits, weight, sign, dscale, then base-10000 digits (PostgreSQL's numeric_send).
    assert encode_numeric("2.75").hex() == "000200000000000200021d4c"
    assert encode_numeric("-12.5").hex() == "0002000040000001000c1388"
    assert encode_numeric("10000").hex() == "00010001000000000001"
    assert encode_numeric("0.0001").hex() == "0001ffff000000040001"
    assert encode_numeric("0.00").hex() == "0000000000000002"


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4, max_value=10**12))
def test_numeric_round_trips_with_its_scale(value: Decimal) -> None:
    decoded = decode_numeric(encode_numeric(str(value)))
    assert decoded == value
    assert decoded.as_tuple().exponent == min(0, int(value.as_tuple().exponent))


def test_numeric_accepts_decimals_and_refuses_infinity() -> None:
    assert encode_numeric(Decimal("3.50")) == encode_numeric("3.50")
    with pytest.raises(ValueError, match="finite"):
        encode_numeric("Infinity")


@given(st.datetimes(timezones=st.just(UTC)))
def test_timestamptz_from_datetimes_and_microseconds(instant: datetime) -> None:
    assert encode_timestamptz(instant) == encode_timestamptz(micros(instant))
    assert decode_timestamptz(encode_timestamptz(instant)) == instant


def test_timestamptz_known_encoding_and_naive_refused() -> None:
    assert encode_timestamptz(datetime(2000, 1, 1, 0, 0, 1, tzinfo=UTC)).hex() == "00000000000f4240"
    assert encode_timestamptz(datetime(1999, 12, 31, 23, 0, tzinfo=UTC) + timedelta(hours=1)) == (
        bytes(8)
    )
    with pytest.raises(ValueError, match="naive"):
        encode_timestamptz(datetime(2026, 3, 14, 12))  # noqa: DTZ001


@given(st.text())
def test_jsonb_takes_bytes_or_text_and_gives_text(text: str) -> None:
    document = orjson.dumps({"text": text})
    assert encode_jsonb(document) == encode_jsonb(document.decode()) == b"\x01" + document
    assert decode_jsonb(encode_jsonb(document)) == document.decode()


def test_jsonb_refuses_an_unknown_format_version() -> None:
    with pytest.raises(ValueError, match="version"):
        decode_jsonb(b"\x02{}")
