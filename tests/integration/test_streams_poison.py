"""A poison corpus on the real broker and database: records no consumer can use, published
among a simulated day's events. Each is dead-lettered with its reason (by reference when
oversize), the worker keeps running, and the database ends equal to the oracle computed from the
topics minus exactly the poison records.

Two of them are valid events PostgreSQL refuses (a trigger stands in for any refusal the
contract cannot foresee): the worker bisects its batch down to them and stores the rest."""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from schemas.base import RECORD_MAX
from schemas.topics import DEAD_LETTERS, MARKET_STATE, ODDS_LIVE, RACECARDS
from tests.conftest import Infra
from tests.streams_day import Record, simulate
from tests.streams_helpers import (
    LIVE_TOPICS,
    assert_database_equals_topics,
    start_worker,
    wait_until_consumed,
)

pytestmark = pytest.mark.integration

PREFIX = "rac_psn"
REFUSED = "hrs_psnrefused"  # rows of this horse are refused by a trigger


@dataclass(frozen=True)
class Poison:
    name: str
    topic: str
    key: bytes
    value: bytes | None
    reason: str  # a fragment the dead letter's reason must hold


def first(records: list[Record], topic: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(next(r.value for r in records if r.topic == topic))
    return doc


def poisons(records: list[Record]) -> list[Poison]:
    odds, card = first(records, ODDS_LIVE.name), first(records, RACECARDS.name)
    state = first(records, MARKET_STATE.name)
    race = odds["race_id"]
    key = race.encode()

    def variant(doc: dict[str, Any], name: str, **changes: Any) -> bytes:
        return orjson.dumps({**doc, "event_id": f"poison-{name}", **changes})

    price = odds["prices"][0]
    runner = card["runners"][0]
    cases = [
        Poison("oversize", ODDS_LIVE.name, key,
               variant(odds, "oversize", bookmaker="x" * (5 * 1024 * 1024)),
               f"exceeds the {RECORD_MAX}-byte limit"),
        Poison("long-race-id", ODDS_LIVE.name, key,
               variant(odds, "long", race_id="r" * 10_240), "race_id"),
        Poison("nul-race-id", ODDS_LIVE.name, key,
               variant(odds, "nul", race_id=race + "\x00"), "race_id"),
        Poison("ew-places-overflow", ODDS_LIVE.name, key,
               variant(odds, "ew", prices=[{**price, "ew_places": 40_000}]), "ew_places"),
        Poison("not-json", ODDS_LIVE.name, key, b"\xff\xfe{not json\x00", "JSON"),
        Poison("too-many-prices", ODDS_LIVE.name, key,
               variant(odds, "many", prices=[price] * 500), "prices"),
        Poison("time-overflows-in-utc", ODDS_LIVE.name, key,
               variant(odds, "time", source_time="0001-01-01T00:00:00+14:00"),
               "must be between"),
        Poison("negative-offset-field", ODDS_LIVE.name, key,
               variant(odds, "neg", prices=[{**price, "ew_denom": -1}]), "ew_denom"),
        Poison("refused-price", ODDS_LIVE.name, key,
               variant(odds, "refused", prices=[{**price, "horse_id": REFUSED + "1"}]),
               "refused by PostgreSQL"),
        Poison("nul-horse-name", RACECARDS.name, key,
               variant(card, "nulname", runners=[{**runner, "horse": "Bad\x00Horse"}]), "horse"),
        Poison("refused-card", RACECARDS.name, key,
               variant(card, "refusedcard", runners=[{**runner, "horse_id": REFUSED + "2"}]),
               "refused by PostgreSQL"),
        Poison("tombstone", RACECARDS.name, key, None, "tombstone"),
        Poison("bad-status", MARKET_STATE.name, key,
               variant(state, "status", status="bogus"), "status"),
        Poison("state-race-id-spaces", MARKET_STATE.name, key,
               variant(state, "spaces", race_id="rac psn"), "race_id"),
    ]  # fmt: skip
    return cases


@pytest.fixture
async def refusing_trigger(infra: Infra) -> AsyncIterator[None]:
    """PostgreSQL refuses any price or runner row of the REFUSED horses (a data exception)."""
    connection = await asyncpg.connect(infra.database_url)
    tables = ("odds_latest", "runners")
    try:
        await connection.execute(
            "CREATE OR REPLACE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'row of % refused', NEW.horse_id USING ERRCODE = '22023'; "
            "END $$"
        )
        for table in tables:
            await connection.execute(
                f"CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW "
                f"WHEN (NEW.horse_id LIKE '{REFUSED}%') EXECUTE FUNCTION refuse_poison()"
            )
        yield
    finally:
        for table in tables:
            await connection.execute(f"DROP TRIGGER IF EXISTS refuse_poison ON {table}")
        await connection.close()


async def publish_with_positions(
    bootstrap: str, items: list[tuple[str, bytes, bytes | None]]
) -> list[tuple[int, int]]:
    """Publish in order (zstd, as our producers do; up to 8 MB a record before compression);
    returns each record's (partition, offset)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        compression_type="zstd",
        max_request_size=8 * 1024 * 1024,
    )
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=key) for topic, key, value in items]
        return [(meta.partition, meta.offset) for meta in await asyncio.gather(*sent)]
    finally:
        await producer.stop()


async def dead_letters(database_url: str, consumer_topics: set[str]) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(
            'SELECT topic, partition, "offset", size, value, reason FROM dead_letters '
            "WHERE topic = ANY($1::text[])",
            sorted(consumer_topics),
        )
        return rows
    finally:
        await connection.close()


async def test_poison_records_are_dead_lettered_and_the_rest_stored(
    infra: Infra, artifacts: Path, refusing_trigger: None
) -> None:
    day = simulate(prefix=PREFIX, seed=41, races=4, bookmakers=6, ticks=60)
    cases = poisons(day)
    half = len(day) // 2
    items: list[tuple[str, bytes, bytes | None]] = [
        *((r.topic, r.key, r.value) for r in day[:half]),
        *((p.topic, p.key, p.value) for p in cases),
        *((r.topic, r.key, r.value) for r in day[half:]),
    ]
    positions = await publish_with_positions(infra.kafka_bootstrap, items)
    placed = dict(zip(cases, positions[half : half + len(cases)], strict=True))

    app_id = "darkhorses-test-poison"
    worker = start_worker(infra, artifacts, app_id)
    try:
        await wait_until_consumed(
            infra.kafka_bootstrap, app_id, worker, (*LIVE_TOPICS, DEAD_LETTERS.name)
        )
        topics = {p.topic for p in cases}
        deadline = time.monotonic() + 60
        stored: dict[tuple[str, int, int], asyncpg.Record] = {}
        while time.monotonic() < deadline and len(stored) < len(cases):
            rows = await dead_letters(infra.database_url, topics)
            stored = {(r["topic"], r["partition"], r["offset"]): r for r in rows}
            await asyncio.sleep(0.5)
        for poison, (partition, offset) in placed.items():
            letter = stored.get((poison.topic, partition, offset))
            assert letter is not None, f"{poison.name}: no dead letter"
            assert poison.reason in letter["reason"], (poison.name, letter["reason"])
        oversize = stored[(ODDS_LIVE.name, *placed[cases[0]])]
        assert oversize["value"] is None  # by reference, not by copy
        assert oversize["size"] > 5 * 1024 * 1024
        assert worker.process.poll() is None, "the worker stopped"
        exclude = frozenset(p.value for p in cases if p.value is not None)
        await assert_database_equals_topics(
            infra.kafka_bootstrap, infra.database_url, PREFIX, exclude
        )
    finally:
        worker.stop()
    assert "Traceback" not in worker.output()
