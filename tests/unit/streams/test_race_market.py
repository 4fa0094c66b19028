"""Race state and analytics: every statistic by example; idempotency by property."""

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.analytics import AnalyticsParams
from market.maths import MoveThresholds
from schemas.analytics import BookmakerAnalytics, BookmakerPart, RaceAnalytics
from schemas.base import EventSource, encode
from schemas.market import MarketState, MarketStatus
from schemas.odds import OddsSnapshot, RunnerPrice
from schemas.racecards import Racecard, Runner
from streams.bookmakers import add_up
from streams.market_board import MarketBoard
from streams.market_store import restore_races
from streams.odds_decode import OddsIn, decode_odds
from streams.race_market import RaceMarket

T0 = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
BOOKS = {"bet365": "Bet365", "coral": "Coral", "betfred": "Betfred", "unibet": "Unibet"}


def snap(
    book: str, minute: float, prices: dict[str, str | None], event_id: str | None = None
) -> OddsIn:
    """An odds event as the worker decodes it from Kafka."""
    return decode_odds(encode(snapshot(book, minute, prices, event_id)))


def snapshot(
    book: str, minute: float, prices: dict[str, str | None], event_id: str | None = None
) -> OddsSnapshot:
    return OddsSnapshot(
        event_id=event_id or f"{book}-{minute}",
        source=EventSource.SIMULATOR,
        source_time=T0 + timedelta(minutes=minute),
        ingest_time=T0 + timedelta(minutes=minute),
        race_id="rac_1",
        bookmaker_id=book,
        bookmaker=BOOKS[book],
        prices=tuple(
            RunnerPrice(
                horse_id=h, decimal=None if p is None else Decimal(p), ew_places=3, ew_denom=5
            )
            for h, p in prices.items()
        ),
    )


def card(non_runners: set[str], minute: float = 0) -> Racecard:
    return Racecard(
        event_id=f"card-{minute}",
        source=EventSource.SIMULATOR,
        source_time=T0 + timedelta(minutes=minute),
        race_id="rac_1",
        course_id="crs_1",
        course="Ascot",
        region="GB",
        race_date=T0.date(),
        off_dt=T0 + timedelta(hours=2),
        race_name="Test Stakes",
        runners=tuple(
            Runner(horse_id=h, horse=h.upper(), non_runner=h in non_runners)
            for h in ("h1", "h2", "h3")
        ),
    )


def board(min_books: int = 2) -> MarketBoard:
    return MarketBoard(AnalyticsParams(thresholds=MoveThresholds(points=0.05, min_books=min_books)))


def runner(analytics: dict[str, Any], horse: str) -> dict[str, Any]:
    return next(r for r in analytics["runners"] if r["horse_id"] == horse)


def test_per_runner_and_book_quote_statistics() -> None:
    b = board()
    b.apply_odds(snap("bet365", 0, {"h1": "3.0", "h2": "2.5"}))
    b.apply_odds(snap("bet365", 10, {"h1": "3.5"}))
    b.apply_odds(snap("bet365", 20, {"h1": "2.75"}))
    b.apply_odds(snap("bet365", 30, {"h1": "2.75"}))  # re-stated, unchanged
    (race,) = b.readout().races
    quote = runner(race, "h1")["quotes"][0]
    assert quote == {
        "bookmaker_id": "bet365", "price": "2.75", "fractional": None, "ew_places": 3,
        "ew_denom": 5, "opening": "3", "high": "3.5", "low": "2.75", "changes": 2,
        "last_change": (T0 + timedelta(minutes=20)).isoformat(),
    }  # fmt: skip
    RaceAnalytics.model_validate(race)


def test_runner_best_consensus_fair_and_race_book_percent() -> None:
    b = board()
    b.apply_card(card(non_runners=set()))
    b.apply_odds(snap("bet365", 0, {"h1": "2.0", "h2": "3.0", "h3": "5.0"}))
    b.apply_odds(snap("coral", 0, {"h1": "2.2", "h2": "2.75", "h3": "6.0"}))
    b.apply_odds(snap("betfred", 0, {"h1": "2.2", "h2": "3.25", "h3": "4.5"}))
    (race,) = b.readout().races
    h1 = runner(race, "h1")
    assert h1["best_price"] == "2.2"
    assert h1["best_books"] == ["betfred", "coral"]
    assert h1["consensus_price"] == "2.2"
    assert h1["implied_probability"] == pytest.approx(1 / 2.2)
    consensus = {"h1": 2.2, "h2": 3.0, "h3": 5.0}
    booksum = sum(1 / p for p in consensus.values())
    assert h1["fair_proportional"] == pytest.approx((1 / 2.2) / booksum)
    total = sum(runner(race, h)["fair_shin"] for h in consensus)
    assert total == pytest.approx(1.0)
    books = {b["bookmaker_id"]: b for b in race["books"]}
    assert books["bet365"]["book_percent"] == pytest.approx(100 * (1 / 2 + 1 / 3 + 1 / 5))
    assert books["bet365"]["complete"] is True
    assert race["best_book_percent"] == pytest.approx(100 * (1 / 2.2 + 1 / 3.25 + 1 / 6))
    assert (race["books_priced"], race["runners_priced"]) == (3, 3)


