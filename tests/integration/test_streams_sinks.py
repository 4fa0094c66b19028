"""Results, historical odds, racecards and fetch statistics through the real broker and worker into
PostgreSQL; the historical and statistics views read them back."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from market.analytics import AnalyticsParams
from schemas.base import EventSource, encode
from schemas.odds import OddsSnapshot, RunnerPrice
from schemas.racecards import Racecard, Runner
from schemas.stats import FetchStats
from schemas.topics import FETCH_STATS, ODDS_HISTORICAL, RACECARDS, RESULTS
from streams.analytics import apply_batch
from streams.market_board import MarketBoard
from streams.odds import NEW_QUOTES, STORED_QUOTES
from streams.sink import PostgresSink
from tests.conftest import Infra
from tests.streams_day import Record
from tests.streams_helpers import (
    create_database,
    publish,
    start_group_at_end,
    start_worker,
    wait_until_consumed,
)
from tests.unit.streams.results_sample import sample_results

pytestmark = pytest.mark.integration

RACE = "rac_11745682"  # Southwell 20:30 on 2025-10-07, 6 ran
OFF = datetime(2025, 10, 7, 19, 30, tzinfo=UTC)


def historical(book: str, minutes_before: int, prices: dict[str, str]) -> Record:
    snapshot = OddsSnapshot(
        event_id=f"hist-{book}-{minutes_before}",
        source=EventSource.RACING_API,
        source_time=OFF - timedelta(minutes=minutes_before),
        race_id=RACE,
        bookmaker_id=book,
        bookmaker=book.title(),
        prices=tuple(RunnerPrice(horse_id=h, decimal=Decimal(p)) for h, p in prices.items()),
    )
    return Record(ODDS_HISTORICAL.name, RACE.encode(), encode(snapshot))


def racecard() -> Record:
    card = Racecard(
        event_id="card-southwell-2030",
        source=EventSource.RACING_API,
        source_time=OFF - timedelta(hours=6),
        race_id=RACE,
        course_id="crs_10244",
        course="Southwell (AW)",
        region="GB",
        race_date=OFF.date(),
        off_dt=OFF,
        race_name="Arc All-Weather £1Million Bonus Returns Handicap",
        runners=(
            Runner(horse_id="hrs_30455194", horse="Create (IRE)", jockey_id="jky_250764",
                   jockey="Kieran O'Neill", trainer_id="trn_234891", trainer="Scott Dixon",
                   owner_id="own_1309284", owner="Dixon Wylam M Baldry Js Harrod",
                   sire_id="sir_7013188", dam_id="dam_5801159", damsire_id="dsi_753900"),
            Runner(horse_id="hrs_24833459", horse="Fire Eyes (FR)", jockey_id="jky_301131",
                   jockey="Mark Winn", owner_id="own_1418228", owner="Benjamin Buckley"),
        ),
    )  # fmt: skip
    return Record(RACECARDS.name, RACE.encode(), encode(card))


def fetch_stats() -> FetchStats:
    return FetchStats(
        event_id="fetch-1", source=EventSource.RACING_API, source_time=OFF, producer="live",
        races=5, runners=36, bookmakers=20, prices=700, unpriced=4, errors=0, duration_s=1.25,
    )  # fmt: skip


async def test_results_historical_odds_reference_and_statistics(
    infra: Infra, artifacts: Path
) -> None:
    records = [
        racecard(),
        historical("bet365", 60, {"hrs_30455194": "3.5", "hrs_24833459": "2.5"}),
        historical("bet365", 10, {"hrs_30455194": "3.0"}),  # bet365's last pre-race price
        historical("coral", 30, {"hrs_30455194": "3.25", "hrs_24833459": "2.75"}),
        historical("coral", -5, {"hrs_30455194": "9.0"}),  # after the off: not pre-race
        historical("coral", 30, {"hrs_30455194": "3.25", "hrs_24833459": "2.75"}),  # duplicate
        *(Record(RESULTS.name, r.race_id.encode(), encode(r)) for r in sample_results()),
        Record(RESULTS.name, b"rac_bad_result", b'{"race_id": "rac_bad_result", "runners": 3}'),
        Record(FETCH_STATS.name, b"live", encode(fetch_stats())),
    ]
    # The statistics views are global: this test gets its own database, and a consumer group
    # that starts at the topics' current end, so other tests' events do not count here.
    app_id = f"darkhorses-test-sinks-{uuid.uuid4().hex[:6]}"
    database_url = await create_database(infra, "sinks")
    await start_group_at_end(infra.kafka_bootstrap, app_id, database_url)
    worker = start_worker(infra, artifacts, app_id, database_url)
    db = await asyncpg.connect(database_url)
    try:
        await publish(infra.kafka_bootstrap, records)
        topics = (RESULTS.name, ODDS_HISTORICAL.name, FETCH_STATS.name, RACECARDS.name)
        await wait_until_consumed(infra.kafka_bootstrap, app_id, worker, topics)
        create = await db.fetchrow(
            "SELECT * FROM historical_odds WHERE race_id = $1 AND horse_id = 'hrs_30455194'", RACE
        )
        # bet365 last pre-race 3.0, coral 3.25: min 3.0, max 3.25, mean 3.125; SP 9/4 won.
        assert (create["min_price"], create["max_price"], create["mean_price"]) == (
            Decimal("3.0"), Decimal("3.25"), Decimal("3.125"),
        )  # fmt: skip
        assert create["bookmakers"] == 2
        assert (create["sp_decimal"], create["sp_rank"], create["position"]) == (
            Decimal("3.25"), 2, "1",
        )  # fmt: skip
        assert (create["ew_places"], create["ew_fraction"]) == (2, "1/4")
        assert (create["win_return"], create["place_return"], create["ew_return"]) == (
            Decimal("3.25"), Decimal("1.5625"), Decimal("4.8125"),
        )  # fmt: skip
        assert create["region_code"] == "GB"
        assert create["off_dt"] == OFF
        assert (
            await db.fetchval("SELECT count(*) FROM odds_historical WHERE race_id = $1", RACE) == 6
        )

        # Jockey form across the sample: jky_43887 won twice, was 2nd once and 4th once.
        jockey = await db.fetchrow("SELECT * FROM jockey_stats WHERE jockey_id = 'jky_43887'")
        assert (jockey["rides"], jockey["wins"], jockey["places"]) == (4, 2, 3)
        assert (jockey["win_rate"], jockey["place_rate"]) == (Decimal("0.5"), Decimal("0.75"))
        assert jockey["last_win"] == datetime(2025, 10, 7, 19, 0, tzinfo=UTC)
        named = await db.fetchrow("SELECT * FROM jockey_stats WHERE jockey_id = 'jky_250764'")
        assert (named["jockey"], named["rides"], named["wins"]) == ("Kieran O'Neill", 1, 1)
        owner = await db.fetchrow("SELECT * FROM owner_stats WHERE owner_id = 'own_1418228'")
        assert (owner["owner"], owner["runs"], owner["wins"], owner["places"]) == (
            "Benjamin Buckley", 1, 0, 1,
        )  # fmt: skip
        horse = await db.fetchrow("SELECT * FROM horses WHERE horse_id = 'hrs_30455194'")
        assert (horse["sire_id"], horse["dam_id"]) == ("sir_7013188", "dam_5801159")
        assert await db.fetchval("SELECT course FROM courses WHERE course_id = 'crs_10244'") == (
            "Southwell (AW)"
        )

        summary = await db.fetchrow("SELECT * FROM stats_historical_summary")
        assert (summary["races"], summary["runners"], summary["tracks"]) == (5, 36, 1)
        assert summary["countries"] == 1
        coverage = await db.fetchrow("SELECT * FROM stats_historical_coverage")
        assert (coverage["runners"], coverage["with_sp"], coverage["with_pre_race_prices"]) == (
            36, 36, 2,
        )  # fmt: skip
        fetch = await db.fetchrow("SELECT * FROM fetch_stats WHERE event_id = 'fetch-1'")
        assert (fetch["producer"], fetch["prices"], fetch["duration_s"]) == ("live", 700, 1.25)
        letter = None
        for _ in range(100):  # the dead letter takes one more hop: topic, then its own sink
            letter = await db.fetchrow("SELECT * FROM dead_letters WHERE key = 'rac_bad_result'")
            if letter is not None:
                break
            await asyncio.sleep(0.2)
        assert letter is not None
        assert letter["consumer"] == "race-pipeline"  # results are stored with their race
        assert "invalid Result" in letter["reason"]
    finally:
        await db.close()
        worker.stop()


async def test_a_wrong_guess_about_stored_quotes_is_written_as_upserts(infra: Infra) -> None:
    """The race pipeline COPYs new quotes and updates stored ones; when a row proves the board
    wrong (a new quote already there, a stored one missing), the batch is written as upserts."""
    board = MarketBoard(AnalyticsParams())
    race = f"rac_guess_{uuid.uuid4().hex[:6]}"
    first = apply_batch(board, [encode(odds_snapshot(race, 0, {"h1": "3.0", "h2": "5.0"}))])
    second = apply_batch(board, [encode(odds_snapshot(race, 5, {"h1": "3.5"}))])
    tables = {table for table, rows in second.writes if rows}
    assert STORED_QUOTES in tables
    assert NEW_QUOTES not in tables
    sink = PostgresSink(infra.database_url)
    async with sink:
        await sink.write(second.writes)  # h1 "stored" but missing: falls back to an upsert
        await sink.write(first.writes)  # h1 "new" but there (and older): upsert keeps 3.5
    connection = await asyncpg.connect(infra.database_url)
    try:
        latest = dict(
            await connection.fetch(
                "SELECT horse_id, price_decimal FROM odds_latest WHERE race_id = $1", race
            )
        )
        history = await connection.fetchval(
            "SELECT count(*) FROM odds_history WHERE race_id = $1", race
        )
    finally:
        await connection.close()
    assert latest == {"h1": Decimal("3.5"), "h2": Decimal("5.0")}
    assert history == 3


def odds_snapshot(race: str, minute: int, prices: dict[str, str]) -> OddsSnapshot:
    at = datetime(2026, 3, 14, 12, tzinfo=UTC) + timedelta(minutes=minute)
    return OddsSnapshot(
        source=EventSource.SIMULATOR,
        source_time=at,
        ingest_time=at,
        race_id=race,
        bookmaker_id="bet365",
        bookmaker="Bet365",
        prices=tuple(RunnerPrice(horse_id=h, decimal=Decimal(p)) for h, p in prices.items()),
    )
