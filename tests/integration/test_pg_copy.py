"""The sinks' native COPY against PostgreSQL: it stores exactly what asyncpg's COPY stores, falls
back to asyncpg for what it does not encode, and covers every table the sinks write."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from streams import analytics_rows, deadletters_sink, market_store, odds, pg_codecs, reference
from streams.pg_copy import column_encodings, copy_rows
from streams.sink import UpsertTable

pytestmark = pytest.mark.integration

COLUMNS = (
    "name", "small", "regular", "big", "ratio", "flag", "price", "at", "day", "doc", "books",
    "note",
)  # fmt: skip
TABLE = """(
    name text, small smallint, regular integer, big bigint, ratio double precision,
    flag boolean, price numeric(12, 4), at timestamptz, day date, doc jsonb, books text[],
    note json
)"""
ROWS: list[tuple[Any, ...]] = [
    (
        "Ascot € 2m", -32768, 2**31 - 1, -(2**63), 0.1, True, "2.75", 1773478800123456,
        date(2026, 3, 14), b'{"a": [1, "2.5"]}', ["bet365", "sky"], b'[["h1", "2.75", null]]',
    ),
    (
        "", 7, -1, 0, -1e300, False, "1000", datetime(2026, 3, 14, 9, 30, tzinfo=UTC),
        date(1999, 12, 31), '{"b": null}', [], '{"a":  1}',
    ),
    (
        None, None, None, None, None, None, None, None, None, None, None, None,
    ),
    (
        "é", 0, 0, 1, 2.5, True, Decimal("0.0001"),
        datetime(2026, 3, 14, 10, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        date(2026, 1, 1), b"[]", ["a", None], "[]",
    ),
]  # fmt: skip


async def stored(db: asyncpg.Connection, table: str) -> list[tuple[Any, ...]]:
    rows = await db.fetch(f"SELECT * FROM {table} ORDER BY name NULLS FIRST")  # noqa: S608
    return [tuple(row) for row in rows]


async def test_native_copy_stores_what_asyncpg_stores(db: asyncpg.Connection) -> None:
    await pg_codecs.register(db)
    async with db.transaction():
        await db.execute(f"CREATE TEMP TABLE by_asyncpg {TABLE}; CREATE TEMP TABLE native {TABLE}")
        assert await column_encodings(db, "native", COLUMNS) is not None
        await db.copy_records_to_table("by_asyncpg", records=ROWS, columns=COLUMNS)
        await copy_rows(db, "native", COLUMNS, ROWS)
        assert await stored(db, "native") == await stored(db, "by_asyncpg")
        assert len(await stored(db, "native")) == len(ROWS)


async def test_values_and_types_it_does_not_take_go_through_asyncpg(
    db: asyncpg.Connection,
) -> None:
    await pg_codecs.register(db)
    async with db.transaction():
        await db.execute(
            "CREATE TEMP TABLE floats (name text, price numeric(12, 4));"
            "CREATE TEMP TABLE spans (name text, span interval)"
        )
        await copy_rows(db, "floats", ("name", "price"), [("a", 2.5), ("b", "3.25")])
        assert await db.fetch("SELECT price FROM floats ORDER BY name") == [
            (Decimal("2.5"),),
            (Decimal("3.25"),),
        ]
        assert await column_encodings(db, "spans", ("name", "span")) is None
        await copy_rows(db, "spans", ("name", "span"), [("a", timedelta(minutes=5))])
        assert await db.fetchval("SELECT span FROM spans") == timedelta(minutes=5)
        with pytest.raises(LookupError, match="spans has no column nope"):
            await column_encodings(db, "spans", ("name", "nope"))


async def test_every_sink_table_is_encoded_natively(db: asyncpg.Connection) -> None:
    tables = {
        table.name: table
        for module in (reference, analytics_rows, odds, market_store, deadletters_sink)
        for table in vars(module).values()
        if isinstance(table, UpsertTable)
    }
    assert {"odds_latest", "odds_history_events", "runner_analytics", "races"} <= set(tables)
    for name, table in tables.items():
        assert await column_encodings(db, name, table.columns) is not None, name
