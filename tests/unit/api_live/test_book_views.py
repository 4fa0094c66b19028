from datetime import UTC, datetime
from decimal import Decimal

import orjson

from api.live.book import BookStore
from api.live.protocol import DataField, OddsFormat
from api.live.views import View, analytics, format_price, merge_deltas, render_delta
from schemas.base import EventSource
from schemas.odds import OddsSnapshot, RunnerPrice

T = datetime(2026, 11, 28, 12, tzinfo=UTC)
ALL = frozenset(DataField)


def odds(bookmaker: str, **prices: str) -> OddsSnapshot:
    return OddsSnapshot(
        source=EventSource.SIMULATOR, source_time=T, race_id="r1", bookmaker_id=bookmaker,
        bookmaker=bookmaker.title(),
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


def test_analytics_book_percentage_and_fair_probabilities() -> None:
    store = BookStore()
    store.apply_odds(odds("a", h1="2", h2="2.5"), 0, 0.0)
    result = analytics(store.races["r1"], View(ALL, OddsFormat.DECIMAL, None))
    assert result["book_pct"] == "90.00"
    assert result["runners"]["h1"] == {"implied_probability": "0.5000",
                                       "fair_probability": "0.5556"}  # fmt: skip


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
