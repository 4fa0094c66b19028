"""Streams memory over several simulated days: a worker runs for weeks, so its memory must level
off once races start to retire (DARKHORSES_STREAMS_RETIRE_AFTER_H, 24 h of event time), and a
restart must load only the races still held.

Each simulated day (12 races ahead, 8 books, a tick a minute) is published, the worker consumes
it, and its resident memory is recorded; then the worker restarts and the races it loads are
counted against those left in PostgreSQL.
"""

import asyncio
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import psutil

from bench.harness import BenchInfra, bench_infra, record, runtime
from producers.publisher import EventPublisher
from producers.simulate import topic_for
from producers.simulator import MarketSimulator, SimEvent
from schemas.odds import OddsSnapshot
from schemas.topics import ODDS_LIVE

DAYS, BOOKMAKERS = 3, 8
RECOVERED = re.compile(r"market board recovered (\d+) races from PostgreSQL \((\d+) more retired")


async def _publish(infra: BenchInfra, events: list[SimEvent]) -> None:
    async with EventPublisher(infra.kafka_bootstrap, linger_ms=20) as publisher:
        for event in events:
            await publisher.publish(topic_for(event), event)
        await publisher.flush()


async def _consumed(infra: BenchInfra, odds_events: int) -> None:
    """Until the race pipeline has stored the offsets after `odds_events` events."""
    connection = await asyncpg.connect(infra.database_url)
    query = "SELECT coalesce(sum(next_offset), 0) FROM stream_offsets WHERE topic = $1"
    try:
        while await connection.fetchval(query, ODDS_LIVE.name) < odds_events:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
    finally:
        await connection.close()


def main() -> None:
    simulator = MarketSimulator(
        seed=7, start=datetime(2026, 3, 14, tzinfo=UTC), races=12, bookmakers=BOOKMAKERS
    )
    figures: dict[str, float] = {}
    odds_events = prices = 0
    with bench_infra() as infra:
        env = infra.env(DARKHORSES_STREAMS_APP_ID=f"bench-days-{uuid.uuid4().hex[:6]}")
        with runtime(["streams"], env, infra.home / "streams-days.log") as worker:
            for day in range(1, DAYS + 1):
                events: list[SimEvent] = list(simulator.initial_events()) if day == 1 else []
                for _ in range(24 * 60):
                    events.extend(simulator.advance(timedelta(minutes=1)))
                odds = [e for e in events if isinstance(e, OddsSnapshot)]
                odds_events += len(odds)
                prices += sum(len(e.prices) for e in odds)
                asyncio.run(_publish(infra, events))
                asyncio.run(_consumed(infra, odds_events))
                rss = psutil.Process(worker.pid).memory_info().rss / 2**20
                figures[f"streams_day{day}_worker_rss_mb"] = rss
        started = time.perf_counter()
        log = infra.home / "streams-days-restart.log"
        with runtime(["streams"], env, log):
            while not (found := RECOVERED.search(log.read_text())):
                time.sleep(0.1)
            figures["streams_restart_restore_s"] = time.perf_counter() - started
    figures["streams_days_prices"] = prices
    figures["streams_restart_races_loaded"] = int(found[1])
    figures["streams_restart_races_left_retired"] = int(found[2])
    record(figures)


if __name__ == "__main__":
    main()
