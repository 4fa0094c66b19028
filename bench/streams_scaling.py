"""Streams scale-out: throughput of 2 workers against 1 on the same card, and the rebalance
pause when a worker dies.

Each pass loads the card into the odds topic of a fresh broker and database, starts the workers
(one consumer group, static members) and times them from the first committed batch until every
price is stored and counted in the bookmaker analytics, as `bench.streams` does; the ratio of the
two rates is the scaling figure, and the CPU per price says where the time went. On this 2-core
machine the worker, PostgreSQL and the broker already share the cores with one worker, so the
ratio is bounded by the cores, not by the design (the partition is the unit of work: 12 of them).

The rebalance pause: 2 workers consume a steady stream; one is killed with SIGKILL; the figure is
the time until the survivor has committed a batch on every partition (it owns the dead worker's
partitions only once the group's session timeout, here `SESSION_TIMEOUT_S`, has passed: static
membership keeps a member's partitions that long, for a restart to take them back at once).
"""

import asyncio
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import asyncpg
import psutil

from bench.harness import BenchInfra, bench_infra, record, runtime
from bench.streams import Window, _load, _server_pid, _time_worker
from producers.publisher import EventPublisher
from producers.simulator import MarketSimulator
from schemas.odds import OddsSnapshot
from schemas.topics import ODDS_LIVE, race_group

RACES, BOOKMAKERS, TICKS = 120, 20, 24
SESSION_TIMEOUT_S = 10


def card(seed: int = 11) -> list[OddsSnapshot]:
    simulator = MarketSimulator(
        seed=seed, start=datetime(2026, 3, 14, 9, tzinfo=UTC), races=RACES, bookmakers=BOOKMAKERS
    )
    events = list(simulator.open_markets())
    for _ in range(TICKS):
        events.extend(
            e for e in simulator.advance(timedelta(seconds=20)) if isinstance(e, OddsSnapshot)
        )
    return events


def worker_env(infra: BenchInfra, app_id: str, n: int) -> dict[str, str]:
    return infra.env(
        DARKHORSES_STREAMS_APP_ID=app_id,
        DARKHORSES_STREAMS_INSTANCE_ID=f"{app_id}-{n}",
        DARKHORSES_STREAMS_SESSION_TIMEOUT_S=str(SESSION_TIMEOUT_S),
    )


def throughput(events: list[OddsSnapshot], prices: int, workers: int) -> Window:
    """One pass with `workers` workers on a fresh broker and database."""
    with bench_infra() as infra, ExitStack() as stack:
        asyncio.run(_load(infra, events))
        app_id = f"bench-scale-{uuid.uuid4().hex[:6]}"
        processes = {
            f"worker{n}": psutil.Process(
                stack.enter_context(
                    runtime(["streams"], worker_env(infra, app_id, n), infra.home / f"w{n}.log")
                ).pid
            )
            for n in range(workers)
        }
        processes["postgres"] = psutil.Process(
            _server_pid(infra.home / "postgres" / "data" / "postmaster.pid")
        )
        processes["broker"] = psutil.Process(_server_pid(infra.home / "kafka" / "broker.pid"))
        return asyncio.run(_time_worker(infra, prices, processes))


async def _positions(database_url: str, consumer: str) -> dict[int, int]:
    """The race pipeline's stored next offset per odds partition."""
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT partition, next_offset FROM stream_offsets WHERE consumer = $1 AND topic = $2",
            consumer,
            ODDS_LIVE.name,
        )
        return {row["partition"]: row["next_offset"] for row in rows}
    finally:
        await connection.close()


async def _steady(infra: BenchInfra, events: list[OddsSnapshot], stop: asyncio.Event) -> None:
    """The card over and over (repeats are stale prices, yet their batches commit offsets)."""
    async with EventPublisher(infra.kafka_bootstrap, linger_ms=5) as publisher:
        while not stop.is_set():
            for start in range(0, len(events), 200):
                if stop.is_set():
                    break
                for event in events[start : start + 200]:
                    await publisher.publish(ODDS_LIVE, event)
                await publisher.flush()
                await asyncio.sleep(0.05)


async def _pause_after_kill(infra: BenchInfra, events: list[OddsSnapshot], app_id: str) -> float:
    with ExitStack() as stack:
        workers = [
            stack.enter_context(
                runtime(["streams"], worker_env(infra, app_id, n), infra.home / f"k{n}.log")
            )
            for n in range(2)
        ]
        stop = asyncio.Event()
        feeding = asyncio.create_task(_steady(infra, events, stop))
        consumer = race_group(app_id)
        deadline = time.monotonic() + 120
        # Both members hold partitions and commit: every partition has been written.
        while len(await _positions(infra.database_url, consumer)) < ODDS_LIVE.partitions:
            if time.monotonic() > deadline:
                raise RuntimeError("the two workers never committed every partition")
            await asyncio.sleep(0.2)
        await asyncio.sleep(3)
        started = time.monotonic()
        workers[1].kill()
        at_kill = await _positions(infra.database_url, consumer)
        # Every partition committed past where it stood: the survivor owns them all.
        while any(
            offset <= at_kill[p]
            for p, offset in (await _positions(infra.database_url, consumer)).items()
        ):
            if time.monotonic() - started > 120:
                raise RuntimeError("the survivor never took every partition over")
            await asyncio.sleep(0.1)
        pause = time.monotonic() - started
        stop.set()
        await feeding
        return pause


def rebalance_pause() -> float:
    events = card(seed=12)
    with bench_infra() as infra:
        return asyncio.run(_pause_after_kill(infra, events, f"bench-kill-{uuid.uuid4().hex[:6]}"))


def main() -> None:
    events = card()
    prices = sum(len(e.prices) for e in events)
    one = throughput(events, prices, 1)
    two = throughput(events, prices, 2)
    rate_one, rate_two = one.prices / one.seconds, two.prices / two.seconds
    figures = {
        "streams_scaling_prices": prices,
        "streams_scaling_1_worker_prices_per_s": rate_one,
        "streams_scaling_2_workers_prices_per_s": rate_two,
        "streams_scaling_ratio_2_to_1": rate_two / rate_one,
    }
    for label, window in (("1_worker", one), ("2_workers", two)):
        workers = sum(s for name, s in window.cpu_s.items() if name.startswith("worker"))
        figures[f"streams_scaling_{label}_workers_cpu_us_per_price"] = workers / window.prices * 1e6
        for name in ("postgres", "broker"):
            per_price = window.cpu_s[name] / window.prices * 1e6
            figures[f"streams_scaling_{label}_{name}_cpu_us_per_price"] = per_price
    record(figures)
    record(
        {
            "streams_scaling_rebalance_pause_s": rebalance_pause(),
            "streams_scaling_session_timeout_s": SESSION_TIMEOUT_S,
        }
    )


if __name__ == "__main__":
    main()
