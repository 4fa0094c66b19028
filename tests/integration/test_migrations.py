"""Migrations over stored data: a database migrated before a change keeps every row after it."""

import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import orjson
import pytest

from darkhorses.migrate import migrate, migrations_dir
from tests.conftest import Infra

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 14, 13, 0, tzinfo=UTC)
HISTORY = "race_id, horse_id, bookmaker_id, source_time, price_decimal, price_fractional, " \
    "ew_places, ew_denom, source, event_id, ingest_time"  # fmt: skip


@pytest.fixture
async def database(infra: Infra) -> AsyncIterator[str]:
    """A database of its own, dropped afterwards."""
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(infra.database_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        yield infra.database_url.rsplit("/", 1)[0] + f"/{name}"
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()


def migrations_before(name: str, folder: Path) -> Path:
    folder.mkdir()
    for path in sorted(migrations_dir().glob("[0-9][0-9][0-9][0-9]_*.sql")):
        if path.name < name:
            shutil.copy(path, folder / path.name)
    return folder


async def test_price_history_moves_to_event_rows_with_every_price(
    database: str, tmp_path: Path
) -> None:
    await migrate(database, migrations_before("0009", tmp_path / "before"))
    later = T0 + timedelta(seconds=20)
    rows = [  # two prices of one event, one of another, an unpriced (SP) quote
        ("rac_1", "hrs_1", "bet365", T0, Decimal("2.7500"), "7/4", 3, 5, "simulator", "e1", T0),
        ("rac_1", "hrs_2", "bet365", T0, Decimal("4.0000"), "3/1", 3, 5, "simulator", "e1", T0),
        ("rac_1", "hrs_1", "bet365", later, Decimal("3.0000"), "2/1", 3, 5, "simulator", "e2", T0),
        ("rac_1", "hrs_3", "coral", later, None, None, None, None, "racing_api", "e3", later),
    ]
    connection = await asyncpg.connect(database)
    try:
        await connection.copy_records_to_table(
            "odds_history", records=rows, columns=[c.strip() for c in HISTORY.split(",")]
        )
        assert "0009_odds_history_events.sql" in await migrate(database)
        query = f"SELECT {HISTORY} FROM odds_history ORDER BY source_time, horse_id"  # noqa: S608
        assert [tuple(r) for r in await connection.fetch(query)] == rows
        assert await connection.fetchval("SELECT count(*) FROM odds_history_events") == 3
        summary = await connection.fetchrow("SELECT price_changes FROM stats_live_summary")
        assert summary["price_changes"] == len(rows)
    finally:
        await connection.close()


async def test_history_prices_and_race_headers_move_to_json_unchanged(
    database: str, tmp_path: Path
) -> None:
    await migrate(database, migrations_before("0010", tmp_path / "before"))
    prices = '[["hrs_1", "2.75", "7/4", 3, 5], ["hrs_2", null, null, null, null]]'
    header = '{"latest": 1773493200000000, "books": {"bet365": ["Bet365", 1, 2]}, "runners": []}'
    connection = await asyncpg.connect(database)
    try:
        await connection.execute(
            "INSERT INTO odds_history_events VALUES ('rac_1', 'bet365', $1, 'e1', 'simulator', $1,"
            " $2::jsonb)",
            T0,
            prices,
        )
        await connection.execute("INSERT INTO market_races VALUES ('rac_1', 3, $1::jsonb)", header)
        assert "0010_json_payloads.sql" in await migrate(database)
        query = "SELECT horse_id, price_decimal, ew_places FROM odds_history ORDER BY horse_id"
        assert [tuple(r) for r in await connection.fetch(query)] == [
            ("hrs_1", Decimal("2.7500"), 3),
            ("hrs_2", None, None),
        ]
        stored = await connection.fetchval("SELECT header::text FROM market_races")
        assert orjson.loads(stored) == orjson.loads(header)
        summary = await connection.fetchrow("SELECT price_changes FROM stats_live_summary")
        assert summary["price_changes"] == 2
    finally:
        await connection.close()


async def test_price_history_moves_into_daily_partitions_with_its_views(
    database: str, tmp_path: Path
) -> None:
    await migrate(database, migrations_before("0060", tmp_path / "before"))
    days = (T0, T0 + timedelta(days=1, hours=2))
    connection = await asyncpg.connect(database)
    try:
        for n, at in enumerate(days):
            await connection.execute(
                "INSERT INTO odds_history_events VALUES ('rac_1', 'bet365', $1, $2, 'simulator', "
                "$1, $3::json)",
                at, f"e{n}", '[["hrs_1", "2.75", "7/4", 3, 5], ["hrs_2", "4.0", "3/1", 3, 5]]',
            )  # fmt: skip
        before = [tuple(r) for r in await connection.fetch("SELECT * FROM odds_history ORDER BY 4")]
        applied = await migrate(database)
        assert "0060_history_partitions.sql" in applied
        placed = await connection.fetch(
            "SELECT tableoid::regclass::text AS part FROM odds_history_events ORDER BY source_time"
        )
        assert [r["part"] for r in placed] == [f"odds_history_events_p{at:%Y%m%d}" for at in days]
        after = [tuple(r) for r in await connection.fetch("SELECT * FROM odds_history ORDER BY 4")]
        assert after == before
        # The views built on the history were made again, and read the new table.
        assert await connection.fetchval("SELECT price_changes FROM stats_live_summary") == 4
        assert await connection.fetchval("SELECT count(*) FROM historical_odds") == 0
        kind = await connection.fetchval(
            "SELECT relkind::text FROM pg_class WHERE relname = 'odds_history_events'"
        )
        assert kind == "p"
        # The streams' insert-if-new still works against the partitioned table.
        await connection.execute(
            "INSERT INTO odds_history_events VALUES ('rac_1', 'bet365', $1, 'e0', 'simulator', $1,"
            " '[]') ON CONFLICT (race_id, bookmaker_id, source_time, event_id) DO NOTHING",
            T0,
        )
        assert await connection.fetchval("SELECT count(*) FROM odds_history_events") == 2
    finally:
        await connection.close()
