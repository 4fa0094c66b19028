"""A market for the REST tests: a simulated day (races run, resulted and still to come, with the
historical producer's copies of their pre-race prices) and the recorded Racing API payloads,
published to the real broker, with what was published kept as the tests' oracles.

Each module renames the simulated ids with its own prefix (rac_<prefix>..., hrs_<prefix>...), so
modules sharing the test database never mix their races.
"""

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

from producers.racing_api.cards import parse_racecards
from producers.racing_api.report import ParseReport
from producers.racing_api.results import parse_results
from producers.racing_api.snapshots import snapshots_of
from producers.settings import SimulatorSettings
from producers.simulate import simulated_day
from schemas.base import Event, encode
from schemas.market import MarketState
from schemas.odds import OddsSnapshot
from schemas.racecards import Racecard
from schemas.results import Result
from schemas.topics import ODDS_HISTORICAL, ODDS_LIVE, RACECARDS, RESULTS, Topic
from tests.conftest import RESOURCES


@dataclass
class Market:
    """What a module published, by kind, and the oracles derived from it."""

    cards: dict[str, Racecard] = field(default_factory=dict)
    snapshots: list[OddsSnapshot] = field(default_factory=list)
    states: dict[str, MarketState] = field(default_factory=dict)
    results: dict[str, Result] = field(default_factory=dict)
    historical: list[OddsSnapshot] = field(default_factory=list)

    def latest(
        self, race_id: str, at: datetime | None = None
    ) -> dict[tuple[str, str], Decimal | None]:
        """Newest price per (horse, bookmaker) of `race_id`, as of `at`."""
        best: dict[tuple[str, str], tuple[tuple[datetime, str], Decimal | None]] = {}
        for snap in self.snapshots:
            if snap.race_id != race_id or (at is not None and snap.source_time > at):
                continue
            version = (snap.source_time, snap.event_id)
            for price in snap.prices:
                key = (price.horse_id, snap.bookmaker_id)
                if key not in best or best[key][0] < version:
                    best[key] = (version, price.decimal)
        return {key: value for key, (_, value) in best.items()}

    def open_races(self, now: datetime | None = None) -> list[str]:
        """Races not yet off at `now` (the wall clock moves on while the module runs)."""
        now = now or datetime.now(UTC)
        done = {"off", "result", "abandoned"}
        return sorted(
            r for r, card in self.cards.items()
            if card.off_dt > now and (r not in self.states or self.states[r].status not in done)
        )  # fmt: skip


def renamed(event: Event, prefix: str) -> Event:
    text = (
        encode(event)
        .decode()
        .replace('"rac_sim', f'"rac_{prefix}')
        .replace('"hrs_sim', f'"hrs_{prefix}')
    )
    return type(event).model_validate(orjson.loads(text))


async def publish(bootstrap: str, events: list[tuple[Topic, Event]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        for topic, event in events:
            await producer.send(
                topic.name, encode(event), key=str(getattr(event, topic.key)).encode()
            )
        await producer.flush()
    finally:
        await producer.stop()


def simulated(market: Market, prefix: str, now: datetime) -> list[tuple[Topic, Event]]:
    settings = SimulatorSettings(
        seed=31, races=6, meetings=2, bookmakers=8, start=now - timedelta(hours=2)
    )
    published: list[tuple[Topic, Event]] = []
    for topic, raw in simulated_day(settings, timedelta(hours=2), step=timedelta(minutes=1)):
        event = renamed(raw, prefix)
        published.append((topic, event))
        match event:
            case Racecard():
                market.cards[event.race_id] = event
            case OddsSnapshot():
                market.snapshots.append(event)
            case MarketState():
                market.states[event.race_id] = event
            case Result():
                market.results[event.race_id] = event
    # The historical producer's view of the resulted races: their pre-race prices, again.
    for snap in market.snapshots:
        result = market.results.get(snap.race_id)
        if result is not None and snap.source_time <= result.off_dt:
            copy = snap.model_copy(update={"event_id": f"hist-{snap.event_id}"})
            market.historical.append(copy)
            published.append((ODDS_HISTORICAL, copy))
    return published


def recorded(market: Market, now: datetime, odds: bool = True) -> list[tuple[Topic, Event]]:
    """The recorded Racing API payloads, parsed as the live and historical producers do.

    Cards and results are stored by race id, so publishing them again is harmless; the odds get
    new event ids each time, so only one module should publish them (`odds`).
    """
    report = ParseReport()
    cards = json.loads((RESOURCES / "racing_api" / "racecards_pro_2025-10-14.json").read_text())
    parsed = parse_racecards(cards, now, report)
    published: list[tuple[Topic, Event]] = []
    for race in parsed:
        if race.card is not None:
            market.cards[race.race_id] = race.card
            published.append((RACECARDS, race.card))
    if odds:
        for snap in snapshots_of(q for race in parsed for q in race.quotes):
            market.snapshots.append(snap)
            published.append((ODDS_LIVE, snap))
    results = json.loads((RESOURCES / "racing_api" / "results_2025-10-07.json").read_text())
    for result in parse_results(results["results"], now, report):
        market.results[result.race_id] = result
        published.append((RESULTS, result))
    return published


async def wait_until_stored(database_url: str, market: Market, timeout_s: float = 180) -> None:
    """Until the streams worker has stored every race, result, priced race and historical price
    of `market`, and then the analytics of its last batch."""
    connection = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + timeout_s
        ours = list(market.cards)
        # Our historical prices only: other modules store some of the same races' (one database).
        keys = {
            (s.race_id, p.horse_id, s.bookmaker_id, s.source_time)
            for s in market.historical
            for p in s.prices
        }
        columns = [list(column) for column in zip(*keys, strict=True)]
        while True:
            races = await connection.fetchval(
                "SELECT count(*) FROM races WHERE race_id = ANY($1)", ours
            )
            results = await connection.fetchval(
                "SELECT count(*) FROM results WHERE race_id = ANY($1)", list(market.results)
            )
            analysed = await connection.fetchval(
                "SELECT count(DISTINCT race_id) FROM odds_latest WHERE race_id = ANY($1)", ours
            )
            priced = len({s.race_id for s in market.snapshots})
            historical = await connection.fetchval(
                "SELECT count(*) FROM odds_historical JOIN unnest($1::text[], $2::text[], "
                "$3::text[], $4::timestamptz[]) AS k(race_id, horse_id, bookmaker_id, source_time) "
                "USING (race_id, horse_id, bookmaker_id, source_time)",
                *columns,
            )
            stored = (races, results, analysed, historical)
            expected = (len(ours), len(market.results), priced, len(keys))
            if stored == expected:
                break
            assert time.monotonic() < deadline, f"stored {stored}, expected {expected}"
            await asyncio.sleep(0.5)
        await asyncio.sleep(1)  # the analytics of the last batch
    finally:
        await connection.close()
