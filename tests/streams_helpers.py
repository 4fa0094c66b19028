"""Helpers of the streams integration tests: publish records, wait for a consumer group to catch
up, snapshot what the sinks wrote, and compute oracles straight from the topics."""

import asyncio
import time
import uuid
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError

from schemas.odds import OddsSnapshot
from schemas.topics import MARKET_STATE, ODDS_LIVE, RACECARDS, race_group, topic_named
from streams.analytics_rows import (
    RACE_ANALYTICS,
    RACE_BOOK_ANALYTICS,
    RUNNER_ANALYTICS,
    readout_rows,
)
from streams.market_board import Readout
from tests.conftest import Infra, Runtime, start_runtime
from tests.kafka_helpers import read_all
from tests.streams_day import Record, replay, statistics

LIVE_TOPICS = (ODDS_LIVE.name, RACECARDS.name, MARKET_STATE.name)

# Every table the live streams write, with the columns compared (not `written_at`).
RACE_TABLES = {
    "odds_latest": "race_id, horse_id, bookmaker_id, price_decimal, price_fractional, ew_places, "
    "ew_denom, source_time, event_id",
    "odds_history": "race_id, horse_id, bookmaker_id, source_time, price_decimal, event_id",
    "odds_quotes": "race_id, horse_id, bookmaker_id, opening, high, low, changes, last_change, "
    "source_time, event_id",
    "race_analytics": "race_id, revision, as_of, status, off_dt, books_priced, runners_priced, "
    "best_book_percent, update_rate_per_min, stalest_bookmaker_id, stalest_age_s",
    "race_book_analytics": "race_id, bookmaker_id, revision, book_percent, runners_priced, "
    "complete, last_update",
    "runner_analytics": "race_id, horse_id, revision, as_of, non_runner, books_priced, "
    "best_price, best_books, consensus_price, implied_probability, fair_proportional, "
    "fair_power, fair_shin, opening_consensus_price, move_since_open, move_5m, move_15m, "
    "move_60m, steamer, drifter",
    "races": "race_id, course_id, off_dt, field_size, source_time, event_id",
    "runners": "race_id, horse_id, non_runner, source_time, event_id",
    "market_status": "race_id, status, source_time, event_id",
}


def start_worker(
    infra: Infra,
    artifacts: Path,
    app_id: str | None = None,
    database_url: str | None = None,
    **settings: str,
) -> Runtime:
    """A worker process; `settings` are more environment variables."""
    app_id = app_id or f"darkhorses-test-{uuid.uuid4().hex[:8]}"
    env = infra.env(
        DARKHORSES_STREAMS_APP_ID=app_id,
        DARKHORSES_STREAMS_FLUSH_INTERVAL_S="0.1",
        DARKHORSES_STREAMS_BATCH_EVENTS="200",
        DARKHORSES_STREAMS_SESSION_TIMEOUT_S="10",
        **settings,
    )
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return start_runtime(
        ["streams"],
        env,
        artifacts / f"{app_id}-{uuid.uuid4().hex[:4]}.log",
    )


