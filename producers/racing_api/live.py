"""`darkhorses produce live`: poll today's and tomorrow's pro racecards and publish the changes.

Each race is polled (`/racecards/{race_id}/pro`) at the cadence its own off time implies; the
day lists are re-read every `refresh_cards_s` to find new races. Per cycle:

- `OddsSnapshot` on racing.odds.live.v1 for prices that changed since this process last saw
  them. The last-seen book starts empty, so after a restart the first cycle republishes a full
  image: a restart can repeat prices, never lose a change.
- `Racecard` when a race is new or its card changed; runners that vanish from the card are kept
  and flagged `non_runner`.
- `MarketState`: open when first seen, abandoned, suspended (upstream `race_status`), off at
  `off_dt`, and result once `/results/{race_id}` has it (the `Result` itself goes out too).
- `FetchStats`, one per cycle.
"""

import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from producers.racing_api import normalise as n
from producers.racing_api.cards import (
    ParsedRace,
    parse_race,
    parse_racecards,
    report_unknown_bookmakers,
)  # fmt: skip
from producers.racing_api.client import RacingApiClient
from producers.racing_api.errors import AuthError, RacingApiError
from producers.racing_api.report import ParseReport
from producers.racing_api.results import parse_result
from producers.racing_api.schedule import next_poll_at
from producers.racing_api.settings import RacingApiProducerSettings
from producers.racing_api.sink import EventSink
from producers.racing_api.snapshots import PriceBook, snapshots_of
from schemas.base import EventSource
from schemas.market import MarketState, MarketStatus
from schemas.racecards import Racecard, Runner
from schemas.stats import FetchStats
from schemas.topics import FETCH_STATS, MARKET_STATE, ODDS_LIVE, RACECARDS, RESULTS

log = logging.getLogger(__name__)
PRODUCER = "racing_api.live"
_STATUS_WORDS = {
    "abandon": MarketStatus.ABANDONED,
    "suspend": MarketStatus.SUSPENDED,
    "result": MarketStatus.RESULT,
    "off": MarketStatus.OFF,
}
_CARD_METADATA = {"event_id", "source_time", "ingest_time"}


@dataclass
class TrackedRace:
    race_id: str
    off_dt: datetime
    next_poll: datetime
    card: Racecard | None = None
    status: MarketStatus | None = None
    runners: dict[str, Runner] = field(default_factory=dict)


def status_of(parsed: ParsedRace, now: datetime) -> MarketStatus:
    if parsed.is_abandoned:
        return MarketStatus.ABANDONED
    text = (parsed.race_status or "").lower()
    for word, status in _STATUS_WORDS.items():
        if word in text:
            return status
    if parsed.off_dt is not None and now >= parsed.off_dt:
        return MarketStatus.OFF
    return MarketStatus.OPEN


def uk_today(now: datetime) -> date:
    return now.astimezone(n.UK).date()