def test_non_runners_leave_the_book_and_the_fair_market() -> None:
    b = board()
    b.apply_odds(snap("bet365", 0, {"h1": "2.0", "h2": "3.0", "h3": "5.0"}))
    b.apply_card(card(non_runners={"h3"}, minute=1))
    (race,) = b.readout().races
    assert race["books"][0]["book_percent"] == pytest.approx(100 * (1 / 2 + 1 / 3))
    h3 = runner(race, "h3")
    assert h3["non_runner"] is True
    assert h3["fair_proportional"] is None
    assert runner(race, "h1")["fair_proportional"] == pytest.approx(0.6)
    assert race["runners_priced"] == 2


def test_moves_over_event_time_windows_and_steamers() -> None:
    b = board(min_books=2)
    for book in ("bet365", "coral", "betfred"):
        b.apply_odds(snap(book, 0, {"h1": "5.0", "h2": "2.0"}))
    b.apply_odds(snap("bet365", 50, {"h1": "3.0"}))
    b.apply_odds(snap("coral", 52, {"h1": "3.0"}))
    b.apply_odds(snap("betfred", 58, {"h2": "2.2"}))  # "now" = minute 58
    (race,) = b.readout().races
    h1 = runner(race, "h1")
    moves = {m["window_min"]: m for m in h1["moves"]}
    # 5 minutes back (53): every book already at its current price: no move.
    assert moves[5]["change"] == pytest.approx(0.0)
    # 15 minutes back (43): median(5, 5, 5) -> median(3, 3, 5): 1/3 - 1/5.
    assert moves[15]["change"] == pytest.approx(1 / 3 - 1 / 5)
    assert moves[15]["books_shortened"] == 2
    assert moves[60]["change"] == pytest.approx(1 / 3 - 1 / 5)
    assert h1["move_since_open"] == pytest.approx(1 / 3 - 1 / 5)
    assert h1["steamer"] is True
    assert h1["drifter"] is False
    assert runner(race, "h2")["steamer"] is False


def test_race_freshness_rate_and_status() -> None:
    b = board()
    b.apply_odds(snap("bet365", 0, {"h1": "5.0"}))
    b.apply_odds(snap("coral", 1, {"h1": "5.0"}))
    b.apply_odds(snap("coral", 3, {"h1": "4.5"}))
    b.apply_odds(snap("coral", 4, {"h1": "4.0"}))
    b.apply_status(
        MarketState(
            event_id="st1", source=EventSource.SIMULATOR,
            source_time=T0 + timedelta(minutes=5), race_id="rac_1", status=MarketStatus.SUSPENDED,
        )
    )  # fmt: skip
    (race,) = b.readout().races
    assert race["status"] == "suspended"
    assert race["stalest_bookmaker_id"] == "bet365"
    assert race["stalest_age_s"] == 240.0
    assert race["update_rate_per_min"] == pytest.approx(4 / 5)
    assert race["as_of"] == (T0 + timedelta(minutes=4)).isoformat()


def test_bookmaker_coverage_rate_and_staleness() -> None:
    b = board()
    b.apply_odds(snap("bet365", 0, {"h1": "5.0", "h2": "3.0", "h3": None}))
    b.apply_odds(snap("coral", 10, {"h1": "5.0"}))
    parts = b.readout().bookmakers  # one per bookmaker and partition: one race, one partition
    for part in parts:
        BookmakerPart.model_validate(part)
    out = {x["bookmaker_id"]: add_up([x], b.params.rate_window_min, 7) for x in parts}
    bet365 = out["bet365"]
    BookmakerAnalytics.model_validate(bet365)
    assert (bet365["races"], bet365["runners"], bet365["prices"]) == (1, 2, 3)
    assert bet365["median_staleness_s"] == 600.0
    assert bet365["update_rate_per_min"] == 0.0  # nothing in the last 5 minutes
    assert out["coral"]["update_rate_per_min"] == pytest.approx(1 / 5)
    assert out["coral"]["last_update"] == (T0 + timedelta(minutes=10)).isoformat()


def stored_quotes(race: RaceMarket) -> list[tuple[Any, ...]]:
    """The race's quotes as `QUOTES_SQL` reads them back from `odds_latest`."""
    return [
        (race.race_id, book, horse, q.text, q.fractional, q.ew_places, q.ew_denom, q.opening,
         q.high, q.low, q.changes, q.last_change, q.version[0], q.version[1],
         orjson.dumps(q.history).decode())
        for book, horses in race.quotes.items()
        for horse, q in horses.items()
    ]  # fmt: skip


