"""Races quiet for the horizon leave the board; late odds for them are rejected with a reason."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from schemas.base import EventSource, encode
from schemas.market import MarketState, MarketStatus
from schemas.odds import OddsSnapshot, RunnerPrice
from streams.analytics import MarketFeeds, apply_batch
from streams.market_board import MarketBoard, RaceRetired
from streams.odds_decode import decode_odds
from streams.odds_pipeline import OddsPipeline
from streams.race_analytics import AnalyticsParams
from tests.unit.streams.test_agents import SETTINGS, MemorySink

T0 = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
HORIZON_H = 2.0


def odds(race: str, hours: float, price: str = "3.0", book: str = "bet365") -> bytes:
    at = T0 + timedelta(hours=hours)
    return encode(
        OddsSnapshot(
            event_id=f"{race}-{book}-{hours}",
            source=EventSource.SIMULATOR,
            source_time=at,
            ingest_time=at,
            race_id=race,
            bookmaker_id=book,
            bookmaker=book.title(),
            prices=(RunnerPrice(horse_id="h1", decimal=Decimal(price)),),
        )
    )


def board() -> MarketBoard:
    return MarketBoard(AnalyticsParams(horizon_h=HORIZON_H))


def test_a_race_quiet_for_the_horizon_leaves_the_board_and_its_odds_are_rejected() -> None:
    b = board()
    apply_batch(b, [odds("rac_old", 0), odds("rac_new", 0, book="coral")])
    later = apply_batch(b, [odds("rac_new", 2.5, "4.0", book="coral")])  # rac_old: 2.5 h quiet

    assert set(b.races) == {"rac_new"}
    assert b.retired == {"rac_old"}
    # The retired race's bookmaker is read out again, covering what is left on the board.
    books = {book["bookmaker_id"]: book for book in later.readout.bookmakers}
    assert set(books) == {"bet365", "coral"}
    assert (books["bet365"]["races"], books["coral"]["races"]) == (0, 1)

    late = apply_batch(b, [odds("rac_old", 2.6, "5.0")])
    (reject,) = late.rejects
    assert reject[0] == 0
    assert "race rac_old is retired" in reject[1]
    assert not any(rows for table, rows in late.writes if table.name == "odds_history")
    with pytest.raises(RaceRetired):
        b.apply_odds(decode_odds(odds("rac_old", 2.7)))


def test_cards_and_statuses_for_a_retired_race_leave_the_board_alone() -> None:
    b = board()
    apply_batch(b, [odds("rac_old", 0)])
    apply_batch(b, [odds("rac_new", 3)])
    assert b.retired == {"rac_old"}
    state = MarketState(
        source=EventSource.SIMULATOR,
        source_time=T0 + timedelta(hours=3),
        race_id="rac_old",
        status=MarketStatus.RESULT,
    )
    assert b.apply_status(state) is False
    assert "rac_old" not in b.races


def test_activity_counts_cards_and_statuses_not_only_odds() -> None:
    b = board()
    apply_batch(b, [odds("rac_a", 0), odds("rac_b", 0)])
    status = MarketState(
        source=EventSource.SIMULATOR,
        source_time=T0 + timedelta(hours=1.5),
        race_id="rac_a",
        status=MarketStatus.OFF,
    )
    b.apply_status(status)
    b.readout()
    apply_batch(b, [odds("rac_c", 3)])  # rac_a: last active 1.5 h before, rac_b 3 h before
    assert set(b.races) == {"rac_a", "rac_c"}
    assert b.retired == {"rac_b"}


def test_a_race_with_changes_not_yet_read_out_waits_for_the_next_look() -> None:
    b = board()
    apply_batch(b, [odds("rac_old", 0)])
    b.apply_odds(decode_odds(odds("rac_new", 3)))  # no read-out yet: rac_old is still changed
    b.changed.add("rac_old")
    b.sweep()
    assert "rac_old" in b.races
    b.readout()
    apply_batch(b, [odds("rac_new", 3.5, "4.0")])
    assert "rac_old" in b.retired


class StoredRaces(MemorySink):
    """A sink holding `market_races` rows as `HEADERS_SQL` returns them."""

    def __init__(self, headers: list[tuple[Any, ...]]) -> None:
        super().__init__()
        self.headers = headers

    async def fetch(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        return self.headers if "FROM market_races" in query else []


async def test_races_past_the_horizon_are_not_restored() -> None:
    hour = 3600 * 1_000_000
    start = int(T0.timestamp() * 1_000_000)
    header = (
        '{"updates": [], "revision": 1, "latest": %d, "source": "simulator", "status": "open", '
        '"status_version": [0, ""], "card_version": [0, ""], "off_dt": null, "runners": [], '
        '"non_runners": [], "books": {}}'
    )
    sink = StoredRaces(
        [
            ("rac_old", header % start, start),
            ("rac_new", header % (start + 3 * hour), start + 3 * hour),
        ]
    )

    async def send(*_: Any) -> Any:
        raise AssertionError("nothing is published by a restore")

    async def park(_: Any) -> None:
        raise AssertionError("nothing is parked by a restore")

    feeds = MarketFeeds(board=board(), send=send)
    pipeline = OddsPipeline(SETTINGS, feeds, sink, park)
    await pipeline.restore(set(range(64)))
    assert set(feeds.board.races) == {"rac_new"}
    assert feeds.board.retired == {"rac_old"}
