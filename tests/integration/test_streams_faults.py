"""Faults on the real broker and database: the worker killed with SIGKILL mid-stream, and
PostgreSQL stopped and restarted during sink writes. Either way the database ends equal to an
oracle computed straight from the topics: nothing lost, nothing duplicated."""

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from schemas.topics import ODDS_LIVE
from tests.conftest import Infra
from tests.streams_day import Record, simulate
from tests.streams_helpers import (
    assert_database_equals_topics,
    odds_oracle,
    publish,
    start_worker,
    wait_until_consumed,
)

pytestmark = pytest.mark.integration


def fault_day(prefix: str) -> list[Record]:
    return simulate(prefix=prefix, seed=77, races=8, bookmakers=12, ticks=120)


async def publish_slowly(bootstrap: str, records: list[Record], chunk: int = 150) -> None:
    """Publish in small chunks so the worker is busy while the fault strikes."""
    for start in range(0, len(records), chunk):
        await publish(bootstrap, records[start : start + chunk])
        await asyncio.sleep(0.05)


async def history_rows(database_url: str, prefix: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM odds_history WHERE race_id LIKE $1", prefix + "%"
        )
        return count
    finally:
        await connection.close()


async def when_partly_written(
    database_url: str, prefix: str, total: int, fault: Callable[[], Awaitable[None]]
) -> int:
    """Strike `fault` once some but not all of the day's prices are in PostgreSQL."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        written = await history_rows(database_url, prefix)
        if written >= total // 5:
            await fault()
            return written
        await asyncio.sleep(0.05)
    raise AssertionError("the worker never started writing")


async def test_worker_killed_mid_stream_resumes_without_loss_or_duplicates(
    infra: Infra, artifacts: Path
) -> None:
    prefix = "rac_kill"
    records = fault_day(prefix)
    prices = len(odds_oracle(records)[1])
    app_id = "darkhorses-test-kill"
    worker = start_worker(infra, artifacts, app_id)
    publishing = asyncio.create_task(publish_slowly(infra.kafka_bootstrap, records))

    async def kill() -> None:
        worker.process.kill()  # SIGKILL: no flush, no commit, no goodbye
        worker.process.wait()

    written = await when_partly_written(infra.database_url, prefix, prices, kill)
    assert written < prices, "the worker finished before it could be killed"
    await publishing
    restarted = start_worker(infra, artifacts, app_id)  # same group, same changelog
    try:
        await wait_until_consumed(infra.kafka_bootstrap, app_id, restarted)
        await assert_database_equals_topics(infra.kafka_bootstrap, infra.database_url, prefix)
    finally:
        restarted.stop()
    recovered = re.findall(r"market board recovered (\d+) races", restarted.output())
    assert recovered
    assert int(recovered[-1]) > 0  # the state came back from the changelog


async def test_postgres_down_during_writes_loses_and_duplicates_nothing(
    infra: Infra, artifacts: Path
) -> None:
    prefix = "rac_pgdown"
    records = fault_day(prefix)
    prices = len(odds_oracle(records)[1])
    app_id = "darkhorses-test-pgdown"
    worker = start_worker(infra, artifacts, app_id)
    publishing = asyncio.create_task(publish_slowly(infra.kafka_bootstrap, records))

    async def outage() -> None:
        await asyncio.to_thread(infra.postgres.kill)  # immediate shutdown, mid-transaction
        await asyncio.sleep(3)
        await asyncio.to_thread(infra.postgres.start)

    try:
        written = await when_partly_written(infra.database_url, prefix, prices, outage)
        assert written < prices, "the worker finished before the outage"
        await publishing
        await wait_until_consumed(infra.kafka_bootstrap, app_id, worker)
        await assert_database_equals_topics(infra.kafka_bootstrap, infra.database_url, prefix)
    finally:
        worker.stop()
    assert "retrying" in worker.output()
    assert ODDS_LIVE.name in worker.output()
