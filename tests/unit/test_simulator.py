"""The simulated racing day: determinism, market realism, and the race lifecycle."""

import asyncio
import hashlib
import itertools
import math
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from producers.bookmaking import each_way_terms
from producers.card import COURSES, JOCKEYS, OWNERS, TRAINERS
from producers.ladder import EXCHANGE, LADDER, nearest_price
from producers.settings import SimulatorSettings
from producers.simulate import Pacer, publish_day, simulated_day, simulator_for
from producers.simulator import MarketSimulator, SimEvent
from schemas import decode, encode
from schemas.market import MarketState, MarketStatus
from schemas.odds import OddsSnapshot
from schemas.racecards import Racecard
from schemas.results import Result
from schemas.topics import MARKET_STATE, ODDS_LIVE, RACECARDS

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
EXCHANGES = {"betfair_exchange", "matchbook"}


def simulate(
    seed: int,
    hours: float,
    step: timedelta = timedelta(seconds=30),
    *,
    races: int = 12,
    bookmakers: int = 24,
) -> Iterator[SimEvent]:
    simulator = MarketSimulator(seed=seed, start=START, races=races, bookmakers=bookmakers)
    yield from simulator.initial_events()
    for _ in range(int(hours * 3600 / step.total_seconds())):
        yield from simulator.advance(step)


def stable(events: Iterator[SimEvent]) -> list[bytes]:
    """Encoded events with the one wall-clock field (ingest_time) pinned."""
    return [encode(e.model_copy(update={"ingest_time": START})) for e in events]


def test_same_seed_and_start_give_the_same_events_ids_included() -> None:
    first = stable(simulate(3, hours=1.5, races=4, bookmakers=8))
    assert first == stable(simulate(3, hours=1.5, races=4, bookmakers=8))
    assert first != stable(simulate(4, hours=1.5, races=4, bookmakers=8))
    ids = [decode(OddsSnapshot, e).event_id for e in first if b'"prices"' in e]
    assert len(set(ids)) == len(ids)


def test_the_stream_does_not_depend_on_how_time_is_sliced_into_ticks() -> None:
    fine = stable(simulate(5, hours=1, step=timedelta(seconds=20), races=3, bookmakers=6))
    coarse = stable(simulate(5, hours=1, step=timedelta(minutes=5), races=3, bookmakers=6))
    assert fine == coarse


def test_every_event_is_valid_against_the_contract() -> None:
    kinds: Counter[type[SimEvent]] = Counter()
    for event in simulate(8, hours=2, races=4, bookmakers=6):
        assert decode(type(event), encode(event)) == event
        kinds[type(event)] += 1
    assert set(kinds) == {Racecard, OddsSnapshot, MarketState, Result}


class Market:
    """The current quotes per (race, book) and the runners still declared, from events alone."""

    def __init__(self) -> None:
        self.quotes: dict[tuple[str, str], dict[str, OddsSnapshot]] = defaultdict(dict)
        self.prices: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
        self.declared: dict[str, set[str]] = {}

    def apply(self, event: SimEvent) -> None:
        if isinstance(event, Racecard):
            self.declared[event.race_id] = {r.horse_id for r in event.runners if not r.non_runner}
        elif isinstance(event, OddsSnapshot):
            for price in event.prices:
                assert price.decimal is not None
                self.prices[event.race_id, event.bookmaker_id][price.horse_id] = price.decimal

    def book_percent(self, race_id: str, bookmaker_id: str) -> Decimal:
        quotes = self.prices[race_id, bookmaker_id]
        return sum((1 / quotes[h] for h in self.declared[race_id]), Decimal(0))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_books_stay_within_their_bands_on_the_ladder_prices(seed: int) -> None:
    market = Market()
    checked: Counter[bool] = Counter()
    for event in simulate(seed, hours=3, races=8, bookmakers=24):
        market.apply(event)
        if isinstance(event, OddsSnapshot):
            book = market.book_percent(event.race_id, event.bookmaker_id)
            if event.bookmaker_id in EXCHANGES:
                assert Decimal("1.00") <= book <= Decimal("1.03"), (event.bookmaker_id, book)
            else:
                assert Decimal("1.10") <= book <= Decimal("1.30"), (event.bookmaker_id, book)
                assert all(p.decimal == _ladder_decimal(p.fractional) for p in event.prices)
            checked[event.bookmaker_id in EXCHANGES] += 1
    assert checked[True] > 100
    assert checked[False] > 1000


def _ladder_decimal(fractional: str | None) -> Decimal:
    return next(decimal for decimal, text in LADDER if text == fractional)


