"""Races leave the worker's memory once quiet and stored, and come back whole for a late event."""

from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson
import pytest

from market.analytics import AnalyticsParams
from market.clock import US
from streams.market_board import MarketBoard, RaceRetired
from streams.market_store import restore_races
from tests.streams_day import apply_record, late_events, read_day, replay, statistics
from tests.unit.streams.test_race_market import snap, stored_quotes

HALF_HOUR_US = 30 * 60 * US
LATE = datetime(2026, 3, 14, 18, 0, tzinfo=UTC)  # hours after the day's last event


def one_partition_board(retire_after_us: int = HALF_HOUR_US) -> MarketBoard:
    """A board whose races share one partition, so one event time: retirement is per partition,
    and these races would otherwise each keep their own clock."""
    return MarketBoard(AnalyticsParams(), retire_after_us, partition_of=lambda race_id: 0)


def test_a_quiet_race_retires_once_stored_and_leaves_the_coverage() -> None:
    board = one_partition_board()
    board.apply_odds(snap("bet365", 0, {"h1": "5.0", "h2": "3.0"}))
    assert board.readout().changed == ["rac_1"]
    later = msgspec.structs.replace(snap("bet365", 45, {"h1": "2.0"}), race_id="rac_2")
    board.apply_odds(later)
    readout = board.readout()  # rac_1: quiet for 45 minutes, its header and analytics stored
    assert list(board.races) == ["rac_2"]
    assert board.retired == {"rac_1"}
    (bet365,) = readout.bookmakers
    assert (bet365["races"], bet365["runners"], bet365["prices"]) == (1, 1, 1)
    with pytest.raises(RaceRetired):
        board.apply_odds(snap("bet365", 50, {"h1": "4.0"}))


def test_a_race_still_to_store_or_analyse_is_held() -> None:
    board = one_partition_board()
    board.apply_odds(snap("bet365", 0, {"h1": "5.0"}))
    board.apply_odds(msgspec.structs.replace(snap("bet365", 45, {"h1": "2.0"}), race_id="rac_2"))
    board.readout(clock=0.0, interval=1.0)  # rac_1 changed: its header is being written
    assert set(board.races) == {"rac_1", "rac_2"}
    board.apply_odds(snap("bet365", 1, {"h1": "4.5"}))  # rac_1 changes again, but it was
    board.analysed_at["rac_1"] = 10.0  # analysed a moment ago: its analytics wait
    board.readout(clock=10.0, interval=1.0)
    board.apply_odds(msgspec.structs.replace(snap("bet365", 46, {"h1": "2.5"}), race_id="rac_2"))
    board.readout(clock=10.5, interval=1.0)  # rac_1: stored, but its analytics are pending
    assert "rac_1" in board.dirty_races
    assert set(board.races) == {"rac_1", "rac_2"}
    assert board.retire_deferred  # quiet, kept for now: the next pass takes it
    # Analysed now (its rows in this read-out's writes): retired in the same pass, though event
    # time has not moved on.
    board.readout(clock=11.0, interval=1.0)
    assert set(board.races) == {"rac_2"}
    assert not board.retire_deferred


def test_quiet_races_retire_when_event_time_stands_still() -> None:
    """Events older than the newest one seen (a replay, a late backfill) never move event time
    on: their races still retire once stored."""
    board = one_partition_board()
    board.apply_odds(msgspec.structs.replace(snap("bet365", 600, {"h1": "2.0"}), race_id="rac_2"))
    board.readout()
    board.apply_odds(snap("bet365", 0, {"h1": "5.0"}))  # hours behind the newest event
    assert board.readout().changed == ["rac_1"]  # being stored: held for now
    assert "rac_1" in board.races
    board.readout()  # nothing new, event time unchanged: stored now, so it retires
    assert board.retired == {"rac_1"}


class Store:
    """What PostgreSQL holds of each race after a read-out: its header and latest rows."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[dict[str, Any], list[tuple[Any, ...]]]] = {}

    def save(self, board: MarketBoard) -> None:
        for race_id, race in board.races.items():
            header = orjson.loads(orjson.dumps(race.dump_header()))  # as stored, then parsed
            self.rows[race_id] = (header, stored_quotes(race))

    def revive(self, board: MarketBoard, race_id: str) -> None:
        header, quotes = self.rows[race_id]
        (race,) = restore_races([(race_id, header)], quotes)
        board.adopt(race)


@pytest.mark.parametrize("quiet_min", [1, 20])
def test_retiring_and_reviving_races_leaves_their_analytics_unchanged(quiet_min: int) -> None:
    """The checked-in day (races off every few minutes over three hours) through a board that
    retires races after a few quiet minutes, reviving them for their later events, gives every
    race exactly the analytics of a board that holds them all."""
    day = read_day()
    records = day + [r for late in late_events(day, LATE).values() for r in late]
    expected = statistics(replay(records))["races"]
    board = one_partition_board(quiet_min * 60 * US)
    store = Store()
    revived = set()
    for index, record in enumerate(records):
        try:
            apply_record(board, record)
        except RaceRetired as retired:
            store.revive(board, retired.race_id)
            revived.add(retired.race_id)
            apply_record(board, record)
        if index % 40 == 0:  # a batch's read-out, then its transaction
            board.readout()
            store.save(board)
    assert len(revived) > len(expected) // 2  # most races left memory and came back
    for race_id in sorted(board.retired):
        store.revive(board, race_id)
    assert orjson.loads(orjson.dumps(statistics(board)["races"])) == orjson.loads(
        orjson.dumps(expected)
    )
