"""Property: whatever the order and however often price events arrive (late, duplicated), the
websocket's book holds exactly the worker's book: both apply `market.maths.is_newer`."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from api.live.book import BookStore
from market.analytics import AnalyticsParams
from schemas.base import EventSource
from schemas.odds import OddsSnapshot, RunnerPrice
from streams.market_board import MarketBoard
from streams.odds_decode import canonical, decode_odds

T0 = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
PRICES = ["1.5", "2", "2.50", "3.3", "11", "101"]

events = st.lists(
    st.tuples(
        st.sampled_from(["bet365", "coral", "sky"]),
        st.integers(0, 20),  # seconds: equal times are ordered by event id
        st.sampled_from(["e1", "e2", "e3", "e4"]),
        st.dictionaries(
            st.sampled_from(["h1", "h2", "h3"]), st.none() | st.sampled_from(PRICES), min_size=1
        ),
    ),
    min_size=1,
    max_size=30,
    unique_by=lambda e: (e[0], e[1], e[2]),  # one event per (book, time, id)
)


def snapshot(book: str, second: int, event_id: str, prices: dict[str, str | None]) -> OddsSnapshot:
    return OddsSnapshot(
        event_id=event_id, source=EventSource.SIMULATOR, race_id="rac_1", bookmaker_id=book,
        bookmaker=book.title(), source_time=T0 + timedelta(seconds=second),
        prices=tuple(
            RunnerPrice(horse_id=h, decimal=None if p is None else Decimal(p))
            for h, p in prices.items()
        ),
    )  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(events, st.randoms(use_true_random=False), st.integers(0, 10))
def test_out_of_order_and_duplicated_events_give_the_workers_book(
    sent: list[tuple[str, int, str, dict[str, str | None]]], shuffle: random.Random, repeats: int
) -> None:
    arrivals = [snapshot(*e) for e in sent]
    arrivals += [shuffle.choice(arrivals) for _ in range(repeats)]  # duplicates
    shuffle.shuffle(arrivals)  # out of order
    board, hub = MarketBoard(AnalyticsParams()), BookStore()
    for offset, event in enumerate(arrivals):
        board.apply_odds(decode_odds(event.model_dump_json().encode()))
        hub.apply_odds(event, offset, 0.0)
    worker = {
        (horse, book): quote.text
        for book, horses in board.races["rac_1"].quotes.items()
        for horse, quote in horses.items()
    }
    websocket = {
        (horse, book): None if quote.decimal is None else canonical(quote.decimal)
        for horse, books in hub.races["rac_1"].quotes.items()
        for book, quote in books.items()
    }
    assert websocket == worker