def test_twenty_plus_books_each_with_its_own_margin() -> None:
    simulator = MarketSimulator(seed=1, start=START)
    assert len(simulator.books) >= 20
    assert len({round(book.margin, 6) for book in simulator.books}) == len(simulator.books)
    assert sum(book.lag_s > 30 for book in simulator.books) >= 3  # some books lag the market


def test_fields_are_5_to_20_runners_across_many_cards() -> None:
    sizes = [
        len(card.runners)
        for seed in range(200)
        for card in MarketSimulator(seed=seed, start=START, races=12, bookmakers=1).racecards()
    ]
    assert min(sizes) >= 5
    assert max(sizes) <= 20
    assert set(sizes) == set(range(5, 21))
    assert 8 <= sorted(sizes)[len(sizes) // 2] <= 12  # typical fields are mid-sized


def test_each_way_terms_follow_the_field_size() -> None:
    market = Market()
    terms_seen: dict[str, set[tuple[int | None, int | None, int]]] = defaultdict(set)
    for event in simulate(6, hours=4, races=10, bookmakers=30):
        market.apply(event)
        if not isinstance(event, OddsSnapshot):
            continue
        runners = len(market.declared[event.race_id])
        for price in event.prices:
            if event.bookmaker_id in EXCHANGES:  # exchanges run separate place markets
                assert (price.ew_places, price.ew_denom) == (None, None)
                continue
            standard = each_way_terms(runners)
            assert standard is not None
            places, denom = standard
            assert price.ew_denom == denom
            assert price.ew_places in (places, places + 1 if runners >= 8 else places)
            terms_seen[event.bookmaker_id].add((price.ew_places, price.ew_denom, runners))
    concessions = {
        b for b, seen in terms_seen.items() if any((p, d) != each_way_terms(r) for p, d, r in seen)
    }
    assert concessions  # some books pay an extra place ...
    assert len(concessions) < len(terms_seen)  # ... and most do not


def test_each_way_table_matches_the_domain() -> None:
    table = {n: each_way_terms(n) for n in range(1, 21)}
    assert {table[n] for n in range(1, 5)} == {None}
    assert {table[n] for n in range(5, 8)} == {(2, 4)}
    assert {table[n] for n in range(8, 12)} == {(3, 5)}
    assert {table[n] for n in range(12, 16)} == {(3, 4)}
    assert {table[n] for n in range(16, 21)} == {(4, 4)}


def test_every_race_goes_off_and_is_resulted_with_starting_prices() -> None:
    carded: dict[str, Racecard] = {}
    offs, resulted, results = set(), set(), {}
    for event in simulate(9, hours=6, races=6, bookmakers=4):
        match event:
            case Racecard():
                carded[event.race_id] = event
            case MarketState(status=MarketStatus.OFF):
                assert event.race_id not in offs
                assert event.source_time == carded[event.race_id].off_dt
                offs.add(event.race_id)
            case MarketState(status=MarketStatus.RESULT):
                assert event.race_id in results
                resulted.add(event.race_id)
            case Result():
                assert event.race_id in offs
                results[event.race_id] = event
    due = {r for r, card in carded.items() if card.off_dt < START + timedelta(hours=5)}
    assert len(due) >= 25
    assert due <= offs
    assert due <= resulted
    for race_id in due:
        result, card = results[race_id], carded[race_id]
        running = {r.horse_id for r in card.runners if not r.non_runner}
        assert {r.horse_id for r in result.runners} == running
        assert [r.position for r in result.runners].count("1") == 1
        assert all(r.sp_decimal is not None and r.sp_decimal > 1 for r in result.runners)
        favourites = [r for r in result.runners if r.sp_favourite]
        assert favourites
        assert all(
            r.sp_decimal == min(x.sp_decimal or 0 for x in result.runners) for r in favourites
        )


def test_winners_follow_the_latent_probabilities() -> None:
    """Over many races the favourite's wins match the sum of its chances, and so on by band."""
    expected: dict[str, float] = defaultdict(float)
    observed: Counter[str] = Counter()
    variance: dict[str, float] = defaultdict(float)
    races = 0
    for seed in range(20):
        simulator = MarketSimulator(seed=seed, start=START, races=8, bookmakers=1)
        at_off: dict[str, dict[str, float]] = {}
        for _ in range(8 * 12):
            for event in simulator.advance(timedelta(minutes=5)):
                if isinstance(event, MarketState) and event.status is MarketStatus.OFF:
                    at_off[event.race_id] = dict(simulator.card[event.race_id].off_probabilities)
                elif isinstance(event, Result):
                    chances = at_off.pop(event.race_id)
                    winner = next(r.horse_id for r in event.runners if r.position == "1")
                    favourite = max(chances, key=chances.__getitem__)
                    for horse, p in chances.items():
                        band = "favourite" if horse == favourite else "<10%" if p < 0.1 else "other"
                        expected[band] += p
                        variance[band] += p * (1 - p)
                        observed[band] += horse == winner
                    races += 1
    assert races > 1000
    for band in ("favourite", "<10%", "other"):
        z = (observed[band] - expected[band]) / math.sqrt(variance[band])
        assert abs(z) < 4.5, (band, observed[band], expected[band])


def test_suspensions_and_non_runners_happen_and_markets_reform() -> None:
    events = list(simulate(2, hours=8, races=8, bookmakers=4))
    states = [e for e in events if isinstance(e, MarketState)]
    suspended = [e for e in states if e.status is MarketStatus.SUSPENDED]
    assert any(e.reason and "non-runner: " in e.reason for e in suspended)
    assert any(e.reason and "non-runner" not in e.reason for e in suspended)
    reopened = {e.race_id for e in states if e.status is MarketStatus.OPEN}
    assert reopened
    cards = [e for e in events if isinstance(e, Racecard)]
    withdrawn = {(c.race_id, r.horse_id) for c in cards for r in c.runners if r.non_runner}
    assert withdrawn
    for race_id, horse_id in withdrawn:
        republished = next(
            i for i, e in enumerate(events)
            if isinstance(e, Racecard) and e.race_id == race_id
            and any(r.horse_id == horse_id and r.non_runner for r in e.runners)
        )  # fmt: skip
        card = events[republished]
        assert isinstance(card, Racecard)
        assert card.field_size == sum(not r.non_runner for r in card.runners)
        later = [e for e in events[republished:] if isinstance(e, OddsSnapshot)]
        assert not any(
            e.race_id == race_id and p.horse_id == horse_id for e in later for p in e.prices
        )
    # no prices while a market is suspended
    status: dict[str, MarketStatus] = {}
    for event in events:
        if isinstance(event, MarketState):
            status[event.race_id] = event.status
        elif isinstance(event, OddsSnapshot):
            assert status.get(event.race_id, MarketStatus.OPEN) is MarketStatus.OPEN


def test_prices_drift_and_steam() -> None:
    moves: dict[tuple[str, str, str], list[Decimal]] = defaultdict(list)
    for event in simulate(4, hours=2, races=6, bookmakers=6):
        if isinstance(event, OddsSnapshot):
            for price in event.prices:
                assert price.decimal is not None
                moves[event.race_id, event.bookmaker_id, price.horse_id].append(price.decimal)
    shortened = sum(p[-1] < p[0] for p in moves.values() if len(p) > 1)
    lengthened = sum(p[-1] > p[0] for p in moves.values() if len(p) > 1)
    assert shortened > 20
    assert lengthened > 20


def test_the_card_rolls_on_with_memory_bounded() -> None:
    simulator = MarketSimulator(seed=12, start=START, races=6, bookmakers=3)
    sizes = []
    offs = 0
    for _ in range(24):
        for event in simulator.advance(timedelta(hours=1)):
            offs += isinstance(event, MarketState) and event.status is MarketStatus.OFF
        sizes.append((len(simulator.card), len(simulator._queue)))
    assert offs > 24 * 6  # several meetings, a race every ~30 min at each
    assert max(card for card, _ in sizes) <= 6 + 4
    assert max(queue for _, queue in sizes) < 400
    assert all(len(race.history) < 40 for race in simulator.card.values())
    courses = {race.course for race in simulator.card.values()}
    assert len(courses) >= 3  # meetings interleave


def test_ladder_prices_are_consistent() -> None:
    assert nearest_price(0.5) == (Decimal("2.00"), "evs")
    assert nearest_price(1 / 3.5) == (Decimal("3.50"), "5/2")
    decimals = [d for d, _ in LADDER]
    assert decimals == sorted(decimals)
    ticks = [rung.decimal for rung in EXCHANGE.rungs]
    assert ticks == sorted(set(ticks))
    assert (ticks[0], ticks[-1], len(ticks)) == (Decimal("1.01"), Decimal("1000"), 350)


DIGEST_SCRIPT = """
import hashlib, sys
from datetime import timedelta
from tests.unit.test_simulator import simulate, stable
digest = hashlib.sha256(b"".join(stable(simulate(7, hours=1, races=5, bookmakers=10))))
sys.stdout.write(digest.hexdigest())
"""


@pytest.mark.parametrize("hash_seed", ["0", "12345"])
def test_runs_in_other_processes_are_byte_identical(hash_seed: str) -> None:
    """Goldens and replays compare across processes: no set order or hash seed may leak in."""
    here = hashlib.sha256(b"".join(stable(simulate(7, hours=1, races=5, bookmakers=10))))
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    there = subprocess.run(
        [sys.executable, "-c", DIGEST_SCRIPT], cwd=root, env=env, capture_output=True, check=True
    )
    assert there.stdout.decode() == here.hexdigest()


def test_the_day_for_goldens_is_the_published_stream() -> None:
    settings = SimulatorSettings(seed=7, start=START, races=5, bookmakers=10)
    day = list(simulated_day(settings, timedelta(hours=1)))
    assert stable(e for _, e in day) == stable(simulate(7, hours=1, races=5, bookmakers=10))
    assert {topic.name for topic, _ in day} >= {ODDS_LIVE.name, RACECARDS.name, MARKET_STATE.name}
    assert all(topic.model is type(event) for topic, event in day)


def test_each_market_goes_open_then_off_then_result() -> None:
    lifecycles: dict[str, list[MarketStatus]] = defaultdict(list)
    for event in simulate(10, hours=5, races=6, bookmakers=4):
        if isinstance(event, MarketState):
            lifecycles[event.race_id].append(event.status)
    allowed = {
        MarketStatus.OPEN: {MarketStatus.SUSPENDED, MarketStatus.OFF},
        MarketStatus.SUSPENDED: {MarketStatus.OPEN, MarketStatus.OFF},
        MarketStatus.OFF: {MarketStatus.RESULT},
        MarketStatus.RESULT: set(),
    }
    assert len(lifecycles) > 20
    for statuses in lifecycles.values():
        assert statuses[0] is MarketStatus.OPEN
        for before, after in itertools.pairwise(statuses):
            assert after in allowed[before], statuses


def test_runs_from_different_starts_share_no_race_or_horse_id() -> None:
    """A second `make up` (another start) never reuses the first run's races (issue 20)."""

    def ids(start: datetime, seed: int = 1) -> tuple[set[str], set[str]]:
        simulator = MarketSimulator(seed=seed, start=start)
        for _ in simulator.advance(timedelta(minutes=20)):
            pass
        races = {e.race_id for e in simulator.initial_events() if hasattr(e, "race_id")}
        races |= set(simulator.card)
        horses = {r.horse_id for race in simulator.races for r in race.runners}
        return races, horses

    monday = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)
    first_races, first_horses = ids(monday)
    for other in (ids(monday + timedelta(days=1)), ids(monday + timedelta(minutes=5)),
                  ids(monday, seed=2)):  # fmt: skip
        assert not first_races & other[0]
        assert not first_horses & other[1]
    # The same seed and start: the same ids, so a fixed --start still reproduces a day.
    assert ids(monday) == (first_races, first_horses)
    assert all(race.startswith("rac_sim20261130_") for race in first_races)


