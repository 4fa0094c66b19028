"""A deterministic simulated UK racing market: the default source when no credentials are set.

Each race has runners with a latent win probability. Every bookmaker prices the field from that
probability with its own margin and favourite-longshot bias, snapped to the fractional ladder,
and reprices only some runners each tick (some books lag). Latent probabilities random-walk, so
prices drift and steam. The same seed always yields the same events (given the same clock).
"""

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from producers.ladder import nearest_price
from schemas.base import EventSource
from schemas.bookmakers import REGISTRY, Bookmaker, BookmakerType
from schemas.market import MarketState, MarketStatus
from schemas.odds import OddsSnapshot, RunnerPrice
from schemas.racecards import Racecard, Runner

COURSES = (
    ("crs_52", "Kempton (AW)", "GB"), ("crs_26", "Cheltenham", "GB"), ("crs_1", "Ascot", "GB"),
    ("crs_70", "Newmarket", "GB"), ("crs_45", "Haydock", "GB"), ("crs_30", "Doncaster", "GB"),
    ("crs_180", "Leopardstown", "IRE"), ("crs_196", "Punchestown", "IRE"),
    ("crs_62", "Lingfield (AW)", "GB"), ("crs_101", "Wolverhampton (AW)", "GB"),
)  # fmt: skip
RACE_KINDS = ("Handicap", "Maiden Stakes", "Novices Hurdle", "Handicap Chase", "Stakes")
_SYLLABLES = ("bal", "dor", "fin", "gal", "har", "kes", "lor", "mir", "nor", "pel", "quin", "ros")


@dataclass
class SimRunner:
    horse_id: str
    horse: str
    number: int
    strength: float  # log-odds of the latent win probability
    non_runner: bool = False


@dataclass
class SimBook:
    bookmaker: Bookmaker
    margin: float  # book % - 1, e.g. 0.18 for a 118 % book
    bias: float  # exponent > 1 shortens favourites and lengthens outsiders
    activity: float  # chance per tick that the book reprices a given runner
    ew_places: int
    ew_denom: int


@dataclass
class SimRace:
    race_id: str
    course_id: str
    course: str
    region: str
    off_dt: datetime
    name: str
    runners: list[SimRunner]
    status: MarketStatus = MarketStatus.OPEN
    quoted: dict[tuple[str, str], Decimal] = field(default_factory=dict)

    def probabilities(self) -> dict[str, float]:
        live = [r for r in self.runners if not r.non_runner]
        weights = [math.exp(r.strength) for r in live]
        total = sum(weights)
        return {r.horse_id: w / total for r, w in zip(live, weights, strict=True)}


def _each_way_terms(field_size: int) -> tuple[int, int]:
    if field_size >= 16:
        return 4, 4
    if field_size >= 12:
        return 3, 4
    if field_size >= 8:
        return 3, 5
    if field_size >= 5:
        return 2, 4
    return 1, 1


