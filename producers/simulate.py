"""`darkhorses produce simulate`: publish the simulated racing day onto the live topics."""

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol

from producers.publisher import EventPublisher
from producers.settings import SimulatorSettings
from producers.simulator import MarketSimulator, SimEvent
from schemas.market import MarketState
from schemas.odds import OddsSnapshot
from schemas.racecards import Racecard
from schemas.results import Result
from schemas.topics import MARKET_STATE, ODDS_LIVE, RACECARDS, RESULTS, Topic

log = logging.getLogger(__name__)


def topic_for(event: SimEvent) -> Topic:
    match event:
        case OddsSnapshot():
            return ODDS_LIVE
        case MarketState():
            return MARKET_STATE
        case Racecard():
            return RACECARDS
        case Result():
            return RESULTS


def simulator_for(settings: SimulatorSettings) -> MarketSimulator:
    return MarketSimulator(
        seed=settings.seed,
        start=settings.start_time(datetime.now(UTC)),
        races=settings.races,
        bookmakers=settings.bookmakers,
        meetings=settings.meetings,
    )


def simulated_day(
    settings: SimulatorSettings, duration: timedelta, step: timedelta = timedelta(seconds=30)
) -> Iterator[tuple[Topic, SimEvent]]:
    """(topic, event) for `duration` of the seeded day, without Kafka: for golden tests.

    Identical to what `run_simulator` publishes for the same seed and start (ticks do not
    change the stream), so a golden file made from it matches a live run's topics.
    """
    simulator = simulator_for(settings)
    for event in simulator.initial_events():
        yield topic_for(event), event
    for _ in range(math.ceil(duration / step)):
        for event in simulator.advance(step):
            yield topic_for(event), event


class Pacer:
    """Ticks on absolute deadlines: tick n is due `n * tick_s` after the start, however long the
    ticks before it took, so simulated time keeps pace with the wall clock instead of falling a
    tick's work behind on every tick (16 s after 19 minutes, before issue 20)."""

    def __init__(self, tick_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.tick_s = tick_s
        self.clock = clock
        self.started = clock()
        self.ticks = 0

    def wait_s(self) -> float:
        """Seconds until the next tick is due (0 when late: a slow tick is caught up at once)."""
        return max(0.0, self.started + (self.ticks + 1) * self.tick_s - self.clock())

    def ticked(self) -> None:
        self.ticks += 1


class Publisher(Protocol):
    published: int

    async def publish(self, topic: Topic, event: SimEvent) -> None: ...

    async def flush(self) -> None: ...


async def _wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def run_simulator(settings: SimulatorSettings, stop: asyncio.Event | None = None) -> int:
    """Publish the cards and a full image, then every tick (`tick_s` real seconds) what happened
    in `tick_s * compression` simulated seconds. Returns the number of events published."""
    stop = stop or asyncio.Event()
    simulator = simulator_for(settings)
    pacer = Pacer(settings.tick_s)  # the simulated start is now on the wall clock too
    async with EventPublisher(settings.kafka_bootstrap_servers) as publisher:
        return await publish_day(simulator, settings, publisher, pacer, stop)


async def publish_day(
    simulator: MarketSimulator,
    settings: SimulatorSettings,
    publisher: Publisher,
    pacer: Pacer,
    stop: asyncio.Event,
    wait: Callable[[asyncio.Event, float], Awaitable[None]] = _wait_or_stop,
) -> int:
    """The initial image, then a tick at each of `pacer`'s deadlines until `stop` (or max_ticks)."""
    for event in simulator.initial_events():
        await publisher.publish(topic_for(event), event)
    await publisher.flush()
    log.info(
        "simulator: seed %d, %d races on the card, %d books, %d events",
        settings.seed, len(simulator.races), len(simulator.books), publisher.published,
    )  # fmt: skip
    step = timedelta(seconds=settings.tick_s * settings.compression)
    while not stop.is_set() and (settings.max_ticks is None or pacer.ticks < settings.max_ticks):
        await wait(stop, pacer.wait_s())
        if stop.is_set():
            break
        for event in simulator.advance(step):
            await publisher.publish(topic_for(event), event)
        await publisher.flush()
        pacer.ticked()
        if pacer.ticks % 60 == 0:
            log.info("simulator: %s, %d events", simulator.clock, publisher.published)
    return publisher.published
