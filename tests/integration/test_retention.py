"""Retention on a real PostgreSQL: daily partitions of the price history, days past the
retention dropped (finished races' pre-race prices archived first), the API still answering
for what remains. Its days lie in 2001, where no other test writes."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import orjson
import pytest

from darkhorses.retention import apply_retention, ensure_partitions
from tests.conftest import ApiProcess, Infra

pytestmark = pytest.mark.integration

NOW = datetime(2001, 6, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=100)  # past a 90-day retention
KEPT = NOW - timedelta(days=10)
EDGE = NOW - timedelta(days=95)  # past it too, but left in the default partition
HISTORY = ("race_id", "bookmaker_id", "source_time", "event_id", "source", "ingest_time", "prices")


def event(race: str, book: str, at: datetime, prices: list[tuple[str, str]]) -> tuple[object, ...]:
    payload = orjson.dumps([[h, p, None, None, None] for h, p in prices]).decode()
    return (race, book, at, f"ret-{race}-{book}-{at:%Y%m%d%H%M%S}", "simulator", at, payload)


async def finished_race(db: asyncpg.Connection, race: str, off: datetime) -> None:
    await db.execute(
        "INSERT INTO runners (race_id, horse_id, horse, non_runner, source_time, event_id) "
        "VALUES ($1, $1 || '_h1', 'Archie', false, $2, 'ret'), "
        "($1, $1 || '_h2', 'Bertie', false, $2, 'ret')",
        race, off,
    )  # fmt: skip
    await db.execute(
        "INSERT INTO results (race_id, off_dt, field_size, source_time, event_id) "
        "VALUES ($1, $2, 2, $2, 'ret')",
        race, off,
    )  # fmt: skip
    await db.execute(
        "INSERT INTO result_runners (race_id, horse_id, horse, position, sp_favourite, "
        "source_time, event_id, finished) VALUES ($1, $1 || '_h1', 'Archie', '1', true, $2, "
        "'ret', 1), ($1, $1 || '_h2', 'Bertie', '2', false, $2, 'ret', 2)",
        race, off,
    )  # fmt: skip


async def partitions(db: asyncpg.Connection) -> set[str]:
    rows = await db.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'odds_history_events'::regclass AND c.relname LIKE '%p2001%'"
    )
    return {r[0] for r in rows}


@pytest.fixture
async def history(infra: Infra, db: asyncpg.Connection) -> AsyncIterator[None]:
    """Three races in 2001: one 100 days back, one 95 days back, one 10 days back."""
    rows = []
    for race, at in (("rac_ret_old", OLD), ("rac_ret_edge", EDGE), ("rac_ret_kept", KEPT)):
        for minutes, (first, second) in enumerate((("3.0", "2.5"), ("3.5", "2.25"))):
            moment = at + timedelta(minutes=minutes)
            rows.append(event(race, "bet365", moment, [(f"{race}_h1", first)]))
            rows.append(
                event(race, "coral", moment, [(f"{race}_h1", first), (f"{race}_h2", second)])
            )
        await finished_race(db, race, at + timedelta(hours=1))
    await db.copy_records_to_table("odds_history_events", records=rows, columns=HISTORY)
    yield
    for table in ("runners", "results", "result_runners", "historical_odds_archive"):
        await db.execute(f"DELETE FROM {table} WHERE race_id LIKE 'rac_ret_%'")  # noqa: S608
    await db.execute("DELETE FROM odds_history_events WHERE race_id LIKE 'rac_ret_%'")
    # Their days' figures and partitions too: other tests count the whole history.
    for part in await partitions(db):
        await db.execute(f"DROP TABLE {part}")
    await db.execute("DELETE FROM history_partition_stats WHERE day < '2002-01-01'")


async def test_days_past_the_retention_are_dropped_and_finished_races_archived(
    infra: Infra, db: asyncpg.Connection, history: None, api_server: ApiProcess
) -> None:
    # Rows written before their day had a partition wait in the default; making the partition
    # moves them in.
    made = await ensure_partitions(db, OLD.date(), OLD.date())
    await ensure_partitions(db, KEPT.date(), KEPT.date())
    assert made == [f"odds_history_events_p{OLD:%Y%m%d}"]
    where = await db.fetch(
        "SELECT DISTINCT race_id, tableoid::regclass::text AS part FROM odds_history_events "
        "WHERE race_id LIKE 'rac_ret_%' ORDER BY race_id"
    )
    assert [tuple(r) for r in where] == [
        ("rac_ret_edge", "odds_history_events_default"),
        ("rac_ret_kept", f"odds_history_events_p{KEPT:%Y%m%d}"),
        ("rac_ret_old", f"odds_history_events_p{OLD:%Y%m%d}"),
    ]
    before = {
        tuple(r)
        for r in await db.fetch(
            "SELECT race_id, horse_id, bookmaker_id, last_price, min_price, max_price, "
            "observations FROM historical_odds_bookmakers WHERE race_id LIKE 'rac_ret_%'"
        )
    }
    assert len(before) == 9  # three races: h1 at two books, h2 at one

    report = await apply_retention(infra.database_url, NOW, retention_days=90, ahead_days=2)

    assert report.dropped == [f"odds_history_events_p{OLD:%Y%m%d}"]
    assert {f"odds_history_events_p{NOW + timedelta(days=d):%Y%m%d}" for d in range(3)} <= set(
        report.created
    )
    assert f"odds_history_events_p{OLD:%Y%m%d}" not in await partitions(db)
    remaining = await db.fetch(
        "SELECT DISTINCT race_id FROM odds_history_events WHERE race_id LIKE 'rac_ret_%'"
    )
    assert [r[0] for r in remaining] == ["rac_ret_kept"]  # the edge day left the default too
    # The finished races' pre-race prices are kept, to the last figure.
    after = {
        tuple(r)
        for r in await db.fetch(
            "SELECT race_id, horse_id, bookmaker_id, last_price, min_price, max_price, "
            "observations FROM historical_odds_bookmakers WHERE race_id LIKE 'rac_ret_%'"
        )
    }
    assert after == before
    # Every race settled a day before now is archived, the kept one too (its summary is read
    # from the archive from now on; its history stays for the price charts).
    archived = await db.fetch(
        "SELECT DISTINCT race_id FROM historical_odds_archive WHERE race_id LIKE 'rac_ret_%' "
        "ORDER BY 1"
    )
    assert [r[0] for r in archived] == ["rac_ret_edge", "rac_ret_kept", "rac_ret_old"]
    assert report.archived == 9
    # A day that ended before yesterday is counted once, and counted right.
    counted = await db.fetchrow(
        "SELECT events, prices FROM history_partition_stats WHERE partition = $1",
        f"odds_history_events_p{KEPT:%Y%m%d}",
    )
    assert tuple(counted) == (4, 6)

    # A second run finds nothing more to do.
    again = await apply_retention(infra.database_url, NOW, retention_days=90, ahead_days=2)
    assert (again.created, again.dropped, again.counted, again.archived) == ([], [], 0, 0)

    # The API answers for what remains: the kept race's history, every race's historical odds.
    async with httpx.AsyncClient(base_url=api_server.base_url, timeout=30) as client:
        kept = await client.get("/v1/races/rac_ret_kept/runners/rac_ret_kept_h1/history")
        assert kept.status_code == 200
        assert len(kept.json()["data"]["points"]) == 4
        gone = await client.get("/v1/races/rac_ret_old/runners/rac_ret_old_h1/history")
        assert gone.status_code == 200
        assert gone.json()["data"]["points"] == []
        odds = await client.get(
            "/v1/historical/odds", params={"from": str(OLD.date()), "to": str(NOW.date())}
        )
        assert odds.status_code == 200
        by_race = {(r["race_id"], r["horse_id"]): r for r in odds.json()["data"]}
        assert by_race[("rac_ret_old", "rac_ret_old_h1")]["bookmakers"] == 2
        assert by_race[("rac_ret_old", "rac_ret_old_h1")]["price_source"] == "live"
        assert by_race[("rac_ret_kept", "rac_ret_kept_h2")]["mean_price"] is not None
        for route in ("/v1/statistics", "/v1/summary"):
            assert (await client.get(route)).status_code == 200


async def test_a_day_with_rows_waiting_in_the_default_partition_is_moved_whole(
    db: asyncpg.Connection, history: None
) -> None:
    day = EDGE.date()
    count = await db.fetchval(
        "SELECT count(*) FROM odds_history_events WHERE race_id = 'rac_ret_edge'"
    )
    await ensure_partitions(db, day, day)
    moved = await db.fetch(
        "SELECT DISTINCT tableoid::regclass::text FROM odds_history_events "
        "WHERE race_id = 'rac_ret_edge'"
    )
    assert [r[0] for r in moved] == [f"odds_history_events_p{day:%Y%m%d}"]
    assert count == await db.fetchval(
        "SELECT count(*) FROM odds_history_events WHERE race_id = 'rac_ret_edge'"
    )
    await db.execute(f"DROP TABLE odds_history_events_p{day:%Y%m%d}")