async def publish(bootstrap: str, records: Iterable[Record]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        for record in records:
            await producer.send(record.topic, record.value, key=record.key)
        await producer.flush()
    finally:
        await producer.stop()


async def end_offsets(bootstrap: str, topics: Iterable[str]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    # aiokafka's stop() re-raises the cancellation of a background task that never got to run.
    await asyncio.sleep(0.1)
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in range(topic_named(topic).partitions)
        ]
        consumer.assign(partitions)
        offsets: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return offsets
    finally:
        await consumer.stop()


async def wait_until_consumed(
    bootstrap: str, group: str, runtime: Runtime, topics: Iterable[str] = LIVE_TOPICS,
    timeout_s: float = 240,
) -> None:  # fmt: skip
    """Until `group` has committed every partition of `topics` up to its end offset (the
    race topics: its race pipeline's group, mirrored after each transaction)."""
    ends = await end_offsets(bootstrap, topics)
    deadline = time.monotonic() + timeout_s
    behind: dict[TopicPartition, int] = ends
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        while time.monotonic() < deadline:
            if runtime.process.poll() is not None:
                raise AssertionError(f"worker exited:\n{runtime.output()[-5000:]}")
            try:
                committed = await admin.list_consumer_group_offsets(group)
                races = await admin.list_consumer_group_offsets(race_group(group))
            except GroupCoordinatorNotAvailableError:  # a fresh broker creates it on demand
                await asyncio.sleep(0.5)
                continue
            committed.update(races)
            behind = {
                tp: end for tp, end in ends.items() if end and committed.get(tp, _NONE).offset < end
            }
            if not behind:
                return
            await asyncio.sleep(0.5)
    finally:
        await admin.close()
    raise AssertionError(f"group {group} did not catch up; behind: {behind}")


class _NoOffset:
    offset = -1


_NONE: Any = _NoOffset()


async def snapshot(database_url: str, prefix: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the live streams wrote for races starting with `prefix`, sorted."""
    connection = await asyncpg.connect(database_url)
    try:
        out = {}
        for table, columns in RACE_TABLES.items():
            rows = await connection.fetch(
                f"SELECT {columns} FROM {table} WHERE race_id LIKE $1 ORDER BY {columns}",  # noqa: S608
                prefix + "%",
            )
            out[table] = [tuple(row) for row in rows]
        return out
    finally:
        await connection.close()


async def topic_records(
    bootstrap: str, prefix: str, exclude: frozenset[bytes] = frozenset()
) -> list[Record]:
    """The live topics' records for races starting with `prefix`, in each partition's order,
    but for those whose value is in `exclude`."""
    records = []
    for topic in LIVE_TOPICS:
        for r in await read_all(bootstrap, topic):
            if r.key is None or r.value is None or r.value in exclude:
                continue  # tombstones are no events
            if r.key.decode().startswith(prefix):
                records.append(Record(topic, r.key, r.value))
    return records


def odds_oracle(
    records: Iterable[Record],
) -> tuple[dict[tuple[str, ...], Decimal | None], set[Any]]:
    """Latest price per (race, horse, book) and every (race, horse, book, time, price) seen."""
    latest: dict[tuple[str, ...], tuple[tuple[Any, str], Decimal | None]] = {}
    history = set()
    for record in records:
        if record.topic != ODDS_LIVE.name:
            continue
        snap = OddsSnapshot.model_validate_json(record.value)
        version = (snap.source_time, snap.event_id)
        for price in snap.prices:
            key = (snap.race_id, price.horse_id, snap.bookmaker_id)
            if key not in latest or latest[key][0] < version:
                latest[key] = (version, price.decimal)
            history.add((*key, snap.source_time))
    return {k: v for k, (_, v) in latest.items()}, history


ANALYTICS_TABLES = (RACE_ANALYTICS, RACE_BOOK_ANALYTICS, RUNNER_ANALYTICS)


def expected_analytics(stats: dict[str, Any]) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """Rows the analytics tables must hold for the races of `stats` (see streams_day.statistics)."""
    readout = Readout(list(stats["races"].values()), [])
    out: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {}
    for table, rows in readout_rows(readout):
        if table in ANALYTICS_TABLES:
            width = len(table.key)
            # Decimal columns travel as text and are cast by PostgreSQL: compare as numbers.
            numeric = [column in table.decimals for column in table.columns]
            typed = [
                tuple(
                    Decimal(v) if is_numeric and v is not None else v
                    for v, is_numeric in zip(row, numeric, strict=True)
                )
                for row in rows
            ]
            out[table.name] = {row[:width]: row for row in typed}
    return out


async def stored_analytics(
    database_url: str, prefix: str
) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    connection = await asyncpg.connect(database_url)
    try:
        out = {}
        for table in ANALYTICS_TABLES:
            columns = ", ".join(table.columns)
            rows = await connection.fetch(
                f"SELECT {columns} FROM {table.name} WHERE race_id LIKE $1",  # noqa: S608
                prefix + "%",
            )
            width = len(table.key)
            out[table.name] = {tuple(row)[:width]: tuple(row) for row in rows}
        return out
    finally:
        await connection.close()


async def wait_for_analytics(
    database_url: str, prefix: str, expected: dict[str, Any], timeout_s: float = 30
) -> None:
    """Until the analytics tables hold `expected` (see `expected_analytics`). Analytics lag the
    committed offsets by up to the analytics interval, so they are polled, then compared."""
    deadline = time.monotonic() + timeout_s
    stored = await stored_analytics(database_url, prefix)
    while stored != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        stored = await stored_analytics(database_url, prefix)
    assert stored == expected, _differences(stored, expected)


def _differences(stored: dict[str, Any], expected: dict[str, Any], most: int = 6) -> str:
    """The first rows that differ, per table (the whole dicts are too long to read)."""
    lines: list[str] = []
    for table, rows in expected.items():
        held = stored.get(table, {})
        for key in sorted(rows.keys() | held.keys(), key=repr)[:1000]:
            if rows.get(key) != held.get(key) and len(lines) < most:
                lines.append(f"{table} {key}: stored {held.get(key)} expected {rows.get(key)}")
    return "\n".join(lines)


async def start_group_at_end(bootstrap: str, group_id: str, database_url: str) -> None:
    """Start a worker of `group_id` at the current end of every registered topic, so it sees
    only what is published from now on (not what earlier tests left on the topics): the Faust
    agents' group is committed there in Kafka, and the race pipeline's offsets, whose truth is
    PostgreSQL, are stored there in the worker's database."""
    from schemas.topics import ALL_TOPICS, RACE_TOPICS

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(t.name, p) for t in ALL_TOPICS for p in range(t.partitions)]
        consumer.assign(partitions)  # manual assignment: a commit without joining the group
        ends = await consumer.end_offsets(partitions)
        await consumer.commit(dict(ends.items()))
    finally:
        await consumer.stop()
    races = {t.name for t in RACE_TOPICS}
    connection = await asyncpg.connect(database_url)
    try:
        await connection.executemany(
            "INSERT INTO stream_offsets (consumer, topic, partition, next_offset) "
            "VALUES ($1, $2, $3, $4)",
            [
                (race_group(group_id), tp.topic, tp.partition, end)
                for tp, end in ends.items()
                if tp.topic in races
            ],
        )
    finally:
        await connection.close()


async def create_database(infra: Infra, name: str) -> str:
    """A new, migrated database on the test server, for tests that read global views."""
    from darkhorses.migrate import migrate

    database = f"{name}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(infra.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    url = infra.database_url.rsplit("/", 1)[0] + f"/{database}"
    await migrate(url)
    return url


async def assert_database_equals_topics(
    bootstrap: str, database_url: str, prefix: str, exclude: frozenset[bytes] = frozenset()
) -> None:
    """The races of `prefix` in PostgreSQL equal an oracle computed straight from the topics
    (but for the records whose value is in `exclude`): their analytics, latest prices and every
    price once in the history."""
    records = await topic_records(bootstrap, prefix, exclude)
    await wait_for_analytics(database_url, prefix, expected_analytics(statistics(replay(records))))
    stored = await snapshot(database_url, prefix)
    latest, history = odds_oracle(records)
    assert {r[:3]: r[3] for r in stored["odds_latest"]} == latest
    assert {r[:4] for r in stored["odds_history"]} == history
    assert len(stored["odds_history"]) == len(history)  # no row twice