class MarketSimulator:
    """Builds a racing day from `seed`, then advances it tick by tick in simulated time."""

    def __init__(
        self,
        *,
        seed: int = 1,
        start: datetime,
        races: int = 12,
        bookmakers: int = 22,
        first_off_in: timedelta = timedelta(minutes=20),
        race_gap: timedelta = timedelta(minutes=15),
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (simulation, not cryptography)
        self.clock = start.astimezone(UTC)
        self.race_gap = race_gap
        self.races = [self._make_race(i, first_off_in + race_gap * i) for i in range(races)]
        self._next_race = races
        # Races that are off are dropped from memory after this long (results come later).
        self.retain = timedelta(hours=1)
        fixed = [b for b in REGISTRY if b.type is BookmakerType.FIXED]
        chosen = fixed[: max(bookmakers - 1, 1)] + [
            b for b in REGISTRY if b.id == "betfair_exchange"
        ]
        self.books = [self._make_book(b) for b in chosen[:bookmakers]]

    def _make_race(self, index: int, off_in: timedelta) -> SimRace:
        course_id, course, region = COURSES[index % len(COURSES)]
        size = self.rng.randint(5, 16)
        runners = [
            SimRunner(
                horse_id=f"hrs_sim{index:03d}{n:02d}",
                horse=self._horse_name(),
                number=n,
                strength=self.rng.gauss(0, 0.9),
            )
            for n in range(1, size + 1)
        ]
        off = (self.clock + off_in).replace(second=0, microsecond=0)
        return SimRace(
            race_id=f"rac_sim{index:04d}",
            course_id=course_id,
            course=course,
            region=region,
            off_dt=off,
            name=f"{course} {self.rng.choice(RACE_KINDS)}",
            runners=runners,
        )

    def _horse_name(self) -> str:
        parts = self.rng.sample(_SYLLABLES, 2)
        return (parts[0] + parts[1]).title() + self.rng.choice(["", " Star", " Lad", " Rose"])

    def _make_book(self, bookmaker: Bookmaker) -> SimBook:
        exchange = bookmaker.type is BookmakerType.EXCHANGE
        return SimBook(
            bookmaker=bookmaker,
            margin=self.rng.uniform(0.01, 0.03) if exchange else self.rng.uniform(0.08, 0.24),
            bias=1.0 if exchange else self.rng.uniform(1.02, 1.12),
            activity=self.rng.uniform(0.05, 0.6),
            ew_places=0,
            ew_denom=1,
        )

    # -- events ---------------------------------------------------------------------------

    def racecards(self) -> list[Racecard]:
        return [self._racecard(race) for race in self.races]

    def _racecard(self, race: SimRace) -> Racecard:
        return Racecard(
            source=EventSource.SIMULATOR,
            source_time=self.clock,
            race_id=race.race_id,
            course_id=race.course_id,
            course=race.course,
            region=race.region,
            race_date=race.off_dt.date(),
            off_dt=race.off_dt,
            race_name=race.name,
            race_type="Flat",
            field_size=sum(not r.non_runner for r in race.runners),
            runners=tuple(
                Runner(horse_id=r.horse_id, horse=r.horse, number=r.number, non_runner=r.non_runner)
                for r in race.runners
            ),
        )

    def book_prices(self, race: SimRace, book: SimBook, everyone: bool) -> list[RunnerPrice]:
        """The book's prices for the runners it reprices now (all of them if `everyone`)."""
        probabilities = race.probabilities()
        biased = {h: p**book.bias for h, p in probabilities.items()}
        scale = (1 + book.margin) / sum(biased.values())
        places, denom = _each_way_terms(len(probabilities))
        prices = []
        for horse_id, weight in biased.items():
            if not everyone and self.rng.random() > book.activity:
                continue
            decimal, fractional = nearest_price(weight * scale)
            key = (horse_id, book.bookmaker.id)
            if race.quoted.get(key) == decimal:
                continue
            race.quoted[key] = decimal
            prices.append(
                RunnerPrice(
                    horse_id=horse_id,
                    decimal=decimal,
                    fractional=fractional,
                    ew_places=places,
                    ew_denom=denom,
                )
            )
        return prices

    def _snapshot(self, race: SimRace, book: SimBook, prices: list[RunnerPrice]) -> OddsSnapshot:
        return OddsSnapshot(
            source=EventSource.SIMULATOR,
            source_time=self.clock,
            race_id=race.race_id,
            bookmaker_id=book.bookmaker.id,
            bookmaker=book.bookmaker.name,
            prices=tuple(prices),
        )

    def open_markets(self) -> Iterator[OddsSnapshot]:
        """A full image of every open market (used at start-up)."""
        for race in self.races:
            if race.status is MarketStatus.OPEN:
                for book in self.books:
                    prices = self.book_prices(race, book, everyone=True)
                    if prices:
                        yield self._snapshot(race, book, prices)

    def _schedule_next_race(self) -> SimRace:
        """Keep the card rolling: each race that goes off adds one after the last."""
        last_off = max(race.off_dt for race in self.races)
        race = self._make_race(self._next_race, last_off + self.race_gap - self.clock)
        self._next_race += 1
        self.races.append(race)
        return race

    def advance(self, elapsed: timedelta) -> Iterator[OddsSnapshot | MarketState | Racecard]:
        """Move simulated time on by `elapsed` and yield the events that happened."""
        self.clock += elapsed
        self.races = [r for r in self.races if r.off_dt > self.clock - self.retain]
        for race in list(self.races):
            if race.status is not MarketStatus.OPEN:
                continue
            if self.clock >= race.off_dt:
                race.status = MarketStatus.OFF
                race.quoted.clear()
                yield MarketState(
                    source=EventSource.SIMULATOR,
                    source_time=race.off_dt,
                    race_id=race.race_id,
                    status=MarketStatus.OFF,
                )
                new_race = self._schedule_next_race()
                yield self._racecard(new_race)
                for book in self.books:
                    yield self._snapshot(new_race, book, self.book_prices(new_race, book, True))
                continue
            # Latent probabilities random-walk; occasionally one runner is backed hard.
            for runner in race.runners:
                runner.strength += self.rng.gauss(0, 0.03)
            if self.rng.random() < 0.02:
                self.rng.choice(race.runners).strength += 0.4
            if self.rng.random() < 0.002 and sum(not r.non_runner for r in race.runners) > 5:
                self.rng.choice([r for r in race.runners if not r.non_runner]).non_runner = True
                yield self._racecard(race)
            for book in self.books:
                prices = self.book_prices(race, book, everyone=False)
                if prices:
                    yield self._snapshot(race, book, prices)
