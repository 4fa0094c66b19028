"""Golden: the checked-in simulated day replayed through the analytics gives exactly the
checked-in statistics; replaying it again (every event a duplicate) changes nothing."""

import copy

import orjson

from market.analytics import AnalyticsParams
from schemas.analytics import BookmakerAnalytics, RaceAnalytics
from schemas.topics import ODDS_LIVE
from streams.analytics import apply_batch
from streams.market_board import MarketBoard
from tests.market_core import market_core
from tests.streams_day import GOLDEN, read_day, replay, statistics

__all__ = ["market_core"]  # the fixture: the golden day under both implementations


def golden() -> dict[str, object]:
    loaded: dict[str, object] = orjson.loads(GOLDEN.read_bytes())
    return loaded


def test_the_day_replays_to_the_golden_statistics(market_core: str) -> None:
    stats = statistics(replay(read_day()))
    assert orjson.loads(orjson.dumps(stats)) == golden()
    for race in stats["races"].values():
        RaceAnalytics.model_validate(race)
    for bookmaker in stats["bookmakers"].values():
        BookmakerAnalytics.model_validate(bookmaker)


def test_replaying_the_day_twice_changes_nothing() -> None:
    records = read_day()
    board = replay(records)
    first = copy.deepcopy(board.races)
    replay(records, board)
    assert board.races == first
    assert orjson.loads(orjson.dumps(statistics(board))) == golden()


def test_batches_of_any_size_reach_the_same_statistics() -> None:
    """The agent applies odds in batches; the batch size must not matter."""
    records = read_day()
    board = MarketBoard(AnalyticsParams())
    odds = [r for r in records if r.topic == ODDS_LIVE.name]
    others = [r for r in records if r.topic != ODDS_LIVE.name]
    replay(others, board)  # cards first: the final state does not depend on the interleaving
    for start in range(0, len(odds), 777):
        outcome = apply_batch(board, [r.value for r in odds[start : start + 777]])
        assert not outcome.rejects
    assert orjson.loads(orjson.dumps(statistics(board))) == golden()