class FakeWall:
    """A wall clock that moves only when the simulator sleeps or works (publishing costs time)."""

    def __init__(self, cost_per_event_s: float) -> None:
        self.now = 1000.0
        self.cost = cost_per_event_s
        self.published = 0

    def clock(self) -> float:
        return self.now

    async def wait(self, stop: asyncio.Event, seconds: float) -> None:
        self.now += seconds

    async def publish(self, topic: object, event: SimEvent) -> None:
        self.published += 1
        self.now += self.cost

    async def flush(self) -> None:
        self.now += 0.005


def test_ten_simulated_minutes_keep_within_a_second_of_the_wall_clock() -> None:
    """Ticks fall on absolute deadlines: a tick's work does not push the next one later."""
    settings = SimulatorSettings(seed=3, start=START, tick_s=1.0, compression=1.0, max_ticks=600)
    simulator = simulator_for(settings)
    wall = FakeWall(cost_per_event_s=0.0004)  # each tick's publishing takes wall time
    pacer = Pacer(settings.tick_s, wall.clock)
    asyncio.run(publish_day(simulator, settings, wall, pacer, asyncio.Event(), wait=wall.wait))
    simulated = (simulator.clock - START).total_seconds()
    real = wall.now - pacer.started
    assert simulated == 600
    assert abs(real - simulated) <= 1.0, (real, simulated)
    # The work was real: sleeping a whole tick after each tick's work would have lost it all.
    work = wall.published * wall.cost + 601 * 0.005
    assert work > 5


