"""The simulated race card: courses, meetings running side by side, races and their runners.

Several meetings run at once, each with a race every 30-35 minutes, their first races staggered
so off times interleave across courses as on a real UK Saturday. When a meeting has run its
races another course takes its place, so the card rolls on for as long as the simulator runs.
"""

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from schemas.base import EventSource
from schemas.market import MarketStatus
from schemas.racecards import Racecard, Runner

FLAT_TURF_SEASON = frozenset(range(4, 11))  # April to October: no flat turf in December
MIXED_FLAT_MONTHS = frozenset(range(4, 10))  # dual-purpose courses race jumps from October
WINTER = frozenset((10, 11, 12, 1, 2, 3, 4))
SUMMER = frozenset(range(4, 11))
ALL_YEAR = frozenset(range(1, 13))


@dataclass(frozen=True)
class Course:
    """A real GB or Irish course: what it races ("flat", "jumps" or "mixed": flat in the
    summer, jumps in the winter) and in which months it has meetings."""

    id: str
    name: str
    region: str
    surface: str
    code: str
    months: frozenset[int] = ALL_YEAR

    def races(self, month: int) -> str | None:
        """ "Flat" or "Jumps" in `month`, or None when the course has no meetings then."""
        if month not in self.months:
            return None
        if self.code == "mixed":
            return "Flat" if month in MIXED_FLAT_MONTHS else "Jumps"
        return "Flat" if self.code == "flat" else "Jumps"


COURSES = (
    Course("crs_52", "Kempton (AW)", "GB", "AW", "flat"),
    Course("crs_26", "Cheltenham", "GB", "Turf", "jumps", WINTER),
    Course("crs_1", "Ascot", "GB", "Turf", "mixed"),
    Course("crs_70", "Newmarket", "GB", "Turf", "flat", FLAT_TURF_SEASON),
    Course("crs_45", "Haydock", "GB", "Turf", "mixed"),
    Course("crs_30", "Doncaster", "GB", "Turf", "mixed"),
    Course("crs_180", "Leopardstown", "IRE", "Turf", "mixed"),
    Course("crs_62", "Lingfield (AW)", "GB", "AW", "flat"),
    Course("crs_196", "Punchestown", "IRE", "Turf", "jumps", WINTER | {5}),
    Course("crs_101", "Wolverhampton (AW)", "GB", "AW", "flat"),
    Course("crs_84", "Sandown", "GB", "Turf", "mixed"),
    Course("crs_36", "Exeter", "GB", "Turf", "jumps", WINTER | {5}),
    Course("crs_193", "Fairyhouse", "IRE", "Turf", "jumps", WINTER),
    Course("crs_90", "Southwell (AW)", "GB", "AW", "flat"),
    Course("crs_107", "York", "GB", "Turf", "flat", frozenset(range(5, 11))),
    Course("crs_178", "Curragh", "IRE", "Turf", "flat", FLAT_TURF_SEASON - {10} | {3}),
    Course("crs_176", "Dundalk (AW)", "IRE", "AW", "flat"),
    Course("crs_67", "Newton Abbot", "GB", "Turf", "jumps", SUMMER),
    Course("crs_64", "Market Rasen", "GB", "Turf", "jumps"),
)


def courses_racing(month: int) -> tuple[Course, ...]:
    """The courses with meetings in `month`, in table order."""
    return tuple(course for course in COURSES if course.races(month) is not None)


FLAT_KINDS = ("Handicap", "Maiden Stakes", "Novice Stakes", "Listed Stakes", "Nursery Handicap")
JUMP_KINDS = ("Novices' Hurdle", "Handicap Hurdle", "Handicap Chase", "Beginners' Chase")
GOINGS = ("Good", "Good To Soft", "Soft", "Heavy", "Good To Firm")
_SYLLABLES = (
    "bal", "dor", "fin", "gal", "har", "kes", "lor", "mir", "nor", "pel", "quin", "ros", "tam",
    "vel", "zan", "cor", "bri", "sha", "mon", "del",
)  # fmt: skip
_SUFFIXES = ("", "", "", " Star", " Lad", " Rose", " King", " Queen", " Flyer", " Dancer")
_FIRST = (
    "Tom", "Oisin", "Hollie", "Rossa", "Saffie", "Callum", "Jamie", "Ryan", "Rachael", "Harry",
    "Danny", "Kieren", "Billy", "Aidan", "Paddy", "Bryony", "Sean", "Cieren", "Jack", "Hayley",
)  # fmt: skip
_LAST = (
    "Ashby", "Brennan", "Carrow", "Doyle", "Ellery", "Fallon", "Garvey", "Hanlon", "Ives",
    "Kinane", "Lusk", "Madden", "Nolan", "Oakes", "Prendergast", "Quirke", "Rowe", "Scully",
    "Tierney", "Upton", "Varley", "Walsh", "Yeats", "Cosgrave", "Mullane",
)  # fmt: skip
_OWNER_WORDS = (
    "Hollybank", "Blackwater", "Kingsclere", "Moyglare", "Ashgrove", "Hambleton", "Corrib",
    "Shanakiel", "Tinnakill", "Fernhill", "Lambourn", "Middleham", "Danebury", "Ballyhane",
)  # fmt: skip


