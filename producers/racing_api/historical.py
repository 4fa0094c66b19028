"""`darkhorses produce historical`: past races' pre-race prices joined with their results.

Per date: the pro racecards (final pre-race prices, plus every `history[]` tick) and the paged
results are fetched, joined by race_id then horse_id, and published: `Racecard` to
racing.racecards.v1, `OddsSnapshot` to racing.odds.historical.v1 and `Result` to
racing.results.v1. Each-way terms travel on every price (ew_places, ew_denom), SP, position and
field size on the result; streams compute the returns. One `FetchStats` per date.

Resumable: a date is checkpointed once Kafka has acknowledged all of it, and skipped on the next
run. Event ids are derived from the content (uuid5), so even a date re-run after a crash
publishes the same ids.
"""

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from producers.racing_api import normalise as n
from producers.racing_api.cards import parse_racecards, report_unknown_bookmakers
from producers.racing_api.checkpoint import Checkpoint
from producers.racing_api.client import RacingApiClient
from producers.racing_api.report import ParseReport
from producers.racing_api.results import parse_results
from producers.racing_api.settings import RacingApiProducerSettings
from producers.racing_api.sink import EventSink
from producers.racing_api.snapshots import history_snapshots, snapshots_of
from schemas.base import Event, EventSource
from schemas.odds import OddsSnapshot
from schemas.stats import FetchStats
from schemas.topics import FETCH_STATS, ODDS_HISTORICAL, RACECARDS, RESULTS, Topic

log = logging.getLogger(__name__)
PRODUCER = "racing_api.historical"
_NAMESPACE = uuid.UUID("6f1c1d52-7d0e-4a55-9a55-2f6f8f3c9a10")


def stable_id(*parts: object) -> str:
    return uuid.uuid5(_NAMESPACE, "|".join(str(p) for p in parts)).hex


def with_id(event: Event, *parts: object) -> Event:
    return event.model_copy(update={"event_id": stable_id(type(event).__name__, *parts)})


@dataclass
class DayOutcome:
    day: date
    races: int = 0
    results: int = 0
    prices: int = 0
    events: int = 0
    unmatched_results: int = 0
    unmatched_runners: int = 0
    report: ParseReport = field(default_factory=ParseReport)


def dates_between(start: date, end: date) -> list[date]:
    """Newest first, as the old backfill did: recent data is the most useful soonest."""
    return [end - timedelta(days=i) for i in range((end - start).days + 1)]


class HistoricalProducer:
    def __init__(
        self,
        client: RacingApiClient,
        sink: EventSink,
        settings: RacingApiProducerSettings,
        checkpoint: Checkpoint,
    ) -> None:
        self._client = client
        self._sink = sink
        self._settings = settings
        self._checkpoint = checkpoint
        self.unknown_bookmakers: Counter[str] = Counter()

    def pending(self, start: date, end: date) -> list[date]:
        done = self._checkpoint.done()
        return [day for day in dates_between(start, end) if day not in done]

    async def run(
        self, start: date, end: date, on_day: Callable[[DayOutcome], None] | None = None
    ) -> list[DayOutcome]:
        outcomes = []
        for day in self.pending(start, end):
            outcome = await self.produce_day(day)
            self._checkpoint.mark(day)
            outcomes.append(outcome)
            if on_day is not None:
                on_day(outcome)
        return outcomes

    async def produce_day(self, day: date) -> DayOutcome:
        regions = self._settings.region_codes
        started = time.monotonic()
        fetched_at = n.now_utc()
        outcome = DayOutcome(day)
        report = outcome.report
        cards = parse_racecards(await self._client.racecards_pro(day, regions), fetched_at, report)
        results = parse_results(await self._client.results(day, day, regions), fetched_at, report)
        by_race = {result.race_id: result for result in results}
        carded = {race.race_id for race in cards}
        outcome.unmatched_results = len(set(by_race) - carded)
        for race in cards:
            if race.card is not None:
                await self._publish(RACECARDS, with_id(race.card, race.race_id, "card"), outcome)
            snapshots: list[OddsSnapshot] = history_snapshots(race.quotes)
            snapshots += snapshots_of(race.quotes)
            for snapshot in snapshots:
                ids = (snapshot.race_id, snapshot.bookmaker_id, snapshot.source_time.isoformat())
                await self._publish(ODDS_HISTORICAL, with_id(snapshot, *ids), outcome)
                outcome.prices += len(snapshot.prices)
            result = by_race.get(race.race_id)
            if result is None:
                log.warning("%s %s: no result (abandoned or not yet in)", day, race.race_id)
                continue
            ran = {runner.horse_id for runner in result.runners}
            carded_runners = {q.horse_id for q in race.quotes}
            outcome.unmatched_runners += len(carded_runners - ran)
        for result in results:
            await self._publish(RESULTS, with_id(result, result.race_id, "result"), outcome)
        outcome.races, outcome.results = len(cards), len(results)
        stats = FetchStats(
            source=EventSource.RACING_API, source_time=fetched_at, producer=PRODUCER,
            races=outcome.races, runners=report.runners, bookmakers=len(report.bookmakers),
            prices=report.prices, unpriced=report.unpriced, errors=report.errors,
            duration_s=time.monotonic() - started, quirks=dict(report.quirks),
        )  # fmt: skip
        await self._sink.publish(FETCH_STATS, with_id(stats, PRODUCER, day))
        await self._sink.flush()
        report_unknown_bookmakers(report, self.unknown_bookmakers)
        if outcome.unmatched_results:
            log.warning("%s: %d results without a racecard", day, outcome.unmatched_results)
        if report.errors:
            log.warning("%s: skipped %s", day, dict(report.rejected))
        return outcome

    async def _publish(self, topic: Topic, event: Event, outcome: DayOutcome) -> None:
        await self._sink.publish(topic, event)
        outcome.events += 1
