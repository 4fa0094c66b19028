"""Latest prices: a table of the newest price per (race, runner, bookmaker), sunk to PostgreSQL.

Events are processed one at a time (so each table update lands in its source partition's
changelog) but written to PostgreSQL in batches. Acks are manual: an event's offset becomes
committable only once the batch holding its rows is committed in PostgreSQL.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
import faust
import orjson
from pydantic import ValidationError

from schemas.base import decode
from schemas.odds import OddsSnapshot
from schemas.topics import DEAD_LETTERS, ODDS_LIVE
from streams.deadletter import dead_letter_for, send_dead_letter
from streams.metrics import EVENTS_CONSUMED, STALE_EVENTS
from streams.settings import StreamsSettings
from streams.sink import UpsertTable, upsert

log = logging.getLogger(__name__)

ODDS_LATEST = UpsertTable(
    name="odds_latest",
    columns=(
        "race_id", "horse_id", "bookmaker_id", "bookmaker", "price_decimal", "price_fractional",
        "ew_places", "ew_denom", "source", "source_time", "ingest_time", "event_id",
    ),
    key=("race_id", "horse_id", "bookmaker_id"),
    version=("source_time", "event_id"),
)  # fmt: skip

Version = tuple[str, str]  # (source_time ISO, event_id): totally ordered, same in live and replay


def price_rows(snapshot: OddsSnapshot) -> list[tuple[Any, ...]]:
    return [
        (
            snapshot.race_id, price.horse_id, snapshot.bookmaker_id, snapshot.bookmaker,
            price.decimal, price.fractional, price.ew_places, price.ew_denom,
            snapshot.source.value, snapshot.source_time, snapshot.ingest_time, snapshot.event_id,
        )
        for price in snapshot.prices
    ]  # fmt: skip


class BatchWriter:
    """Buffers rows with the events they came from; acks the events after the write commits."""

    def __init__(self, pool: asyncpg.Pool, table: UpsertTable, batch_size: int) -> None:
        self.pool = pool
        self.table = table
        self.batch_size = batch_size
        self.rows: list[tuple[Any, ...]] = []
        self.events: list[Any] = []
        self.lock = asyncio.Lock()

    def add(self, event: Any, rows: list[tuple[Any, ...]]) -> None:
        self.rows.extend(rows)
        self.events.append(event)

    @property
    def full(self) -> bool:
        return len(self.rows) >= self.batch_size

    async def flush(self) -> None:
        async with self.lock:
            rows, events = self.rows, self.events
            self.rows, self.events = [], []
            await upsert(self.pool, self.table, rows)
            for event in events:
                event.ack()


def register(app: faust.App, settings: StreamsSettings) -> Callable[..., Any]:
    """Define the latest-prices table and agent on `app`; returns the agent."""
    odds_topic = app.topic(ODDS_LIVE.name, key_serializer="raw", value_serializer="raw")
    dead_letter_topic = app.topic(DEAD_LETTERS.name, key_serializer="raw", value_serializer="raw")
    latest: Any = app.Table(
        "odds-latest-version", default=None, partitions=ODDS_LIVE.partitions, key_type=str
    )
    writers: list[BatchWriter] = []

    @app.timer(interval=settings.flush_interval_s)
    async def flush_latest_prices() -> None:
        for writer in list(writers):
            await writer.flush()

    @app.agent(odds_topic, name="latest-prices")
    async def latest_prices(stream: Any) -> None:
        async with asyncpg.create_pool(settings.database_url, min_size=1, max_size=2) as pool:
            writer = BatchWriter(pool, ODDS_LATEST, settings.batch_size)
            writers.append(writer)
            try:
                async for event in stream.noack().events():
                    EVENTS_CONSUMED.labels(ODDS_LIVE.name).inc()
                    try:
                        snapshot = decode(OddsSnapshot, event.value)
                    except (ValidationError, orjson.JSONDecodeError) as error:
                        letter = dead_letter_for(
                            event, f"invalid OddsSnapshot: {error}", "latest-prices"
                        )
                        await send_dead_letter(dead_letter_topic, letter)
                        writer.add(event, [])
                        continue
                    writer.add(event, fresh_rows(latest, snapshot))
                    if writer.full:
                        await writer.flush()
                await writer.flush()
            finally:
                writers.remove(writer)

    return latest_prices


def fresh_rows(latest: Any, snapshot: OddsSnapshot) -> list[tuple[Any, ...]]:
    """Rows for prices newer than the table's; updates the table. Duplicates yield nothing."""
    version: Version = (snapshot.source_time.isoformat(), snapshot.event_id)
    rows = []
    for row, price in zip(price_rows(snapshot), snapshot.prices, strict=True):
        key = f"{snapshot.race_id}|{price.horse_id}|{snapshot.bookmaker_id}"
        current = latest.get(key)
        if current is not None and tuple(current) >= version:
            STALE_EVENTS.labels(ODDS_LIVE.name).inc()
            continue
        latest[key] = list(version)
        rows.append(row)
    return rows