def test_a_slow_tick_is_caught_up_at_once() -> None:
    wall = FakeWall(0)
    pacer = Pacer(1.0, wall.clock)
    assert pacer.wait_s() == 1.0
    wall.now += 1.0
    pacer.ticked()
    wall.now += 2.5  # the second tick's work overran by a second and a half
    assert pacer.wait_s() == 0.0
    pacer.ticked()
    assert pacer.wait_s() == 0.0  # the third was due at 3 s: still late, no sleep
    pacer.ticked()
    assert pacer.wait_s() == pytest.approx(0.5)


def test_every_runner_has_a_named_jockey_trainer_and_owner() -> None:
    """The Masters routes (/v1/jockeys, /v1/trainers, /v1/owners) are filled from the cards."""
    for table in (JOCKEYS, TRAINERS, OWNERS):
        assert len(set(table.values())) == len(table)  # one name per id
    cards = [e for e in simulate(11, hours=3, races=6, bookmakers=3) if isinstance(e, Racecard)]
    runners = [r for card in cards for r in card.runners]
    assert len(runners) > 200
    for runner in runners:
        assert runner.jockey_id is not None
        assert runner.trainer_id is not None
        assert runner.owner_id is not None
        assert runner.jockey == JOCKEYS[runner.jockey_id]
        assert runner.trainer == TRAINERS[runner.trainer_id]
        assert runner.owner == OWNERS[runner.owner_id]
    assert len({r.jockey_id for r in runners}) > 30
    assert len({r.owner_id for r in runners}) > 30
    flat = {r.jockey_id for c in cards if c.race_type == "Flat" for r in c.runners}
    jumps = {r.jockey_id for c in cards if c.race_type != "Flat" for r in c.runners}
    assert flat
    assert jumps
    assert not flat & jumps  # flat and jumps riders are different people


