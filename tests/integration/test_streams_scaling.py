"""N streams workers give exactly the answers of one. On a broker and database of their own: the
recorded simulated day (and a wider one) through 1, 2 and 3 workers leaves identical PostgreSQL
state and identical race analytics on the topic; and 3 workers, two of them killed with SIGKILL
mid-stream and a new one added, end equal to the topics' oracle and to 1 worker."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from schemas.topics import ANALYTICS_RACES
from tests.conftest import PORT_BASE, Infra, Runtime, running_infra
from tests.kafka_helpers import read_all
from tests.streams_day import Record, read_day, simulate
from tests.streams_helpers import (
    assert_database_equals_topics,
    create_database,
    publish,
    start_worker,
    wait_until_consumed,
)

pytestmark = pytest.mark.integration

# Every table and view the API reads. Columns that may differ between runs, and why:
WALL_CLOCK = {
    "written_at": "when the row was written (wall clock)",
    "first_seen": "when a bookmaker was first seen (wall clock)",
}
VARYING = {
    # The offset of the bookmaker part that last changed the row: the part topic is shared by
    # the runs on this broker, so a later run's parts have higher offsets.
    ("bookmaker_analytics", "revision"),
}
TABLES = (
    "odds_latest", "odds_history_events", "race_analytics", "race_book_analytics",
    "runner_analytics", "bookmaker_analytics", "market_races", "races", "runners",
    "market_status", "results", "result_runners", "courses", "horses", "jockeys", "trainers",
    "owners", "bookmakers", "stats_live_summary", "stats_live_bookmakers", "stats_live_dates",
    "stats_live_courses", "stats_live_nulls", "stats_live_market_status", "historical_odds",
    "people_stats",
)  # fmt: skip


@pytest.fixture(scope="module")
def scale_infra() -> Iterator[Infra]:
    """A broker and database for this module alone: every worker reads whole topics, so the
    runs compare only while nothing else publishes."""
    yield from running_infra("scale", PORT_BASE + 500)


def day() -> list[Record]:
    return [*read_day(), *simulate(prefix="rac_wide", seed=17, races=14, bookmakers=8, ticks=45)]


async def database_state(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    connection = await asyncpg.connect(database_url)
    try:
        state = {}
        for table in TABLES:
            columns = [
                row["column_name"]
                for row in await connection.fetch(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = $1 "
                    "ORDER BY ordinal_position",
                    table,
                )
                if row["column_name"] not in WALL_CLOCK
                and (table, row["column_name"]) not in VARYING
            ]
            listed = ", ".join(f'"{c}"::text' for c in columns)
            rows = await connection.fetch(f"SELECT {listed} FROM {table} ORDER BY {listed}")  # noqa: S608
            state[table] = [tuple(row) for row in rows]
        return state
    finally:
        await connection.close()


async def latest_race_analytics(bootstrap: str) -> dict[str, dict[str, Any]]:
    """The last analytics record per race on the topic (what a new consumer reads)."""
    latest: dict[str, dict[str, Any]] = {}
    for record in await read_all(bootstrap, ANALYTICS_RACES.name):
        if record.key is not None and record.value is not None:
            latest[record.key.decode()] = orjson.loads(record.value)
    return latest


def leaf_differences(mine: Any, theirs: Any, path: str = "") -> list[str]:
    """Where two JSON documents differ, leaf by leaf (at most a dozen), for a readable failure."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        keys = sorted(mine.keys() | theirs.keys())
        found = [
            d for k in keys for d in leaf_differences(mine.get(k), theirs.get(k), f"{path}.{k}")
        ]
    elif isinstance(mine, list) and isinstance(theirs, list) and len(mine) == len(theirs):
        found = [
            d for i, (a, b) in enumerate(zip(mine, theirs, strict=True))
            for d in leaf_differences(a, b, f"{path}[{i}]")
        ]  # fmt: skip
    else:
        found = [] if mine == theirs else [f"{path}: {mine!r} != {theirs!r}"]
    return found[:12]


async def settled_state(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The database once the analytics stop changing (the bookmaker totals trail the batches)."""
    previous = await database_state(database_url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        await asyncio.sleep(2)
        current = await database_state(database_url)
        if current == previous:
            return current
        previous = current
    raise AssertionError("the database never settled")


def start_workers(
    infra: Infra, artifacts: Path, app_id: str, database_url: str, count: int, first: int = 0
) -> list[Runtime]:
    instance = "DARKHORSES_STREAMS_INSTANCE_ID"
    return [
        start_worker(infra, artifacts, app_id, database_url, **{instance: f"{app_id}-{n}"})
        for n in range(first, first + count)
    ]


async def run_workers(
    infra: Infra, artifacts: Path, count: int, name: str
) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, dict[str, Any]]]:
    """The topics through `count` workers of a fresh group into a fresh database: its state and
    the race analytics they published."""
    database_url = await create_database(infra, name)
    app_id = f"darkhorses-{name}"
    workers = start_workers(infra, artifacts, app_id, database_url, count)
    try:
        await wait_until_consumed(infra.kafka_bootstrap, app_id, workers[0])
        state = await settled_state(database_url)
    finally:
        for worker in workers:
            worker.stop()
    for worker in workers:
        assert "Traceback" not in worker.output()
    return state, await latest_race_analytics(infra.kafka_bootstrap)


async def test_one_two_and_three_workers_store_and_publish_the_same(
    scale_infra: Infra, artifacts: Path
) -> None:
    records = day()
    await publish(scale_infra.kafka_bootstrap, records)
    one, published_one = await run_workers(scale_infra, artifacts, 1, "scale1")
    assert len(one["race_analytics"]) == len({r.key for r in records})
    assert one["bookmaker_analytics"]
    for count in (2, 3):
        state, published = await run_workers(scale_infra, artifacts, count, f"scale{count}")
        for table in TABLES:
            assert state[table] == one[table], f"{count} workers: {table} differs"
        assert not leaf_differences(published, published_one), f"{count} workers"


async def publish_slowly(bootstrap: str, records: list[Record], chunk: int = 200) -> None:
    for start in range(0, len(records), chunk):
        await publish(bootstrap, records[start : start + chunk])
        await asyncio.sleep(0.1)


async def test_three_workers_with_two_killed_and_one_added_lose_and_repeat_nothing(
    scale_infra: Infra, artifacts: Path
) -> None:
    prefix = "rac_kill3"
    records = simulate(prefix=prefix, seed=23, races=12, bookmakers=8, ticks=90)
    database_url = await create_database(scale_infra, "scale_faults")
    app_id = "darkhorses-scale-faults"
    workers = start_workers(scale_infra, artifacts, app_id, database_url, 3)
    publishing = asyncio.create_task(publish_slowly(scale_infra.kafka_bootstrap, records))
    await asyncio.sleep(4)
    workers[0].process.kill()  # SIGKILL mid-stream: its partitions move to the others
    await asyncio.sleep(6)
    workers[1].process.kill()
    workers += start_workers(scale_infra, artifacts, app_id, database_url, 1, first=3)
    await publishing
    try:
        await wait_until_consumed(scale_infra.kafka_bootstrap, app_id, workers[2])
        await assert_database_equals_topics(scale_infra.kafka_bootstrap, database_url, prefix)
        faulted = await settled_state(database_url)
    finally:
        for worker in workers:
            worker.stop()
    # The same topics through one worker from scratch: the same database.
    one, _ = await run_workers(scale_infra, artifacts, 1, "scale_reference")
    for table in TABLES:
        assert faulted[table] == one[table], f"after the faults: {table} differs from 1 worker"
