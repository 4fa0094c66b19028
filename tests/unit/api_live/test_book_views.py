import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson

from api.live.book import BookStore
from api.live.protocol import DataField, OddsFormat
from api.live.views import (
    View,
    analytics,
    format_price,
    merge_deltas,
    relay_analytics,
    render_delta,
    render_snapshot,
)
from market.analytics import AnalyticsParams, race_analytics
from schemas.analytics import RaceAnalytics
from schemas.base import EventSource
from schemas.odds import OddsSnapshot, RunnerPrice
from tests.streams_day import read_day, replay

T = datetime(2026, 11, 28, 12, tzinfo=UTC)
ALL = frozenset(DataField)
_ticks = itertools.count()


def odds(bookmaker: str, **prices: str) -> OddsSnapshot:
    """A price event one second after the previous one (each is newer than all before it)."""
    return OddsSnapshot(
        source=EventSource.SIMULATOR, source_time=T + timedelta(seconds=next(_ticks)),
        race_id="r1", bookmaker_id=bookmaker, bookmaker=bookmaker.title(),
        prices=tuple(RunnerPrice(horse_id=h, decimal=Decimal(p)) for h, p in prices.items()),
    )  # fmt: skip


def test_seq_is_the_offset_and_prev_seq_the_previous_one() -> None:
    store = BookStore()
    book, prev = store.apply_odds(odds("a", h1="3"), 5, 0.0)
    assert (book.seq, prev) == (5, -1)
    book, prev = store.apply_odds(odds("b", h1="4"), 9, 0.0)
    assert (book.seq, prev) == (9, 5)


def test_best_price_ties_and_bookmaker_filter() -> None:
    store = BookStore()
    store.apply_odds(odds("a", h1="3", h2="2"), 0, 0.0)
    store.apply_odds(odds("b", h1="3.5", h2="2"), 1, 0.0)
    book = store.races["r1"]
    quote, who = book.best("h1", None)
    assert quote is not None
    assert (quote.decimal, who) == (Decimal("3.5"), ["b"])
    assert book.best("h2", None)[1] == ["a", "b"]
    assert book.best("h1", frozenset({"a"}))[1] == ["a"]


def test_a_stale_or_repeated_price_changes_nothing() -> None:
    store = BookStore()
    older, newer = odds("a", h1="3"), odds("a", h1="4")
    store.apply_odds(newer, 1, 0.0)
    book, prev = store.apply_odds(older, 2, 0.0)  # arrives late: seen, not applied
    assert (book.seq, prev) == (2, 1)
    assert book.quotes["h1"]["a"].decimal == Decimal("4")
    store.apply_odds(newer, 3, 0.0)
    assert book.quotes["h1"]["a"].decimal == Decimal("4")


def test_analytics_are_the_workers_relayed() -> None:
    """The websocket's analytics are the worker's numbers, not recomputed: every runner's
    implied and fair probability equal the analytics record's, float for float."""
    board = replay(read_day())
    race = next(iter(board.races.values()))
    event = RaceAnalytics.model_validate(
        {**race_analytics(race, AnalyticsParams()), "race_id": "r1"}
    )
    store = BookStore()
    store.apply_odds(odds("a", h1="3"), 0, 0.0)
    assert analytics(store.races["r1"], View(ALL, OddsFormat.DECIMAL, None)) is None
    book = store.apply_analytics(event, relay_analytics(event))
    assert book is not None
    sent = orjson.loads(render_snapshot(book, View(ALL, OddsFormat.DECIMAL, None), "x", None).json)
    relayed = sent["analytics"]["runners"]
    assert relayed
    for runner in event.runners:
        if runner.non_runner or runner.implied_probability is None:
            continue
        assert relayed[runner.horse_id]["implied_probability"] == runner.implied_probability
        assert relayed[runner.horse_id]["fair_probability"] == runner.fair_shin
    assert sent["analytics"]["book_pct"] == event.best_book_percent
    # An older or repeated record changes nothing.
    assert store.apply_analytics(event, relay_analytics(event)) is None


def test_odds_formats() -> None:
    assert format_price(Decimal("2.75"), None, OddsFormat.DECIMAL) == "2.75"
    assert format_price(Decimal("2.75"), None, OddsFormat.FRACTIONAL) == "7/4"
    assert format_price(Decimal("2.75"), "7/4", OddsFormat.FRACTIONAL) == "7/4"
    assert format_price(Decimal("4"), None, OddsFormat.PROBABILITY) == "0.2500"
    assert format_price(None, None, OddsFormat.DECIMAL) is None


def test_merged_deltas_keep_newest_prices_oldest_prev_seq_and_oldest_token() -> None:
    store = BookStore()
    view = View(frozenset({DataField.PRICES, DataField.BEST}), OddsFormat.DECIMAL, None)
    book, prev = store.apply_odds(odds("a", h1="3", h2="4"), 1, 0.0)
    first = render_delta(book, odds("a", h1="3", h2="4"), prev, "t1", view)
    event = odds("a", h1="5")
    book, prev = store.apply_odds(event, 2, 0.0)
    second = render_delta(book, event, prev, "t2", view)
    merged = merge_deltas(first, second)
    sent = orjson.loads(merged.json)  # the merged lists are made when the frame is written
    assert sent["seq"] == 2
    assert sent["prev_seq"] == -1
    assert sent["token"] == "t1"  # noqa: S105
    assert sent["conflated"] is True
    assert merged.updates == 2
    assert {(p["horse_id"], p["price"]) for p in sent["prices"]} == {("h1", "5"), ("h2", "4")}
    assert {(b["horse_id"], b["price"]) for b in sent["best"]} == {("h1", "5"), ("h2", "4")}
    assert b'"conflated":true' in merged.json
    assert merged.frame("delta", "s").startswith('{"type":"delta","sub_id":"s","race_id":"r1"')


def test_closed_quiet_races_are_evicted_and_open_ones_kept() -> None:
    from schemas.market import MarketState, MarketStatus

    store = BookStore()
    store.apply_odds(odds("a", h1="3"), 0, now=10.0)
    closed = odds("a", h1="3").model_copy(update={"race_id": "r2"})
    store.apply_odds(closed, 1, now=10.0)
    store.apply_market(
        MarketState(source=EventSource.SIMULATOR, source_time=T, race_id="r2",
                    status=MarketStatus.RESULT),
        now=20.0,
    )  # fmt: skip
    assert store.evict(before=15.0) == []
    assert store.evict(before=25.0) == ["r2"]
    assert set(store.races) == {"r1"}
