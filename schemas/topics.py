"""The topic registry: every Kafka topic, its event model, key and retention policy.

Keys are `race_id` for race events so that one race's events share a partition and stay in
order. The race-keyed live topics (`RACE_TOPICS`) share one partition count, `RACE_PARTITIONS`,
so a race has the same partition number on each and one worker owns all of it; the count bounds
how many workers share the live races. "Latest" topics are compacted (a new consumer reads the
current state of every key); history topics are retained by time.
"""

from dataclasses import dataclass
from enum import StrEnum

from schemas.analytics import BookmakerAnalytics, BookmakerPart, RaceAnalytics
from schemas.base import Model
from schemas.deadletter import DeadLetter
from schemas.market import MarketState
from schemas.odds import OddsSnapshot
from schemas.racecards import Racecard
from schemas.reference import Course, Horse, Participant, Region
from schemas.results import Result
from schemas.stats import FetchStats

DAY_MS = 24 * 60 * 60 * 1000
RACE_PARTITIONS = 12
"""Partitions of every race-keyed live topic: up to this many streams workers share the work."""


class Cleanup(StrEnum):
    COMPACT = "compact"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    model: type[Model]
    key: str
    partitions: int
    cleanup: Cleanup
    retention_ms: int | None = None
    description: str = ""

    @property
    def configs(self) -> dict[str, str]:
        """Broker-side topic configs for creating the topic."""
        configs = {"cleanup.policy": self.cleanup.value}
        if self.retention_ms is not None:
            configs["retention.ms"] = str(self.retention_ms)
        return configs


ODDS_LIVE = Topic(
    "racing.odds.live.v1",
    OddsSnapshot,
    key="race_id",
    partitions=RACE_PARTITIONS,
    cleanup=Cleanup.DELETE,
    retention_ms=7 * DAY_MS,
    description="Every live price change, one race x bookmaker per event.",
)
ODDS_HISTORICAL = Topic(
    "racing.odds.historical.v1",
    OddsSnapshot,
    key="race_id",
    partitions=3,
    cleanup=Cleanup.DELETE,
    retention_ms=30 * DAY_MS,
    description="Pre-race prices of past races from the historical backfill.",
)
RACECARDS = Topic(
    "racing.racecards.v1",
    Racecard,
    key="race_id",
    partitions=RACE_PARTITIONS,
    cleanup=Cleanup.COMPACT,
    description="Latest card per race, with runners and non-runners.",
)
MARKET_STATE = Topic(
    "racing.market.state.v1",
    MarketState,
    key="race_id",
    partitions=RACE_PARTITIONS,
    cleanup=Cleanup.COMPACT,
    description="Latest market status per race (open, suspended, off, abandoned, result).",
)
RESULTS = Topic(
    "racing.results.v1",
    Result,
    key="race_id",
    partitions=RACE_PARTITIONS,
    cleanup=Cleanup.COMPACT,
    description="Official result per race.",
)
FETCH_STATS = Topic(
    "racing.fetch.stats.v1",
    FetchStats,
    key="producer",
    partitions=1,
    cleanup=Cleanup.DELETE,
    retention_ms=30 * DAY_MS,
    description="One event per producer polling cycle.",
)
DEAD_LETTERS = Topic(
    "racing.deadletter.v1",
    DeadLetter,
    key="topic",
    partitions=1,
    cleanup=Cleanup.DELETE,
    retention_ms=30 * DAY_MS,
    description="Events a consumer rejected, with the reason.",
)

ANALYTICS_RACES = Topic(
    "racing.analytics.race.v1",
    RaceAnalytics,
    key="race_id",
    partitions=6,
    cleanup=Cleanup.COMPACT,
    description="Latest market analytics per race: runners, books, book %, moves.",
)
ANALYTICS_BOOKMAKERS = Topic(
    "racing.analytics.bookmaker.v1",
    BookmakerAnalytics,
    key="bookmaker_id",
    partitions=1,
    cleanup=Cleanup.COMPACT,
    description="Latest coverage and freshness per bookmaker.",
)
ANALYTICS_BOOKMAKER_PARTS = Topic(
    "racing.analytics.bookmaker.part.v1",
    BookmakerPart,
    key="part_id",
    partitions=1,
    cleanup=Cleanup.COMPACT,
    description="A bookmaker's coverage over one race partition, from the worker that owns it; "
    "the streams add every partition's up into racing.analytics.bookmaker.v1.",
)


def _reference(name: str, model: type[Model], description: str) -> Topic:
    return Topic(
        f"reference.{name}.v1", model, key="id", partitions=1, cleanup=Cleanup.COMPACT,
        description=description,
    )  # fmt: skip


REF_COURSES = _reference("courses", Course, "Latest record per course.")
REF_REGIONS = _reference("regions", Region, "Latest record per region code.")
REF_HORSES = _reference("horses", Horse, "Latest record per horse, with pedigree.")
REF_JOCKEYS = _reference("jockeys", Participant, "Latest record per jockey.")
REF_TRAINERS = _reference("trainers", Participant, "Latest record per trainer.")
REF_OWNERS = _reference("owners", Participant, "Latest record per owner.")
REF_SIRES = _reference("sires", Participant, "Latest record per sire.")
REF_DAMS = _reference("dams", Participant, "Latest record per dam.")
REF_DAMSIRES = _reference("damsires", Participant, "Latest record per damsire.")
REFERENCE_TOPICS: tuple[Topic, ...] = (
    REF_COURSES, REF_REGIONS, REF_HORSES, REF_JOCKEYS, REF_TRAINERS, REF_OWNERS, REF_SIRES,
    REF_DAMS, REF_DAMSIRES,
)  # fmt: skip

ALL_TOPICS: tuple[Topic, ...] = (
    ODDS_LIVE,
    ODDS_HISTORICAL,
    RACECARDS,
    MARKET_STATE,
    RESULTS,
    FETCH_STATS,
    DEAD_LETTERS,
    ANALYTICS_RACES,
    ANALYTICS_BOOKMAKERS,
    ANALYTICS_BOOKMAKER_PARTS,
    *REFERENCE_TOPICS,
)
RACE_TOPICS: tuple[Topic, ...] = (ODDS_LIVE, RACECARDS, MARKET_STATE, RESULTS)
"""Every live event about a race: co-partitioned, consumed together by the race pipeline."""


def topic_named(name: str) -> Topic:
    for topic in ALL_TOPICS:
        if topic.name == name:
            return topic
    raise KeyError(f"unknown topic {name!r}; known: {', '.join(t.name for t in ALL_TOPICS)}")


def race_group(streams_app_id: str) -> str:
    """The Kafka group of the streams' race pipeline (its offsets, mirrored for lag checks)."""
    return f"{streams_app_id}.races"