def test_race_state_is_restored_from_its_header_and_latest_rows() -> None:
    b = board()
    b.apply_card(card(non_runners={"h2"}))
    b.apply_odds(snap("bet365", 0, {"h1": "5.0", "h2": "3.0", "h3": None}))
    b.apply_odds(snap("coral", 3, {"h1": "4.5", "h3": None}))
    b.apply_odds(snap("bet365", 9, {"h1": "4.0"}))
    race = b.races["rac_1"]
    header = orjson.loads(orjson.dumps(race.dump_header()))
    (restored,) = restore_races([("rac_1", header)], stored_quotes(race))
    assert restored == race
    assert b.readout().changed == ["rac_1"]
    b.apply_odds(snap("coral", 3, {"h1": "4.5"}))  # a duplicate changes nothing to store
    assert b.readout().changed == []


def test_a_price_restored_with_trailing_zeros_is_no_change() -> None:
    """`odds_latest` stores numeric(12, 4): "2.75" may come back as "2.7500"."""
    b = board()
    b.apply_odds(snap("bet365", 0, {"h1": "2.75"}))
    b.races["rac_1"].quotes["bet365"]["h1"].text = "2.7500"
    b.apply_odds(snap("bet365", 5, {"h1": "2.75"}))
    quote = b.races["rac_1"].quotes["bet365"]["h1"]
    assert (quote.changes, len(quote.history)) == (0, 1)


def test_analytics_under_a_time_share_serve_the_longest_waiting_races_first() -> None:
    b = board()
    for race in ("rac_1", "rac_2", "rac_3"):
        b.apply_odds(msgspec.structs.replace(snap("bet365", 0, {"h1": "3.0"}), race_id=race))
    # No time has passed since the last read-out, so the share allows only the one race that
    # every read-out makes progress with; the others stay pending, nothing is lost.
    b.readout_clock = 10.0
    first = b.readout(clock=10.0, interval=1.0, share=0.25)
    assert [r["race_id"] for r in first.races] == ["rac_1"]
    assert set(b.dirty_races) == {"rac_2", "rac_3"}
    b.apply_odds(snap("coral", 1, {"h1": "3.5"}))  # rac_1 changes again
    second = b.readout(clock=10.0, interval=0.0, share=0.25)
    assert [r["race_id"] for r in second.races] == ["rac_2"]  # never analysed: before rac_1
    rest = b.readout(clock=100.0, interval=1.0, share=0.25)  # a long pause: budget for all
    assert sorted(r["race_id"] for r in rest.races) == ["rac_1", "rac_3"]
    assert not b.dirty_races


# -- properties: duplicates and out-of-order events leave results unchanged ----------------

price_text = st.sampled_from(["1.5", "2.0", "2.5", "3.25", "4.0", "6.5", "11.0", "21.0"])
snapshots = st.builds(
    snap,
    book=st.sampled_from(sorted(BOOKS)),
    minute=st.integers(min_value=0, max_value=90),
    prices=st.dictionaries(st.sampled_from(["h1", "h2", "h3"]), price_text, min_size=1),
)


def analytics_of(events: list[OddsIn]) -> tuple[list[dict[str, Any]], RaceMarket]:
    b = board()
    for event in events:
        b.apply_odds(event)
    return b.readout().races, b.races["rac_1"]


@settings(max_examples=150, deadline=None)
@given(st.lists(snapshots, min_size=1, max_size=25), st.data())
def test_duplicates_leave_results_unchanged(events: list[OddsIn], data: st.DataObject) -> None:
    dupes = data.draw(st.lists(st.sampled_from(events), max_size=10))
    b = board()
    for event in events:
        b.apply_odds(event)
    before = copy.deepcopy(b.races["rac_1"])
    for event in dupes:
        assert b.apply_odds(event) == 0
    assert b.races["rac_1"] == before


@settings(max_examples=150, deadline=None)
@given(st.lists(snapshots, min_size=1, max_size=25), st.data())
def test_out_of_order_events_are_ignored(events: list[OddsIn], data: st.DataObject) -> None:
    """An event older than what a runner x book already holds changes nothing: the state equals
    the state without it."""
    ordered = sorted(events, key=lambda e: (e.source_time, e.event_id))
    late = data.draw(st.sampled_from(ordered))
    newer_for_all = all(
        any(
            e.bookmaker_id == late.bookmaker_id
            and (e.source_time, e.event_id) > (late.source_time, late.event_id)
            and p.horse_id in {q.horse_id for q in e.prices}
            for e in ordered
        )
        for p in late.prices
    )
    rest = [e for e in ordered if e is not late]
    if newer_for_all:
        assert analytics_of([*rest, late]) == analytics_of(rest)


@settings(max_examples=100, deadline=None)
@given(st.lists(snapshots, min_size=2, max_size=25))
def test_fair_probabilities_of_any_market_sum_to_one(events: list[OddsIn]) -> None:
    races, _ = analytics_of(sorted(events, key=lambda e: (e.source_time, e.event_id)))
    (race,) = races
    for method in ("proportional", "power", "shin"):
        fair = [r[f"fair_{method}"] for r in race["runners"] if r[f"fair_{method}"] is not None]
        assert sum(fair) == pytest.approx(1.0)
    for book in race["books"]:
        assert book["book_percent"] is None or book["book_percent"] > 0
