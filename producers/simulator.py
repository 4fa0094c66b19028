"""A deterministic simulated UK racing day: the default source when no credentials are set.

A discrete-event simulation in simulated time. Every happening (a book repricing, the latent
market moving, a suspension, a non-runner, the off, the result) is an action on one priority
queue ordered by (time, sequence number), and all randomness is drawn inside actions in that
order. So the event stream depends only on the seed and the start time, never on how the run is
sliced into ticks, and event ids come from the seed, the start and a counter: a replay or a
golden file of a seeded run is exactly reproducible (only `ingest_time` is wall clock).

Memory stays bounded on a long run: a race lives from its card to its result, its latent
history is trimmed to the longest book lag, and the card is topped up as races go off.
"""

import hashlib
import heapq
import itertools
import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from producers.bookmaking import SimBook, book_terms, choose_books, price_book
from producers.card import (
    FLAT_JOCKEYS,
    GOINGS,
    JUMP_JOCKEYS,
    Meeting,
    SimRace,
    courses_racing,
    make_race,
    open_meeting,
    racecard,
)
from producers.race_result import run_race
from schemas.base import EventSource
from schemas.market import MarketState, MarketStatus
from schemas.odds import OddsSnapshot, RunnerPrice
from schemas.racecards import Racecard
from schemas.results import Result

SimEvent = OddsSnapshot | MarketState | Racecard | Result

EVOLVE_EVERY_S = 10.0
HISTORY_S = 300.0  # longer than any book's lag
VOLATILITY = 0.004  # log-odds per sqrt(second) of a runner's latent strength
SHOCK_EVERY_S = 1500.0  # mean time between sharp moves (a steamer or drifter) in a race
SUSPENSION_CHANCE = 0.2  # per race, a suspension before the off
NON_RUNNER_CHANCE = 0.3  # per race, a late non-runner (fields above 5 only)
LATE_S = 900.0  # within a quarter of an hour of the off: a late non-runner, trouble at the start
PHOTO_LENGTHS = 0.1  # a nose or a short head: the judge calls for the photograph


class Action(IntEnum):
    EVOLVE = 1
    REPRICE = 2
    SUSPEND = 3
    REOPEN = 4
    NON_RUNNER = 5
    OFF = 6
    RESULT = 7


class EventIds:
    """Event ids from the seed, the start time and a counter: stable across identical runs,
    distinct between runs that differ, and ordered within a run (the sinks' tie-breaker)."""

    def __init__(self, seed: int, start: datetime) -> None:
        digest = hashlib.blake2b(f"{seed}|{start.isoformat()}".encode(), digest_size=5)
        self.prefix = f"sim-{digest.hexdigest()}-"
        # Race and horse ids carry the run too: a second run (another start, or another seed)
        # never reuses the first one's ids, so yesterday's races stay yesterday's.
        self.run_tag = f"{start.astimezone(UTC):%Y%m%d}_{digest.hexdigest()[:6]}"
        self.count = 0

    def next(self) -> str:
        self.count += 1
        return f"{self.prefix}{self.count:010d}"


