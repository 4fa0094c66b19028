"""`darkhorses produce simulate`: publish the simulated market onto the live topics."""

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from producers.publisher import EventPublisher
from producers.settings import SimulatorSettings
from producers.simulator import MarketSimulator
from schemas.market import MarketState
from schemas.odds import OddsSnapshot
from schemas.racecards import Racecard
from schemas.topics import MARKET_STATE, ODDS_LIVE, RACECARDS, Topic

log = logging.getLogger(__name__)


def topic_for(event: OddsSnapshot | MarketState | Racecard) -> Topic:
    match event:
        case OddsSnapshot():
            return ODDS_LIVE
        case MarketState():
            return MARKET_STATE
        case Racecard():
            return RACECARDS


async def run_simulator(settings: SimulatorSettings, stop: asyncio.Event | None = None) -> int:
    """Publish racecards and a full image, then a tick of changes every `tick_s`.

    Returns the number of events published.
    """
    stop = stop or asyncio.Event()
    simulator = MarketSimulator(
        seed=settings.seed,
        start=datetime.now(UTC),
        races=settings.races,
        bookmakers=settings.bookmakers,
    )
    async with EventPublisher(settings.kafka_bootstrap_servers) as publisher:
        for card in simulator.racecards():
            await publisher.publish(RACECARDS, card)
        for snapshot in simulator.open_markets():
            await publisher.publish(ODDS_LIVE, snapshot)
        await publisher.flush()
        log.info("simulator: %d races open, %d events", len(simulator.races), publisher.published)
        tick = 0
        step = timedelta(seconds=settings.tick_s * settings.compression)
        while not stop.is_set() and (settings.max_ticks is None or tick < settings.max_ticks):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.tick_s)
            for event in simulator.advance(step):
                await publisher.publish(topic_for(event), event)
            await publisher.flush()
            tick += 1
        return publisher.published