def _people(prefix: str, count: int, offset: int, first: int = 0) -> tuple[tuple[str, str], ...]:
    """`count` (id, name) pairs of invented people, every name distinct."""
    names = [
        f"{_FIRST[(n + offset) % len(_FIRST)]} {_LAST[(n * 7 + offset) % len(_LAST)]}"
        for n in range(count)
    ]
    return tuple((f"{prefix}{first + n:03d}", name) for n, name in enumerate(names))


def _owners(count: int) -> tuple[tuple[str, str], ...]:
    styles = ("{w} Racing", "Mr & Mrs {f} {l}", "The {w} Partnership", "{f} {l}", "{w} Stud")
    names = []
    for n in range(count):
        word, first = _OWNER_WORDS[n % len(_OWNER_WORDS)], _FIRST[(n * 3) % len(_FIRST)]
        last = _LAST[(n * 11) % len(_LAST)]
        names.append(styles[n % len(styles)].format(w=word, f=first, l=last))
    return tuple((f"own_sim{n:03d}", name) for n, name in enumerate(names))


# Riders are flat or jumps jockeys (weights differ); trainers and owners have runners in both.
FLAT_JOCKEYS = _people("jky_sim", 40, 0)
JUMP_JOCKEYS = _people("jky_sim", 30, 9, first=40)
JOCKEYS = dict(FLAT_JOCKEYS + JUMP_JOCKEYS)
TRAINERS = dict(_people("trn_sim", 40, 4))
OWNERS = dict(_owners(70))
_TRAINER_IDS = tuple(TRAINERS)
_OWNER_IDS = tuple(OWNERS)


@dataclass
class SimRunner:
    horse_id: str
    horse: str
    number: int
    draw: int | None
    age: int
    weight_lbs: int
    jockey_id: str
    trainer_id: str
    owner_id: str
    strength: float  # log-odds of the latent win probability
    non_runner: bool = False


@dataclass
class SimRace:
    race_id: str
    course_id: str
    course: str
    region: str
    surface: str
    off_at: float  # off time, epoch seconds
    name: str
    race_type: str
    race_class: str
    distance_f: Decimal
    going: str
    runners: list[SimRunner]
    status: MarketStatus = MarketStatus.OPEN
    # Latent probabilities over time: (epoch s, {horse_id: p}) for live runners, newest last.
    history: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    evolved_at: float = 0.0
    # The last quote per (book index, horse_id): rung index on the book's ladder, e/w places.
    quoted: dict[tuple[int, str], tuple[int, int | None]] = field(default_factory=dict)
    off_probabilities: dict[str, float] = field(default_factory=dict)
    # The view each book last priced from (by identity), to skip repricing an unchanged view.
    priced_from: dict[int, dict[str, float]] = field(default_factory=dict)

    @property
    def off_dt(self) -> datetime:
        return datetime.fromtimestamp(self.off_at, UTC)

    @property
    def live(self) -> list[SimRunner]:
        return [r for r in self.runners if not r.non_runner]

    def probabilities(self) -> dict[str, float]:
        """The latent win probability of every runner still in the race."""
        live = self.live
        top = max(r.strength for r in live)
        weights = [math.exp(r.strength - top) for r in live]
        total = sum(weights)
        return {r.horse_id: w / total for r, w in zip(live, weights, strict=True)}

    def probabilities_at(self, when: float) -> dict[str, float]:
        """What the market looked like at `when` (the oldest kept view if older), for laggards."""
        chosen = self.history[0][1]
        for at, view in self.history:
            if at > when:
                break
            chosen = view
        live = {r.horse_id for r in self.live}
        if chosen.keys() == live:
            return chosen
        kept = {h: p for h, p in chosen.items() if h in live}  # a non-runner since then
        total = sum(kept.values())
        return {h: p / total for h, p in kept.items()}


