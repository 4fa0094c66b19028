"""Load mode (`darkhorses produce simulate --load-rate N`): a steady rate of price updates.

Benchmarks need far more prices per second than a racing day produces, so this mode takes the
simulated card and books and republishes each book's whole market (one `OddsSnapshot` per race
x book, every runner priced) round-robin, with a few runners moving a rung each time, at the
target rate of *prices* (not events).

The hot path builds no pydantic models: every runner's price at every rung near its starting
price is encoded once, as the exact JSON `encode` would write, and an event is a join of
pre-encoded fragments. Events go straight into per-partition record batches (the partition the
default partitioner gives the race key, so per-race order is as with `EventPublisher`),
compressed, from one idempotent producer. A unit test decodes generated events with the
contract's models to prove they stay valid.
"""

import asyncio
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from producers.bookmaking import SimBook, book_terms, price_book
from producers.settings import SimulatorSettings
from producers.simulator import MarketSimulator
from schemas.topics import ODDS_LIVE

log = logging.getLogger(__name__)

SPREAD = 4  # rungs either side of a runner's opening price that it can move to
SLICE_S = 0.02  # how often the pacing loop tops up to the target rate
MAX_SLICE_PRICES = 20_000


@dataclass
class BookMarket:
    """One race x book: its pre-encoded event head and per-runner price fragments."""

    race_id: bytes
    head: bytes  # everything between the event id and the source time
    middle: bytes  # from the end of ingest_time to the opening of the prices array
    fragments: list[list[bytes]]  # per runner, the price JSON at each reachable rung
    positions: list[int]  # per runner, the current index into its fragments
    current: list[bytes]  # per runner, the fragment in force


@dataclass
class LoadReport:
    target_per_s: float
    events: int
    prices: int
    bytes: int
    elapsed_s: float
    failed_batches: int

    @property
    def prices_per_s(self) -> float:
        return self.prices / self.elapsed_s if self.elapsed_s else 0.0

    def summary(self) -> str:
        return (
            f"load: {self.prices:,} prices in {self.events:,} events over {self.elapsed_s:.1f} s"
            f" = {self.prices_per_s:,.0f} prices/s (target {self.target_per_s:,.0f}),"
            f" {self.bytes / self.elapsed_s / 1e6:.1f} MB/s, {self.failed_batches} failed batches"
        )


class LoadGenerator:
    """Pre-encoded full-book `OddsSnapshot` JSON for a fixed simulated card."""

    def __init__(self, seed: int, start: datetime, races: int, bookmakers: int) -> None:
        simulator = MarketSimulator(seed=seed, start=start, races=races, bookmakers=bookmakers)
        self.rng = random.Random(seed)  # noqa: S311 (simulation, not cryptography)
        self.prefix = f"{simulator.ids.prefix}load-".encode()
        self.count = 0
        self.now = _timestamp()  # the source time written into events; the caller updates it
        self.markets = [
            self._market(race.race_id, race.probabilities(), book)
            for race in simulator.races
            for book in simulator.books
        ]

    @staticmethod
    def _market(race_id: str, chances: dict[str, float], book: SimBook) -> BookMarket:
        horses = list(chances)
        rungs = price_book(book, [chances[h] for h in horses])
        terms = book_terms(book, len(horses))
        each_way = b"null,null" if terms is None else b"%d,%d" % terms
        places, denom = each_way.split(b",")
        fragments = []
        for horse, opening in zip(horses, rungs, strict=True):
            low, high = max(opening - SPREAD, 0), min(opening + SPREAD, len(book.ladder) - 1)
            head = b'{"horse_id":"%s","decimal":"' % horse.encode()
            tail = b'","ew_places":%s,"ew_denom":%s}' % (places, denom)
            between = b'","fractional":"'
            fragments.append(
                [
                    b"".join((head, rung.text.encode(), between, rung.fractional.encode(), tail))
                    for rung in book.ladder.rungs[low : high + 1]
                ]
            )
        positions = [min(SPREAD, r) for r in rungs]
        return BookMarket(
            race_id=race_id.encode(),
            head=b'","source":"simulator","source_time":"',
            middle=b'","race_id":"%s","bookmaker_id":"%s","bookmaker":"%s","prices":['
            % (race_id.encode(), book.bookmaker.id.encode(), book.bookmaker.name.encode()),
            fragments=fragments,
            positions=positions,
            current=[f[p] for f, p in zip(fragments, positions, strict=True)],
        )

    def events(self) -> Iterator[tuple[BookMarket, bytes, int]]:
        """Endless (market, event JSON, prices in it), each book moving one or two runners."""
        rng, markets = self.rng, self.markets
        while True:
            for market in markets:
                now = self.now
                for _ in range(1 + (rng.random() < 0.5)):
                    runner = rng.randrange(len(market.positions))
                    options = market.fragments[runner]
                    position = market.positions[runner] + rng.choice((-1, 1))
                    if 0 <= position < len(options):
                        market.positions[runner] = position
                        market.current[runner] = options[position]
                self.count += 1
                value = b"".join(
                    (
                        b'{"event_id":"', self.prefix, b"%010d" % self.count, market.head, now,
                        b'","ingest_time":"', now, market.middle, b",".join(market.current), b"]}",
                    )
                )  # fmt: skip
                yield market, value, len(market.current)


