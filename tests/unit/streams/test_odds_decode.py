"""`decode_odds` against the contract it mirrors, `OddsSnapshot.model_validate_json`.

Differentially: hypothesis encodes valid snapshots, mutates them (dropped, extra and duplicated
fields, wrong types, boundary decimals, odd times, escapes, broken JSON) and asserts the decoder
accepts exactly what pydantic accepts, with the same values. The one deliberate difference:
where pydantic's UTC conversion overflows it raises `OverflowError`; the decoder `InvalidOdds`.
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, get_args
from unittest import mock

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from market.clock import micros
from schemas.base import EventSource, encode, utc_now
from schemas.odds import OddsSnapshot, RunnerPrice
from streams import odds_decode
from streams.odds_decode import InvalidOdds, OddsIn, PriceIn, Source, canonical, decode_odds

T0 = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
HEX_ID = re.compile(r"[0-9a-f]{32}")
TOP = ("event_id", "source", "source_time", "ingest_time", "race_id", "bookmaker_id",
       "bookmaker", "prices")  # fmt: skip
PRICE = ("horse_id", "decimal", "fractional", "ew_places", "ew_denom")
DIGITS = "0123456789"

# --- valid snapshots, as producers encode them ------------------------------------------------

plain_ids = st.from_regex(r"[abc0-9][abc_0-9]{0,11}", fullmatch=True)
ids = plain_ids | st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}", fullmatch=True)
event_ids = plain_ids | st.from_regex(r"[!-~]{1,128}", fullmatch=True)
texts = plain_ids | st.text(min_size=1, max_size=6).filter(lambda text: "\x00" not in text)
zones = [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]
instants = st.datetimes(
    datetime(1971, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
    datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from(zones),
)


@st.composite
def decimals(draw: st.DrawFn) -> Decimal:
    """Any price the contract allows, trailing zeros included ("2.7500")."""
    whole = draw(st.integers(1, 99_999_999))
    places = draw(st.text(DIGITS, max_size=4)) + "0" * draw(st.integers(0, 3))
    value = Decimal(f"{whole}.{places}" if places else str(whole))
    return value if value > 1 else Decimal("1.5")


prices = st.builds(
    RunnerPrice,
    horse_id=ids,
    decimal=st.none() | decimals(),
    fractional=st.none() | st.sampled_from(["7/4", "evs", "100/30"]),
    ew_places=st.none() | st.integers(0, 5),
    ew_denom=st.none() | st.integers(1, 6),
)


def snapshots(max_prices: int) -> st.SearchStrategy[OddsSnapshot]:
    return st.builds(
        OddsSnapshot,
        event_id=event_ids,
        source=st.sampled_from(EventSource),
        source_time=instants,
        ingest_time=instants,
        race_id=ids,
        bookmaker_id=plain_ids,
        bookmaker=texts,
        prices=st.lists(prices, min_size=1, max_size=max_prices).map(tuple),
    )


# --- hostile values, field by field -----------------------------------------------------------

EDGE_DECIMALS = [
    "2.75", "2.750", "2.75000000", "1", "1.0", "1.0000", "1.0001", "1.00001", "1.000010",
    "12345678.1234", "123456789.1234", "99999999", "100000000", "1234567890123", "02.5", "2.",
    ".5", "0.5", "-2.5", "+2.5", " 2.5", "2.5\n", "2.5e0", "25e-1", "1E+2", "1_000", "NaN",
    "Infinity", "\u0662.\u0665", "", "x",
]  # fmt: skip
EDGE_TIMES = [
    "2026-03-14T09:00:00Z", "2026-03-14T09:00:00+01:00", "2026-03-14T09:00:00-00:00",
    "2026-03-14T09:00:00", "2026-03-14", "2026-03-14T09:00Z", "2026-03-14t09:00:00z",
    "2026-03-14 09:00:00Z", "2026-03-14T09:00:00.1234567Z", "2026-03-14T09:00:00.9999999Z",
    "2026-03-14T09:00:00.123456+0530", "2026-03-14T09:00:00+01", "2026-03-14T09:00:00,5Z",
    "2026-02-29T09:00:00Z", "2026-03-14T24:00:00Z", "2026-03-14T23:59:60Z",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1899-12-31T23:59:59Z",
    "1900-01-01T00:00:00Z", "2199-12-31T23:59:59Z", "2200-01-01T00:00:00Z", "2026-W11-6T09:00:00Z",
    "1700000000", "", "now",
]  # fmt: skip
ZONES = ["Z", "z", "", "+00:00", "-00:00", "+23:59", "-23:59", "+24:00", "+0100", "+01"]
junk = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=4)
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)


@st.composite
def time_texts(draw: st.DrawFn) -> str:
    """RFC 3339-ish text, mostly valid, with each part sometimes out of range or reshaped."""
    year = draw(st.integers(1970, 2100) | st.sampled_from([0, 1, 9999]))
    month, day = draw(st.integers(1, 12) | st.just(13)), draw(st.integers(1, 28) | st.just(31))
    hour, minute = draw(st.integers(0, 23) | st.just(24)), draw(st.integers(0, 59) | st.just(60))
    second = draw(st.sampled_from(["", ":60"]) | st.integers(0, 59).map(":{:02}".format))
    fraction = draw(st.sampled_from(["", "."]) | st.text(DIGITS, min_size=1, max_size=9))
    offset = st.builds("{}{:02}:{:02}".format, st.sampled_from("+-"), st.integers(0, 23),
                       st.integers(0, 59))  # fmt: skip
    zone = draw(st.sampled_from(ZONES) | offset)
    sep = draw(st.sampled_from("TTTt "))
    fraction = fraction if fraction in ("", ".") else f".{fraction}"
    return f"{year:04}-{month:02}-{day:02}{sep}{hour:02}:{minute:02}{second}{fraction}{zone}"


decimal_texts = (
    st.sampled_from(EDGE_DECIMALS)
    | st.builds(
        "{}{}{}{}".format,
        st.sampled_from(["", "", " ", "+", "-", "0"]),
        st.text(DIGITS, max_size=9),
        st.just("") | st.text(DIGITS, max_size=6).map(".{}".format),
        st.sampled_from(["", "", "e0", "E+2", "e-1"]),
    )
    | decimals().map(str)
)
decimal_values = decimal_texts | st.floats(1, 1e9) | st.integers(-2, 10**13) | junk
odd_ints = st.sampled_from([10**20, 3.0, 3.5, "3", " 3 ", "3.0", "-1", True, False])
int_values = st.integers(-3, 10) | odd_ints | junk
time_strings = st.sampled_from(EDGE_TIMES) | time_texts() | instants.map(datetime.isoformat)
time_values = time_strings | st.integers(0, 2 * 10**12) | junk
text_values = (
    st.sampled_from(["", " ", "x", "\x00", "x\x00", 'q"uote', "é", "7/4", "x\n", "_x", "a b"])
    | st.sampled_from(["r" * 64, "r" * 65, "e" * 128, "e" * 129, "n" * 100, "n" * 101])
    | junk
)
sources = st.sampled_from(["simulator", "replay", "racing_api", "SIMULATOR", "live", ""])
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "decimal": decimal_values,
    "ew_places": int_values,
    "ew_denom": int_values,
    "source_time": time_values,
    "ingest_time": time_values,
    "source": sources | junk,
    "prices": st.sampled_from([[], {}, None, [None], [{}], "prices"]),
}


def value_for(field: str) -> st.SearchStrategy[Any]:
    return VALUES.get(field, text_values)


@dataclass(frozen=True)
class Case:
    payload: bytes
    keys: frozenset[str]  # top-level fields present (absent ones take their defaults)


def compact(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """An encoded snapshot, mutated a few times, rendered compactly or not, maybe corrupted."""
    doc: dict[str, Any] = orjson.loads(encode(draw(snapshots(max_prices=3))))
    for _ in range(draw(st.integers(0, 3))):
        target = doc
        if doc.get("prices") and isinstance(doc["prices"], list) and draw(st.booleans()):
            item = draw(st.sampled_from(doc["prices"]))
            target = item if isinstance(item, dict) else doc
        fields = PRICE if target is not doc else TOP
        action = draw(st.sampled_from(["drop", "set", "set", "extra"]))
        if action == "drop":
            target.pop(draw(st.sampled_from(fields)), None)
        elif action == "set":
            field = draw(st.sampled_from(fields))
            target[field] = draw(value_for(field))
        else:
            target[draw(st.sampled_from(["colour", "schema_version", "source_us", "Race_id"]))] = 1
    keys = frozenset(doc)
    render = draw(st.sampled_from(["compact", "spaced", "ascii", "duplicate", "escape", "broken"]))
    if render == "compact":
        payload = compact(doc)
    elif render in ("spaced", "ascii"):
        indent = draw(st.sampled_from([None, 1]))
        payload = json.dumps(doc, indent=indent, ensure_ascii=render == "ascii").encode()
    elif render == "duplicate":  # the same key twice: the last one counts
        field = draw(st.sampled_from(TOP))
        extra = json.dumps({field: draw(value_for(field))})[1:-1]
        body = json.dumps(doc)[1:-1]
        first, last = (extra, body) if draw(st.booleans()) else (body, extra)
        payload = ("{" + ", ".join(part for part in (first, last) if part) + "}").encode()
        keys |= {field}
    elif render == "escape":  # one character as a \\u escape (maybe a digit of a time)
        text = json.dumps(doc)
        at = draw(st.sampled_from([i for i, c in enumerate(text) if c.isalnum()]))
        payload = (text[:at] + f"\\u{ord(text[at]):04x}" + text[at + 1 :]).encode()
    else:
        raw = compact(doc)
        cut = draw(st.integers(0, len(raw)))
        payload = raw[:cut] + draw(st.sampled_from([b"", b"x", b"}", b",", b"\xff", b" "]))
    return Case(payload, keys)


# --- the oracle -------------------------------------------------------------------------------


def assert_same(
    ours: OddsIn, theirs: OddsSnapshot, keys: frozenset[str], window: tuple[datetime, datetime]
) -> None:
    if "event_id" in keys:
        assert ours.event_id == theirs.event_id
    else:
        assert HEX_ID.fullmatch(ours.event_id)
    if "ingest_time" in keys:
        assert ours.ingest_time == theirs.ingest_time
    else:
        assert window[0] <= ours.ingest_time <= window[1]
    assert ours.source == theirs.source.value
    assert type(ours.source) is str
    assert ours.source_time == theirs.source_time
    assert ours.source_time.tzinfo is UTC
    assert ours.ingest_time.tzinfo is UTC
    assert ours.source_us == micros(theirs.source_time)
    envelope = (ours.race_id, ours.bookmaker_id, ours.bookmaker)
    assert envelope == (theirs.race_id, theirs.bookmaker_id, theirs.bookmaker)
    assert len(ours.prices) == len(theirs.prices)
    for mine, price in zip(ours.prices, theirs.prices, strict=True):
        assert mine.decimal == (None if price.decimal is None else canonical(price.decimal))
        got = (mine.horse_id, mine.fractional, mine.ew_places, mine.ew_denom)
        want = (price.horse_id, price.fractional, price.ew_places, price.ew_denom)
        assert got == want
        assert [type(v) for v in got] == [type(v) for v in want]  # 1, never True


def check(case: Case) -> None:
    """Assert the decoder and pydantic agree on `case`: both reject, or both accept alike."""
    try:
        theirs: OddsSnapshot | None = OddsSnapshot.model_validate_json(case.payload)
    except (ValidationError, OverflowError):  # OverflowError: the deliberate difference
        theirs = None
    before = utc_now()
    try:
        ours: OddsIn | None = decode_odds(case.payload)
        reason = ""
    except InvalidOdds as error:
        ours, reason = None, error.reason
    after = utc_now()
    assert (ours is None) == (theirs is None), case.payload
    assert bool(reason) == (ours is None)
    if ours is not None and theirs is not None:
        assert_same(ours, theirs, case.keys, (before, after))


@settings(max_examples=400, deadline=None)
@given(case=cases())
def test_decoder_accepts_and_rejects_exactly_what_pydantic_does(case: Case) -> None:
    check(case)


@settings(max_examples=100, deadline=None)
@given(snapshot=snapshots(max_prices=8))
def test_every_encoded_snapshot_takes_the_fast_path_with_pydantics_values(
    snapshot: OddsSnapshot,
) -> None:
    payload = encode(snapshot)
    with mock.patch.object(odds_decode, "_decode_slowly", side_effect=AssertionError("slow")):
        ours = decode_odds(payload)
    assert_same(ours, OddsSnapshot.model_validate_json(payload), frozenset(TOP), (T0, T0))


@settings(max_examples=200, deadline=None)
@given(text=decimal_texts)
def test_decimal_text_is_str_of_pydantics_decimal(text: str) -> None:
    check(Case(orjson.dumps(document(decimal=text)), frozenset(TOP)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(TOP), inner),
)


@settings(max_examples=100, deadline=None)
@given(payload=st.binary(max_size=40) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_are_decoded_or_invalid_never_a_crash(payload: bytes) -> None:
    check(Case(payload, frozenset(TOP)))


@settings(max_examples=100, deadline=None)
@given(field=st.sampled_from(["ew_places", "ew_denom"]), value=int_values)
def test_each_way_terms_are_pydantics_ints(field: str, value: Any) -> None:
    check(Case(json.dumps(document(**{field: value})).encode(), frozenset(TOP)))


@settings(max_examples=200, deadline=None)
@given(text=time_strings)
def test_times_are_pydantics_instants_in_utc(text: str) -> None:
    check(Case(orjson.dumps(dict(document(), source_time=text, ingest_time=text)), frozenset(TOP)))


# --- examples ---------------------------------------------------------------------------------


def document(source_time: str = "2026-03-14T09:00:00Z", **price: Any) -> dict[str, Any]:
    return {
        "event_id": "e1", "source": "simulator", "source_time": source_time,
        "ingest_time": "2026-03-14T09:00:01Z", "race_id": "rac_1", "bookmaker_id": "bet365",
        "bookmaker": "Bet365", "prices": [{"horse_id": "hrs_1", "decimal": "2.75", **price}],
    }  # fmt: skip


def reason(doc: dict[str, Any] | bytes) -> str:
    with pytest.raises(InvalidOdds) as caught:
        decode_odds(doc if isinstance(doc, bytes) else orjson.dumps(doc))
    return caught.value.reason


def test_a_producer_payload_decodes_to_text_prices_and_utc_times() -> None:
    snapshot = OddsSnapshot.model_validate(document("2026-03-14T09:00:00+01:00", decimal="2.750"))
    odds = decode_odds(encode(snapshot))
    assert odds.prices == (PriceIn("hrs_1", "2.75"),)  # its canonical text
    assert odds.source == "simulator"
    assert odds.source_time == datetime(2026, 3, 14, 8, 0, tzinfo=UTC)
    assert odds.source_us == micros(odds.source_time) == 1_773_475_200_000_000


@pytest.mark.parametrize(
    ("value", "text"),
    [("2.750", "2.75"), (2.75, "2.75"), (3, "3"), ("02.5", "2.5"), (" 4.5", "4.5"),
     ("1E+2", "100"), ("10.00", "10"), (None, None)],
)  # fmt: skip
def test_decimals_read_as_pydantic_reads_them_in_their_canonical_text(
    value: Any, text: str | None
) -> None:
    assert decode_odds(orjson.dumps(document(decimal=value))).prices[0].decimal == text


def test_absent_event_id_and_ingest_time_take_pydantics_defaults() -> None:
    doc = document()
    del doc["event_id"], doc["ingest_time"]
    before = utc_now()
    odds = decode_odds(orjson.dumps(doc))
    assert HEX_ID.fullmatch(odds.event_id)
    assert before <= odds.ingest_time <= utc_now()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"decimal": "1.0"}, "decimal: Input should be greater than 1 (got '1.0')"),
        ({"decimal": "1.00001"},
         "decimal: Decimal input should have no more than 4 decimal places (got '1.00001')"),
        ({"decimal": "123456789"}, "decimal: Decimal input should have no more than 8 digits "
         "before the decimal point (got '123456789')"),
        ({"ew_places": -1}, "ew_places: Input should be greater than or equal to 0 (got -1)"),
        ({"ew_denom": 0}, "ew_denom: Input should be greater than or equal to 1 (got 0)"),
        ({"horse_id": ""}, "horse_id: String should have at least 1 character (got '')"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted (got 'red')"),
    ],
)  # fmt: skip
def test_a_bad_price_is_named_with_what_was_wrong(change: dict[str, Any], expected: str) -> None:
    assert reason(document(**change)) == f"prices.0.{expected}"


def test_envelope_errors_name_their_field() -> None:
    doc = document()
    del doc["race_id"]
    assert reason(doc) == "race_id: Field required"
    assert reason(dict(document(), source="live")) == (
        "source: Input should be 'racing_api', 'simulator' or 'replay' (got 'live')"
    )
    assert reason(document("2026-03-14T09:00:00")) == (
        "source_time: Input should have timezone info (got '2026-03-14T09:00:00')"
    )
    assert reason(dict(document(), prices=[])) == (
        "prices: Tuple should have at least 1 item after validation, not 0 (got [])"
    )
    assert reason(b'{"race_id": ') == (
        "payload: Invalid JSON: EOF while parsing a value at line 1 column 12"
    )


@pytest.mark.parametrize(
    "time",
    [
        "0001-01-01T00:00:00+14:00",  # overflows once converted to UTC
        "9999-12-31T23:59:59-14:00",  # likewise, past year 9999
        "1899-12-31T23:59:59+00:00",
        "2200-01-01T00:00:00+00:00",
    ],
)
def test_a_time_outside_the_contracts_range_is_invalid_not_an_overflow(time: str) -> None:
    """The contract bounds times (the UTC conversion used to raise OverflowError through
    pydantic, which stopped whatever decoded it)."""
    payload = orjson.dumps(document(time))
    with pytest.raises(ValidationError):
        OddsSnapshot.model_validate_json(payload)
    assert "must be between 1900 and 2200" in reason(payload)


@pytest.mark.parametrize("field", ["source_time", "ingest_time", "colour"])
def test_deep_nesting_is_invalid_not_a_crash(field: str) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    payload = compact(document())[:-1] + b',"' + field.encode() + b'":' + deep + b"}"
    check(Case(payload, frozenset(TOP)))
    assert "recursion limit exceeded" in reason(payload)


def test_source_values_are_event_sources() -> None:
    assert set(get_args(Source)) == {source.value for source in EventSource}