def _at(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


class MarketSimulator:
    """Builds a racing day from `seed` at `start`, then advances it in simulated time.

    `races` is how many races the card keeps ahead (not yet off); `meetings` how many courses
    race side by side. `initial_events()` gives the day as it stands at the start (cards, open
    market states, a full price image); `advance` yields everything that happened since.
    """

    def __init__(
        self,
        *,
        seed: int = 1,
        start: datetime,
        races: int = 12,
        bookmakers: int = 24,
        meetings: int = 4,
        first_off_in: timedelta = timedelta(minutes=10),
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (simulation, not cryptography)
        self.start = start.astimezone(UTC)
        self.now = self.start.timestamp()
        self.ids = EventIds(seed, self.start)
        self.books: list[SimBook] = choose_books(self.rng, bookmakers)
        self.ahead = races
        self.card: dict[str, SimRace] = {}
        self._queue: list[tuple[float, int, Action, str, int]] = []
        self._sequence = itertools.count()
        self._races_made = 0
        first = math.ceil((self.now + first_off_in.total_seconds()) / 300) * 300
        spacing = 35 * 60 / meetings
        season = courses_racing(_at(first).month)
        self.meetings = [
            open_meeting(self.rng, season[i % len(season)], first + round(i * spacing / 300) * 300)
            for i in range(meetings)
        ]
        self._courses_opened = meetings
        for _ in range(races):
            self._add_race()

    # -- the card ---------------------------------------------------------------------------

    @property
    def clock(self) -> datetime:
        return _at(self.now)

    @property
    def races(self) -> list[SimRace]:
        return list(self.card.values())

    def _upcoming(self) -> int:
        before_off = (MarketStatus.OPEN, MarketStatus.SUSPENDED)
        return sum(race.status in before_off for race in self.card.values())

    def _add_race(self) -> SimRace:
        """Card the next race of the meeting racing soonest; replace finished meetings."""
        slot = min(range(len(self.meetings)), key=lambda i: self.meetings[i].next_off)
        meeting = self.meetings[slot]
        race = make_race(self.rng, self._races_made, meeting, self.ids.run_tag)
        self._races_made += 1
        if meeting.races_left <= 0:
            self.meetings[slot] = self._next_meeting(meeting)
        race.history = [(self.now, race.probabilities())]
        race.evolved_at = self.now
        self.card[race.race_id] = race
        self._schedule(self.now + EVOLVE_EVERY_S, Action.EVOLVE, race)
        for index, book in enumerate(self.books):
            first = self.now + self.rng.uniform(1, book.interval_s)
            self._schedule(first, Action.REPRICE, race, index)
        window = race.off_at - self.now
        if window > 300 and self.rng.random() < SUSPENSION_CHANCE:
            self._schedule(self.now + self.rng.uniform(60, window - 60), Action.SUSPEND, race)
        if window > 300 and self.rng.random() < NON_RUNNER_CHANCE:
            self._schedule(self.now + self.rng.uniform(60, window - 120), Action.NON_RUNNER, race)
        self._schedule(race.off_at, Action.OFF, race)
        return race

    def _next_meeting(self, finished: Meeting) -> Meeting:
        racing = {m.course_id for m in self.meetings}
        first = math.ceil((finished.next_off + self.rng.uniform(0, 1800)) / 300) * 300
        season = courses_racing(_at(first).month)  # the courses with meetings that month
        for _ in range(len(season)):  # the next course in turn not racing already
            course = season[self._courses_opened % len(season)]
            self._courses_opened += 1
            if course.id not in racing:
                break
        return open_meeting(self.rng, course, first)

    def _schedule(self, when: float, action: Action, race: SimRace, book: int = -1) -> None:
        entry = (round(when, 3), next(self._sequence), action, race.race_id, book)
        heapq.heappush(self._queue, entry)

    # -- initial image ------------------------------------------------------------------------

    def racecards(self) -> list[Racecard]:
        return [racecard(race, event_id=self.ids.next(), at=self.clock) for race in self.races]

    def initial_events(self) -> Iterator[SimEvent]:
        """The day as it stands at the start: cards, open markets and a full price image."""
        yield from self.racecards()
        for race in self.races:
            yield self._state(race, race.status, "market formed")
        yield from self.open_markets()

    def open_markets(self) -> Iterator[OddsSnapshot]:
        """A full image of every open market: every book's price for every runner."""
        for race in self.races:
            if race.status is MarketStatus.OPEN:
                for index in range(len(self.books)):
                    snapshot = self._reprice(race, index, full=True)
                    if snapshot is not None:
                        yield snapshot

    # -- simulated time -----------------------------------------------------------------------

    def advance(self, elapsed: timedelta) -> Iterator[SimEvent]:
        """Move simulated time on by `elapsed`, yielding every event in the order it happened."""
        until = self.now + elapsed.total_seconds()
        while self._queue and self._queue[0][0] <= until:
            when, _, action, race_id, book = heapq.heappop(self._queue)
            race = self.card.get(race_id)
            if race is None:
                continue  # resulted and forgotten; its last scheduled actions lapse
            self.now = max(self.now, when)
            yield from self._perform(action, race, book)
        self.now = until

    def _perform(self, action: Action, race: SimRace, book: int) -> Iterator[SimEvent]:
        before_off = race.status in (MarketStatus.OPEN, MarketStatus.SUSPENDED)
        match action:
            case Action.EVOLVE if before_off:
                self._evolve(race)
                self._schedule(self.now + EVOLVE_EVERY_S, Action.EVOLVE, race)
            case Action.REPRICE if before_off:
                yield from self._reprice_in_turn(race, book)
            case Action.SUSPEND if race.status is MarketStatus.OPEN:
                yield from self._suspend(race)
                self._schedule(self.now + self.rng.uniform(30, 150), Action.REOPEN, race)
            case Action.NON_RUNNER if race.status is MarketStatus.OPEN and len(race.live) > 5:
                yield from self._non_runner(race)
            case Action.REOPEN if race.status is MarketStatus.SUSPENDED:
                yield self._state(race, MarketStatus.OPEN, "market re-formed")
                for index in range(len(self.books)):
                    snapshot = self._reprice(race, index, full=False)
                    if snapshot is not None:
                        yield snapshot
            case Action.OFF if before_off:
                yield from self._off(race)
            case Action.RESULT if race.status is MarketStatus.OFF:
                result = run_race(self.rng, race, event_id=self.ids.next(), at=self.clock)
                yield result
                second = next((r for r in result.runners if r.position == "2"), None)
                photo = second is not None and (second.beaten_lengths or 0) <= PHOTO_LENGTHS
                reason = "photo finish; weighed in" if photo else "weighed in"
                yield self._state(race, MarketStatus.RESULT, reason)
                del self.card[race.race_id]

    def _evolve(self, race: SimRace) -> None:
        """Random-walk the latent strengths, livelier near the off, with occasional sharp moves."""
        elapsed = self.now - race.evolved_at
        if elapsed <= 0:
            return
        race.evolved_at = self.now
        near_off = race.off_at - self.now < 900
        step = VOLATILITY * math.sqrt(elapsed) * (2.5 if near_off else 1.0)
        live = race.live
        for runner in live:
            runner.strength += self.rng.gauss(0, step)
        if self.rng.random() < 1 - math.exp(-elapsed / SHOCK_EVERY_S):
            mover = self.rng.choice(live)
            steam = self.rng.random() < 0.65  # money for a horse is more common than a drift
            mover.strength += self.rng.uniform(0.3, 0.7) * (1 if steam else -1)
        race.history.append((self.now, race.probabilities()))
        while len(race.history) > 2 and race.history[1][0] < self.now - HISTORY_S:
            race.history.pop(0)

    def _reprice_in_turn(self, race: SimRace, index: int) -> Iterator[OddsSnapshot]:
        book = self.books[index]
        if race.status is MarketStatus.OPEN:
            snapshot = self._reprice(race, index, full=False)
            if snapshot is not None:
                yield snapshot
        # Books reprice more often as the off nears, as real markets do.
        busy = 0.4 if race.off_at - self.now < 600 else 1.0
        wait = book.interval_s * busy * self.rng.uniform(0.5, 1.5)
        self._schedule(self.now + wait, Action.REPRICE, race, index)

    def _reprice(self, race: SimRace, index: int, *, full: bool) -> OddsSnapshot | None:
        """`book`'s new prices from its (maybe lagging) view; only changes unless `full`."""
        book = self.books[index]
        view = race.probabilities_at(self.now - book.lag_s)
        if not full and race.priced_from.get(index) is view:
            return None  # the same view of the market prices the same: nothing changed
        race.priced_from[index] = view
        horses = list(view)
        rungs = price_book(book, [view[h] for h in horses])
        terms = book_terms(book, len(horses))
        places, denom = terms if terms is not None else (None, None)
        prices = []
        for horse_id, rung in zip(horses, rungs, strict=True):
            key = (index, horse_id)
            if not full and race.quoted.get(key) == (rung, places):
                continue
            race.quoted[key] = (rung, places)
            price = book.ladder.rungs[rung]
            prices.append(
                RunnerPrice(
                    horse_id=horse_id,
                    decimal=price.decimal,
                    fractional=price.fractional,
                    ew_places=places,
                    ew_denom=denom,
                )
            )
        if not prices:
            return None
        return OddsSnapshot(
            event_id=self.ids.next(),
            source=EventSource.SIMULATOR,
            source_time=self.clock,
            race_id=race.race_id,
            bookmaker_id=book.bookmaker.id,
            bookmaker=book.bookmaker.name,
            prices=tuple(prices),
        )

    def _suspend(self, race: SimRace) -> Iterator[SimEvent]:
        """A pause before the off, for a reason that fits the moment: a change of jockey or of
        going (the card republished), or, at the start, a loose horse or a vet's check."""
        runner = self.rng.choice(race.live)
        reasons = ["jockey change"] + ["going change"] * (race.surface != "AW")
        if race.off_at - self.now < LATE_S:
            reasons += ["loose horse", "vet's check"]
        match self.rng.choice(reasons):
            case "jockey change":
                riders = JUMP_JOCKEYS if race.race_type != "Flat" else FLAT_JOCKEYS
                others = [jockey for jockey in riders if jockey[0] != runner.jockey_id]
                runner.jockey_id, name = self.rng.choice(others)
                yield self._state(
                    race, MarketStatus.SUSPENDED, f"jockey change: {name} rides {runner.horse}"
                )
                yield racecard(race, event_id=self.ids.next(), at=self.clock)
            case "going change":
                race.going = self.rng.choice([g for g in GOINGS if g != race.going])
                yield self._state(race, MarketStatus.SUSPENDED, f"going changed to {race.going}")
                yield racecard(race, event_id=self.ids.next(), at=self.clock)
            case "loose horse":
                yield self._state(
                    race, MarketStatus.SUSPENDED, f"{runner.horse} loose at the start"
                )
            case _:
                yield self._state(race, MarketStatus.SUSPENDED, f"vet's check: {runner.horse}")

    def _non_runner(self, race: SimRace) -> Iterator[SimEvent]:
        """A withdrawal: suspend, republish the card, and re-form the market after a pause."""
        runner = self.rng.choice(race.live)
        runner.non_runner = True
        race.quoted = {k: v for k, v in race.quoted.items() if k[1] != runner.horse_id}
        race.history.append((self.now, race.probabilities()))
        late = "late " if race.off_at - self.now < LATE_S else ""
        yield self._state(race, MarketStatus.SUSPENDED, f"{late}non-runner: {runner.horse}")
        yield racecard(race, event_id=self.ids.next(), at=self.clock)
        self._schedule(self.now + self.rng.uniform(60, 180), Action.REOPEN, race)

    def _off(self, race: SimRace) -> Iterator[SimEvent]:
        self._evolve(race)
        race.status = MarketStatus.OFF
        race.off_probabilities = race.probabilities()
        race.quoted.clear()
        race.history.clear()
        race.priced_from.clear()
        yield self._state(race, MarketStatus.OFF, None)
        running_s = float(race.distance_f) * 13 + self.rng.uniform(120, 300)  # then weighed in
        self._schedule(self.now + running_s, Action.RESULT, race)
        while self._upcoming() < self.ahead:  # keep the card rolling
            new_race = self._add_race()
            yield racecard(new_race, event_id=self.ids.next(), at=self.clock)
            yield self._state(new_race, MarketStatus.OPEN, "market formed")
            for index in range(len(self.books)):
                snapshot = self._reprice(new_race, index, full=True)
                if snapshot is not None:
                    yield snapshot

    def _state(self, race: SimRace, status: MarketStatus, reason: str | None) -> MarketState:
        race.status = status
        return MarketState(
            event_id=self.ids.next(),
            source=EventSource.SIMULATOR,
            source_time=self.clock,
            race_id=race.race_id,
            status=status,
            reason=reason,
        )