@dataclass
class Meeting:
    course_id: str
    course: str
    region: str
    surface: str
    jumps: bool
    next_off: float
    races_left: int


def open_meeting(rng: random.Random, course: Course, first_off: float) -> Meeting:
    """A meeting at `course`, racing its code for the month of `first_off`."""
    month = datetime.fromtimestamp(first_off, UTC).month
    return Meeting(
        course_id=course.id,
        course=course.name,
        region=course.region,
        surface=course.surface,
        jumps=course.races(month) == "Jumps",
        next_off=first_off,
        races_left=rng.randint(6, 8),
    )


def make_race(rng: random.Random, index: int, meeting: Meeting, run_tag: str = "") -> SimRace:
    """The next race of `meeting` (advancing its clock), as race number `index` of the run."""
    off_at = meeting.next_off
    meeting.next_off += 60 * rng.choice((30, 30, 35, 35, 35, 40)) - 5 * 60 * (rng.random() < 0.3)
    meeting.races_left -= 1
    # Mostly 8-12 runners, but big handicap fields and small conditions races are common too.
    size = rng.randint(5, 20) if rng.random() < 0.25 else 5 + int(rng.triangular(0, 15.99, 5))
    furlongs = rng.choice((16, 20, 21, 24, 25, 29)) if meeting.jumps else rng.randint(5, 16)
    distance = Decimal(furlongs)
    kind = rng.choice(JUMP_KINDS if meeting.jumps else FLAT_KINDS)
    runners = [
        SimRunner(
            horse_id=f"hrs_sim{run_tag}_{index:04d}{n:02d}",
            horse=_horse_name(rng),
            number=n,
            draw=None if meeting.jumps else n,
            age=rng.randint(4, 9) if meeting.jumps else rng.randint(2, 6),
            weight_lbs=rng.randint(140, 168) if meeting.jumps else rng.randint(112, 140),
            jockey_id=rng.choice(JUMP_JOCKEYS if meeting.jumps else FLAT_JOCKEYS)[0],
            trainer_id=rng.choice(_TRAINER_IDS),
            owner_id=rng.choice(_OWNER_IDS),
            strength=rng.gauss(0, 0.9),
        )
        for n in range(1, size + 1)
    ]
    if not meeting.jumps:  # stall draw is random, not the racecard number
        draws = list(range(1, size + 1))
        rng.shuffle(draws)
        for runner, draw in zip(runners, draws, strict=True):
            runner.draw = draw
    return SimRace(
        race_id=f"rac_sim{run_tag}_{index:04d}",
        course_id=meeting.course_id,
        course=meeting.course,
        region=meeting.region,
        surface=meeting.surface,
        off_at=off_at,
        name=f"{meeting.course} {kind}",
        race_type=("Chase" if "Chase" in kind else "Hurdle") if meeting.jumps else "Flat",
        race_class=f"Class {rng.randint(1, 6)}",
        distance_f=distance,
        going="Standard" if meeting.surface == "AW" else rng.choice(GOINGS),
        runners=runners,
    )


def _horse_name(rng: random.Random) -> str:
    first, second = rng.sample(_SYLLABLES, 2)
    return (first + second).title() + rng.choice(_SUFFIXES)


def racecard(race: SimRace, *, event_id: str, at: datetime) -> Racecard:
    """The race's card as published at `at`, non-runners flagged."""
    off = race.off_dt
    return Racecard(
        event_id=event_id,
        source=EventSource.SIMULATOR,
        source_time=at,
        race_id=race.race_id,
        course_id=race.course_id,
        course=race.course,
        region=race.region,
        race_date=off.date(),
        off_dt=off,
        race_name=race.name,
        race_type=race.race_type,
        race_class=race.race_class,
        distance_f=race.distance_f,
        going=race.going,
        surface=race.surface,
        field_size=len(race.live),
        runners=tuple(
            Runner(
                horse_id=r.horse_id,
                horse=r.horse,
                number=r.number,
                draw=r.draw,
                age=r.age,
                weight_lbs=r.weight_lbs,
                jockey_id=r.jockey_id,
                jockey=JOCKEYS[r.jockey_id],
                trainer_id=r.trainer_id,
                trainer=TRAINERS[r.trainer_id],
                owner_id=r.owner_id,
                owner=OWNERS[r.owner_id],
                non_runner=r.non_runner,
            )
            for r in race.runners
        ),
    )