class LiveProducer:
    def __init__(
        self,
        client: RacingApiClient,
        sink: EventSink,
        settings: RacingApiProducerSettings,
    ) -> None:
        self._client = client
        self._sink = sink
        self._settings = settings
        self._book = PriceBook()
        self._races: dict[str, TrackedRace] = {}
        # Result in, abandoned or given up (race id -> off): never re-added; pruned after 2 days.
        self._finished: dict[str, datetime] = {}
        self._next_refresh = datetime.min.replace(tzinfo=UTC)
        self.cycles = 0
        self.unknown_bookmakers: Counter[str] = Counter()

    @property
    def races(self) -> dict[str, TrackedRace]:
        return self._races

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set (or `max_cycles`); AuthError ends the run at once."""
        while not stop.is_set():
            await self.cycle()
            if self._settings.max_cycles is not None and self.cycles >= self._settings.max_cycles:
                return
            wait = (self._next_due() - n.now_utc()).total_seconds()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, wait))

    def _next_due(self) -> datetime:
        candidates = [self._next_refresh, *(race.next_poll for race in self._races.values())]
        return min(candidates)

    async def cycle(self) -> FetchStats:
        """One round: re-list if due, poll every race that is due, publish, then FetchStats."""
        started = time.monotonic()
        report = ParseReport()
        failures = 0
        polled: set[str] = set()
        now = n.now_utc()
        if now >= self._next_refresh:
            failures += await self._refresh(now, report, polled)
        due = [race for race in self._races.values() if race.next_poll <= now]
        results = await asyncio.gather(
            *(self._poll(race, report) for race in due), return_exceptions=True
        )
        for race, outcome in zip(due, results, strict=True):
            if isinstance(outcome, AuthError):
                raise outcome
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, RacingApiError):
                    raise outcome
                failures += 1
                log.warning("race %s: %s", race.race_id, outcome)
            polled.add(race.race_id)
        await self._sink.flush()
        report_unknown_bookmakers(report, self.unknown_bookmakers)
        stats = FetchStats(
            source=EventSource.RACING_API,
            source_time=now,
            producer=PRODUCER,
            races=len(polled),
            runners=report.runners,
            bookmakers=len(report.bookmakers),
            prices=report.prices,
            unpriced=report.unpriced,
            errors=report.errors + failures,
            duration_s=time.monotonic() - started,
            quirks=dict(report.quirks),
        )
        await self._sink.publish(FETCH_STATS, stats)
        await self._sink.flush()
        self.cycles += 1
        return stats

    async def _refresh(self, now: datetime, report: ParseReport, polled: set[str]) -> int:
        """Re-list today's and tomorrow's cards; new races join the schedule."""
        self._next_refresh = now + timedelta(seconds=self._settings.refresh_cards_s)
        for race_id, off_dt in list(self._finished.items()):
            if now - off_dt > timedelta(days=2):
                del self._finished[race_id]
        failures = 0
        today = uk_today(now)
        for day in (today, today + timedelta(days=1)):
            try:
                cards = await self._client.racecards_pro(day, self._settings.region_codes)
            except AuthError:
                raise
            except RacingApiError as error:
                failures += 1
                log.warning("racecards for %s: %s", day, error)
                continue
            for parsed in parse_racecards(cards, now, report):
                await self._apply(parsed, now)
                polled.add(parsed.race_id)
        return failures

    async def _poll(self, race: TrackedRace, report: ParseReport) -> None:
        now = n.now_utc()
        if race.status is MarketStatus.OFF or now >= race.off_dt:
            await self._await_result(race, now, report)
            return
        raw = await self._client.racecard_pro(race.race_id)
        if raw is None:  # upstream dropped the card; look again at the next interval
            race.next_poll = next_poll_at(race.off_dt, now, self._settings)
            return
        parsed = parse_race(raw, now, report)
        if parsed is not None:
            await self._apply(parsed, now)
        else:
            race.next_poll = next_poll_at(race.off_dt, now, self._settings)

    async def _apply(self, parsed: ParsedRace, now: datetime) -> None:
        if parsed.race_id in self._finished:
            return
        race = self._races.get(parsed.race_id)
        if race is None:
            if parsed.off_dt is None:
                return  # counted by the parser; without an off time it cannot be scheduled
            if now - parsed.off_dt > timedelta(hours=self._settings.result_give_up_h):
                return  # long finished; the historical producer covers it
            race = TrackedRace(parsed.race_id, parsed.off_dt, now)
            self._races[parsed.race_id] = race
        if parsed.off_dt is not None:
            race.off_dt = parsed.off_dt
        for snapshot in snapshots_of(self._book.changed(parsed.quotes)):
            await self._sink.publish(ODDS_LIVE, snapshot)
        if parsed.card is not None:
            await self._publish_card(race, parsed.card)
        status = status_of(parsed, now)
        await self._set_status(race, status, now)
        if status is MarketStatus.ABANDONED:
            self._retire(race)
            return
        race.next_poll = next_poll_at(race.off_dt, now, self._settings)

    def _retire(self, race: TrackedRace) -> None:
        self._book.forget_race(race.race_id)
        self._races.pop(race.race_id, None)
        self._finished[race.race_id] = race.off_dt

    async def _publish_card(self, race: TrackedRace, card: Racecard) -> None:
        current = {runner.horse_id for runner in card.runners}
        for horse_id, runner in race.runners.items():
            if horse_id not in current and not runner.non_runner:
                race.runners[horse_id] = runner.model_copy(update={"non_runner": True})
        for runner in card.runners:
            race.runners[runner.horse_id] = runner
        full = card.model_copy(update={"runners": tuple(race.runners.values())})
        previous = race.card
        if previous is None or previous.model_dump(exclude=_CARD_METADATA) != full.model_dump(
            exclude=_CARD_METADATA
        ):
            race.card = full
            await self._sink.publish(RACECARDS, full)

    async def _set_status(
        self, race: TrackedRace, status: MarketStatus, now: datetime, reason: str | None = None
    ) -> None:
        if race.status == status:
            return
        race.status = status
        await self._sink.publish(
            MARKET_STATE,
            MarketState(
                source=EventSource.RACING_API,
                source_time=now,
                race_id=race.race_id,
                status=status,
                reason=reason,
            ),
        )

    async def _await_result(self, race: TrackedRace, now: datetime, report: ParseReport) -> None:
        """After the off: announce it, then ask for the result until it is in (or give up)."""
        if race.status is not MarketStatus.OFF:
            await self._set_status(race, MarketStatus.OFF, now, "off time passed")
        raw = await self._client.result(race.race_id)
        result = parse_result(raw, now, report) if raw is not None else None
        if result is not None:
            await self._sink.publish(RESULTS, result)
            await self._set_status(race, MarketStatus.RESULT, now, "result in")
        if result is not None or now - race.off_dt > timedelta(
            hours=self._settings.result_give_up_h
        ):
            self._retire(race)
            return
        race.next_poll = now + timedelta(seconds=self._settings.result_poll_s)
