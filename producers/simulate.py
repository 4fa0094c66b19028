"""`darkhorses produce simulate`: publish the simulated racing day onto the live topics."""

import asyncio
import contextlib
import logging
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

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


async def run_simulator(settings: SimulatorSettings, stop: asyncio.Event | None = None) -> int:
    """Publish the cards and a full image, then every tick (`tick_s` real seconds) what happened
    in `tick_s * compression` simulated seconds. Returns the number of events published."""
    stop = stop or asyncio.Event()
    simulator = simulator_for(settings)
    async with EventPublisher(settings.kafka_bootstrap_servers) as publisher:
        for event in simulator.initial_events():
            await publisher.publish(topic_for(event), event)
        await publisher.flush()
        log.info(
            "simulator: seed %d, %d races on the card, %d books, %d events",
            settings.seed, len(simulator.races), len(simulator.books), publisher.published,
        )  # fmt: skip
        tick = 0
        step = timedelta(seconds=settings.tick_s * settings.compression)
        while not stop.is_set() and (settings.max_ticks is None or tick < settings.max_ticks):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.tick_s)
            for event in simulator.advance(step):
                await publisher.publish(topic_for(event), event)
            await publisher.flush()
            tick += 1
            if tick % 60 == 0:
                log.info("simulator: %s, %d events", simulator.clock, publisher.published)
        return publisher.published