def _timestamp() -> bytes:
    """Now as `encode` writes a UTC instant (microseconds, 'Z')."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z").encode()


async def run_load(
    settings: SimulatorSettings, stop: asyncio.Event | None = None, compression: str | None = "zstd"
) -> LoadReport:
    """Publish at `settings.load_rate` prices/s until `load_duration_s` passes or `stop` is set."""
    if settings.load_rate is None:
        raise ValueError("load mode needs a load_rate")
    stop = stop or asyncio.Event()
    rate = settings.load_rate
    generator = LoadGenerator(
        settings.seed, settings.start_time(datetime.now(UTC)), settings.races, settings.bookmakers
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=512 * 1024,
        compression_type=compression,  # zstd measured fastest here (lz4 is level 9)
        max_request_size=4 * 1024 * 1024,
    )
    async with producer:
        publisher = _BatchPublisher(producer, ODDS_LIVE.name)
        await publisher.start()
        events = generator.events()
        started = time.perf_counter()
        sent = 0
        next_report = started + 5
        while not stop.is_set():
            now = time.perf_counter()
            if settings.load_duration_s is not None and now - started >= settings.load_duration_s:
                break
            due = rate * (now - started) - sent
            if due <= 0:
                await asyncio.sleep(SLICE_S / 4)
                continue
            generator.now = _timestamp()  # a fresh source time per slice
            due = min(due, MAX_SLICE_PRICES)  # hand batches to the sender at least this often
            while due > 0:
                market, value, prices = next(events)
                await publisher.add(market.race_id, value, prices)
                sent += prices
                due -= prices
            await publisher.send_pending()
            await asyncio.sleep(0)  # let the producer's sender run between slices
            if now >= next_report:
                log.info("load: %.0f prices/s so far", sent / (now - started))
                next_report = now + 5
        await publisher.send_pending()
        await producer.flush()
        elapsed = time.perf_counter() - started
    return LoadReport(
        rate, generator.count, publisher.delivered_prices, publisher.bytes, elapsed,
        publisher.failed,
    )  # fmt: skip


class _BatchPublisher:
    """Per-partition record batches handed to the producer whole, skipping per-record sends."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic
        self.partitioner = DefaultPartitioner()
        self.partition_of: dict[bytes, int] = {}
        self.batches: dict[int, tuple[Any, int]] = {}
        self.partitions: list[int] = []
        self.delivered_prices = 0
        self.bytes = 0
        self.failed = 0

    async def start(self) -> None:
        self.partitions = sorted(await self.producer.partitions_for(self.topic))

    async def add(self, key: bytes, value: bytes, prices: int) -> None:
        partition = self.partition_of.get(key)
        if partition is None:
            partition = self.partitioner(key, self.partitions, self.partitions)
            self.partition_of[key] = partition
        batch, in_batch = self.batches.get(partition) or (self.producer.create_batch(), 0)
        if batch.append(key=key, value=value, timestamp=None) is None:
            await self._send(partition, batch, in_batch)
            batch, in_batch = self.producer.create_batch(), 0
            batch.append(key=key, value=value, timestamp=None)
        self.batches[partition] = (batch, in_batch + prices)
        self.bytes += len(value)

    async def send_pending(self) -> None:
        batches, self.batches = self.batches, {}
        for partition, (batch, prices) in batches.items():
            await self._send(partition, batch, prices)

    async def _send(self, partition: int, batch: Any, prices: int) -> None:
        future = await self.producer.send_batch(batch, self.topic, partition=partition)

        def delivered(done: asyncio.Future[Any]) -> None:
            if done.cancelled() or done.exception() is not None:
                self.failed += 1
            else:
                self.delivered_prices += prices

        future.add_done_callback(delivered)
