"""The native race analytics (native/market) equal the Python reference to the last bit: same
keys in the same order, same values, the same floats. Compared as orjson bytes (which print each
float's shortest repr) on random markets, on restored ones and on every race of the golden day."""

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.analytics import AnalyticsParams, race_analytics, race_analytics_reference
from market.maths import MoveThresholds
from streams.market_store import restore_races
from streams.odds_decode import OddsIn, PriceIn
from streams.race_market import RaceMarket
from tests.streams_day import read_day, replay

T0 = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
US = 1_000_000
# A ladder with ties to round at 4 decimals (2.03125 is the median of 2 and 2.0625), numbers
# with trailing zeros as PostgreSQL gives them back, and prices a float cannot hold exactly.
PRICES = ["1.01", "1.5", "2", "2.0625", "2.5", "2.75", "3.0", "3.3", "4.33", "7.5", "11", "101"]
BOOKS = ["bet365", "coral", "betfred", "unibet", "sky", "paddy"]
HORSES = ["h1", "h2", "h3", "h4", "h5", "h6", "h7"]

# Thresholds low enough for steamers and drifters to show up in small random markets.
PARAMS = AnalyticsParams(thresholds=MoveThresholds(points=0.01, min_books=1))


def same(race: RaceMarket, params: AnalyticsParams = PARAMS) -> None:
    """Native and reference agree, from fresh quote views and from cached ones."""
    for horses in race.quotes.values():
        for quote in horses.values():
            quote.view = None
    reference = orjson.dumps(race_analytics_reference(race, params))
    for horses in race.quotes.values():
        for quote in horses.values():
            quote.view = None
    assert orjson.dumps(race_analytics(race, params)) == reference
    assert orjson.dumps(race_analytics(race, params)) == reference  # views now cached


def odds(book: str, second: int, prices: dict[str, str | None], serial: int) -> OddsIn:
    at = T0 + timedelta(seconds=second)
    return OddsIn(
        event_id=f"e{serial:05d}",
        source="simulator",
        source_time=at,
        ingest_time=at,
        race_id="rac_1",
        bookmaker_id=book,
        bookmaker=book.title(),
        prices=tuple(PriceIn(h, p, None, 3, 5) for h, p in prices.items()),
        source_us=int((at - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * US,
    )


events = st.lists(
    st.tuples(
        st.sampled_from(BOOKS),
        st.integers(0, 3 * 3600),  # seconds: changes inside and beyond the 5/15/60-min windows
        st.dictionaries(st.sampled_from(HORSES), st.none() | st.sampled_from(PRICES), min_size=1),
    ),
    max_size=40,
)
cards = st.none() | st.tuples(
    st.lists(st.sampled_from(HORSES), min_size=1, max_size=7, unique=True),
    st.sets(st.sampled_from(HORSES)),
)


def market(applied: list[tuple[str, int, dict[str, str | None]]], card: Any) -> RaceMarket:
    race = RaceMarket("rac_1")
    for serial, (book, second, prices) in enumerate(applied):
        race.apply_odds(odds(book, second, prices, serial), PARAMS.keep_us, PARAMS.rate_window_us)
    if card is not None:
        runners, non_runners = card
        race.apply_card((1, "card"), T0 + timedelta(hours=2), runners, non_runners & set(runners))
    return race


@settings(max_examples=300, deadline=None)
@given(events, cards)
def test_random_markets(applied: list[tuple[str, int, dict[str, str | None]]], card: Any) -> None:
    same(market(applied, card))


@settings(max_examples=50, deadline=None)
@given(events, cards, st.sampled_from([(5, 15, 60), (1,), (60, 5, 5)]), st.integers(1, 90))
def test_any_windows(
    applied: list[tuple[str, int, dict[str, str | None]]],
    card: Any,
    windows: tuple[int, ...],
    move_window: int,
) -> None:
    params = AnalyticsParams(windows, move_window, MoveThresholds(0.02, 2), rate_window_min=3)
    race = RaceMarket("rac_1")
    for serial, (book, second, prices) in enumerate(applied):
        race.apply_odds(odds(book, second, prices, serial), params.keep_us, params.rate_window_us)
    same(race, params)


def test_restored_quotes_as_postgresql_gives_them() -> None:
    """Numerics with trailing zeros, histories from JSON, a quote without a price."""
    rows = [
        ("rac_1", "bet365", "h1", "2.7500", None, 3, 5, "3.00", "3.5", "2.7500", 2,
         1_773_489_600_000_000, 1_773_489_600_000_000, "e1",
         "[[1773486000000000,3.0],[1773489600000000,2.75]]"),
        ("rac_1", "coral", "h1", "2.0625", None, None, None, "2.0", "2.0625", "2.0", 1,
         1_773_489_000_000_000, 1_773_489_000_000_000, "e2", "[[1773489000000000,2.0625]]"),
        ("rac_1", "coral", "h2", None, None, None, None, None, None, None, 0,
         1_773_489_000_000_000, 1_773_489_000_000_000, "e2", "[]"),
    ]  # fmt: skip
    header = {
        "updates": [1_773_489_000_000_000, 1_773_489_600_000_000], "revision": 7,
        "latest": 1_773_489_600_000_000, "source": "replay", "status": "open",
        "status_version": [0, ""], "card_version": [0, ""], "off_dt": None, "runners": [],
        "non_runners": [], "books": {"bet365": ["Bet365", 1_773_489_600_000_000, 2],
                                     "coral": ["Coral", 1_773_489_000_000_000, 2]},
    }  # fmt: skip
    (race,) = restore_races([("rac_1", orjson.loads(orjson.dumps(header)))], rows)
    same(race)


def test_the_golden_day() -> None:
    board = replay(read_day())
    for race in board.races.values():
        same(race, board.params)


def test_an_empty_race() -> None:
    same(RaceMarket("rac_1"))


def test_errors_match_the_reference() -> None:
    """A price of 1 (no market) is refused by both, with the same message."""
    race = market([("bet365", 0, {"h1": "2", "h2": "3"})], None)
    race.quotes["bet365"]["h1"].text = "1"
    with pytest.raises(ValueError, match="strictly between 0 and 1") as reference:
        race_analytics_reference(race, PARAMS)
    with pytest.raises(ValueError, match="strictly between 0 and 1") as native:
        race_analytics(race, PARAMS)
    assert str(native.value) == str(reference.value)
