"""Thin slice throughput: prices per second from producer, through Kafka and Faust, to PostgreSQL.

Publishes full market images of a large simulated card (every price a distinct row) as fast as
the idempotent producer allows, and times until the last row is committed in PostgreSQL.
"""

import asyncio
import time
import uuid
from datetime import UTC, datetime

import asyncpg

from bench.harness import BenchInfra, bench_infra, record, runtime
from producers.publisher import EventPublisher
from producers.simulator import MarketSimulator
from schemas.topics import ODDS_LIVE


async def _measure(infra: BenchInfra, races: int, bookmakers: int) -> dict[str, float]:
    simulator = MarketSimulator(
        seed=11, start=datetime.now(UTC), races=races, bookmakers=bookmakers
    )
    snapshots = list(simulator.open_markets())
    prices = sum(len(s.prices) for s in snapshots)
    connection = await asyncpg.connect(infra.database_url)
    try:
        started = time.perf_counter()
        async with EventPublisher(infra.kafka_bootstrap) as publisher:
            for snapshot in snapshots:
                await publisher.publish(ODDS_LIVE, snapshot)
            await publisher.flush()
        published = time.perf_counter()
        while await connection.fetchval("SELECT count(*) FROM odds_latest") < prices:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        stored = time.perf_counter()
    finally:
        await connection.close()
    return {
        "slice_prices": prices,
        "slice_producer_prices_per_s": prices / (published - started),
        "slice_prices_per_s": prices / (stored - started),
    }


async def _wait_for_worker(infra: BenchInfra) -> None:
    """Warm up: one event through the worker proves the group has joined."""
    simulator = MarketSimulator(seed=1, start=datetime.now(UTC), races=1, bookmakers=1)
    async with EventPublisher(infra.kafka_bootstrap) as publisher:
        for snapshot in simulator.open_markets():
            await publisher.publish(ODDS_LIVE, snapshot)
    connection = await asyncpg.connect(infra.database_url)
    try:
        while not await connection.fetchval("SELECT count(*) FROM odds_latest"):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        await connection.execute("TRUNCATE odds_latest")
    finally:
        await connection.close()


def main() -> None:
    with bench_infra() as infra:
        env = infra.env(DARKHORSES_STREAMS_APP_ID=f"bench-{uuid.uuid4().hex[:6]}")
        with runtime(["streams"], env, infra.home / "streams.log"):
            asyncio.run(_wait_for_worker(infra))
            figures = asyncio.run(_measure(infra, races=300, bookmakers=20))
    record(figures)


if __name__ == "__main__":
    main()
