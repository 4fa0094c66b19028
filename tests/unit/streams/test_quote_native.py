"""The native `Quote` and `apply_prices` (native/market) against a Python model of the same rules:
a price newer than the quote's (source_time, event_id) is applied; a changed value (compared as
a number) moves high, low, changes and the history; the history keeps the last change before the
longest window."""

import copy
from dataclasses import dataclass, field

import pytest
from darkhorses_market import apply_prices, book_coverage
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.odds_decode import PriceIn
from streams.race_market import Quote

KEEP_US = 60 * 60 * 1_000_000
PRICES = ["1.5", "2", "2.0", "2.0000", "2.5", "2.75", "101.25"]  # equal values, other texts


@dataclass
class Model:
    """The rules `apply_prices` follows, in plain Python (the dataclass quotes used to be)."""

    text: str | None
    fractional: str | None
    ew_places: int | None
    ew_denom: int | None
    opening: str | None
    high: str | None
    low: str | None
    changes: int
    last_change: int
    version: tuple[int, str]
    history: list[tuple[int, float]] = field(default_factory=list)


def number(text: str | None) -> float | None:
    return None if text is None else float(text)


def model_apply(book: dict[str, Model], prices: list[PriceIn], at: int, event_id: str) -> int:
    applied = 0
    for price in prices:
        text, quote = price.decimal, book.get(price.horse_id)
        if quote is None:
            history = [] if text is None else [(at, float(text))]
            book[price.horse_id] = Model(
                text, price.fractional, price.ew_places, price.ew_denom, text, text, text, 0, at,
                (at, event_id), history,
            )  # fmt: skip
            applied += 1
            continue
        if quote.version >= (at, event_id):
            continue
        applied += 1
        quote.version = (at, event_id)
        quote.fractional, quote.ew_places, quote.ew_denom = (
            price.fractional, price.ew_places, price.ew_denom,
        )  # fmt: skip
        if number(text) != number(quote.text):
            quote.text = text
            quote.changes += 1
            quote.last_change = at
            if quote.high is None or text is None:
                quote.high = quote.high or text
            elif float(quote.high) < float(text):
                quote.high = text
            if quote.low is None or text is None:
                quote.low = quote.low or text
            elif float(quote.low) > float(text):
                quote.low = text
            if quote.opening is None:
                quote.opening = text
            if text is not None:
                quote.history.append((at, float(text)))
                while len(quote.history) > 1 and quote.history[1][0] <= at - KEEP_US:
                    del quote.history[0]
    return applied


def as_model(quote: Quote) -> Model:
    return Model(
        quote.text, quote.fractional, quote.ew_places, quote.ew_denom, quote.opening, quote.high,
        quote.low, quote.changes, quote.last_change, quote.version, quote.history,
    )  # fmt: skip


events = st.lists(
    st.tuples(
        # quarter hours: changes land exactly on the window's edge
        st.integers(0, 16).map(lambda quarter: quarter * 15 * 60 * 1_000_000),
        st.sampled_from(["a", "b", "c"]),
        st.lists(
            st.builds(
                PriceIn,
                st.sampled_from(["h1", "h2"]),
                st.none() | st.sampled_from(PRICES),
                st.none() | st.sampled_from(["1/2", "7/4"]),
                st.none() | st.integers(0, 4),
                st.none() | st.integers(1, 5),
            ),
            min_size=1,
            max_size=4,
        ),
    ),
    max_size=30,
)


@settings(max_examples=500, deadline=None)
@given(events)
def test_apply_prices_follows_the_rules(applied: list[tuple[int, str, list[PriceIn]]]) -> None:
    native: dict[str, Quote] = {}
    model: dict[str, Model] = {}
    for at, event_id, prices in applied:
        done = apply_prices(native, prices, at, event_id, KEEP_US)
        assert len(done) == model_apply(model, prices, at, event_id)
        assert all(native[price.horse_id] is quote for price, quote in done)
        assert {h: as_model(q) for h, q in native.items()} == model


def test_a_quote_round_trips_through_its_constructor() -> None:
    quote = Quote(
        "2.7500", "7/4", 3, 5, "3.0", "3.5", "2.75", 2, 20, (20, "e2"), [(10, 3.5), (20, 2.75)]
    )
    assert (quote.text, quote.price, quote.fractional, quote.ew_places, quote.ew_denom) == (
        "2.7500", 2.75, "7/4", 3, 5,
    )  # fmt: skip
    assert (quote.opening, quote.high, quote.low, quote.changes, quote.last_change) == (
        "3.0", "3.5", "2.75", 2, 20,
    )  # fmt: skip
    assert quote.version == (20, "e2")
    assert quote.history == [(10, 3.5), (20, 2.75)]
    assert (quote.view, quote.fresh) == (None, False)
    twin = copy.deepcopy(quote)
    assert twin == quote
    assert twin is not quote
    assert "2.7500" in repr(quote)
    quote.text = None  # quoted without a price (SP)
    assert (quote.text, quote.price) == (None, None)
    assert twin != quote


def test_a_text_that_is_no_number_is_refused() -> None:
    with pytest.raises(ValueError, match="could not convert string to float"):
        Quote("evens", None, None, None, None, None, None, 0, 0, (0, "e1"))


def test_a_stale_price_is_not_applied() -> None:
    book: dict[str, Quote] = {}
    apply_prices(book, [PriceIn("h1", "3.0")], 20, "e2", KEEP_US)
    assert (
        apply_prices(book, [PriceIn("h1", "2.0")], 20, "e1", KEEP_US) == []
    )  # same time, lower id
    assert apply_prices(book, [PriceIn("h1", "2.0")], 10, "e9", KEEP_US) == []  # older
    assert book["h1"].text == "3.0"


def test_book_coverage_counts_recent_and_priced_quotes() -> None:
    book: dict[str, Quote] = {}
    apply_prices(book, [PriceIn("h1", "3.0"), PriceIn("h2", None)], 10, "e1", KEEP_US)
    apply_prices(book, [PriceIn("h3", "5.0")], 30, "e2", KEEP_US)
    assert book_coverage(book, 20) == (1, 2)  # h3 updated since 20; h1 and h3 priced
    assert book_coverage(book, 10) == (3, 2)
    assert book_coverage({}, 0) == (0, 0)