@pytest.mark.parametrize("month", range(1, 13))
def test_courses_race_their_real_codes_in_season(month: int) -> None:
    courses = {course.name: course for course in COURSES}
    start = datetime(2026, month, 14, 11, 0, tzinfo=UTC)
    simulator = MarketSimulator(seed=month, start=start, races=10, bookmakers=1, meetings=6)
    cards = list(simulator.racecards())
    for _ in range(2 * 24):  # two days, so meetings come and go
        cards += [e for e in simulator.advance(timedelta(minutes=30)) if isinstance(e, Racecard)]
    seen = set()
    for card in cards:
        course = courses[card.course]
        seen.add(card.course)
        code = course.races(card.off_dt.month)
        assert code is not None, (card.course, card.off_dt)  # no meetings out of season
        if card.race_type == "Flat":
            assert code == "Flat" or card.off_dt.month != start.month, card.course
        else:
            assert card.race_type in ("Hurdle", "Chase")
            assert code == "Jumps" or card.off_dt.month != start.month, card.course
        if card.surface == "AW":
            assert card.race_type == "Flat"
            assert card.going == "Standard"
        if card.course == "Newmarket":
            assert card.race_type == "Flat"  # no jump races at Newmarket
        if card.surface == "Turf" and card.off_dt.month == 12:
            assert card.race_type != "Flat"  # no December flat turf
    assert len(seen) >= 8
    if month in (6, 7):
        assert any(courses[c].code == "flat" and courses[c].surface == "Turf" for c in seen)
    if month in (12, 1):
        assert "Newmarket" not in seen


def test_suspensions_give_reasons_that_fit_the_moment() -> None:
    events = list(simulate(2, hours=12, races=8, bookmakers=2))
    cards: dict[str, Racecard] = {}
    reasons: Counter[str] = Counter()
    for event in events:
        if isinstance(event, Racecard):
            cards[event.race_id] = event
        elif isinstance(event, MarketState) and event.status is MarketStatus.SUSPENDED:
            assert event.reason
            kind = event.reason.split(":")[0] if ":" in event.reason else event.reason
            to_off = (cards[event.race_id].off_dt - event.source_time).total_seconds()
            if kind in ("late non-runner", "vet's check") or "loose" in kind:
                assert to_off < 900, event.reason
            if kind == "non-runner":
                assert to_off >= 900
            reasons[kind.split(" to ")[0] if kind.startswith("going") else kind] += 1
            if event.reason.startswith("going changed"):
                assert cards[event.race_id].surface == "Turf"
        elif isinstance(event, MarketState) and event.status is MarketStatus.RESULT:
            assert event.reason in ("weighed in", "photo finish; weighed in")
    assert {"jockey change", "going changed", "non-runner", "late non-runner"} <= set(reasons)
    results = [e for e in events if isinstance(e, MarketState) and e.status is MarketStatus.RESULT]
    assert any(e.reason == "photo finish; weighed in" for e in results)
