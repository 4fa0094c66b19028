"""The race pipeline's batches: rows, race headers, offsets and analytics, with an in-memory sink
and producer."""

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, Self
from unittest.mock import ANY

import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord
from prometheus_client import REGISTRY

from market.clock import micros
from schemas.base import encode
from schemas.deadletter import DeadLetter
from schemas.odds import OddsSnapshot
from schemas.topics import ANALYTICS_RACES, ODDS_LIVE, RACECARDS
from streams.analytics import MarketFeeds, create_feeds
from streams.market_store import QUOTES_SQL, RACE_HEADERS_SQL
from streams.race_pipeline import CONSUMER, Batch, Pending, RacePipeline
from streams.settings import StreamsSettings
from streams.sink import Rows, UpsertTable
from tests.unit.streams.test_race_market import T0, card, snapshot


class MemorySink:
    """Records every batch written, in order (stands in for PostgreSQL in unit tests)."""

    def __init__(self) -> None:
        self.batches: list[dict[str, list[tuple[Any, ...]]]] = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def write(self, batches: Sequence[tuple[UpsertTable, Rows]]) -> None:
        batch: dict[str, list[tuple[Any, ...]]] = {}
        for table, rows in batches:  # new and stored quotes are two writes to one table
            batch.setdefault(table.name, []).extend(rows)
        self.batches.append(batch)

    async def fetch(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        return []  # nothing stored before the test

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        return [row for batch in self.batches for row in batch.get(table, [])]


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


class MemoryKafka:
    """Records every record the agents hand to the producer (stands in for Kafka)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes, bytes, int]] = []

    async def send(
        self, topic: str, partition: int, records: list[tuple[bytes, bytes]]
    ) -> Awaitable[None]:
        self.records.extend((topic, key, value, partition) for key, value in records)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def keys(self, topic: str) -> list[bytes]:
        return [key for name, key, _, _ in self.records if name.endswith(topic)]


@pytest.fixture
def kafka() -> MemoryKafka:
    return MemoryKafka()


SETTINGS = StreamsSettings(
    app_id="unit-agents", store="memory://", flush_interval_s=0.01, analytics_interval_s=0
)


@pytest.fixture
def feeds(kafka: MemoryKafka) -> MarketFeeds:
    return create_feeds(SETTINGS, kafka.send)


@pytest.fixture
def letters() -> list[DeadLetter]:
    return []


@pytest.fixture
def pipeline(feeds: MarketFeeds, sink: MemorySink, letters: list[DeadLetter]) -> RacePipeline:
    async def park(letter: DeadLetter) -> None:
        letters.append(letter)

    return RacePipeline(SETTINGS, feeds, sink, park)


def records(
    *values: bytes, partition: int = 0, first: int = 0, topic: str = ODDS_LIVE.name
) -> Batch:
    tp = TopicPartition(topic, partition)
    return {
        tp: [
            ConsumerRecord(tp.topic, partition, first + i, 0, 0, b"rac_1", v, None, 5, len(v), [])
            for i, v in enumerate(values)
        ]
    }


def payload(event: OddsSnapshot) -> bytes:
    return encode(event)


async def test_a_batch_writes_prices_history_analytics_headers_and_offsets_in_one_go(
    pipeline: RacePipeline, sink: MemorySink, kafka: MemoryKafka
) -> None:
    first = payload(snapshot("bet365", 0, {"h1": "3.0", "h2": "2.5"}))
    second = payload(snapshot("bet365", 5, {"h1": "3.5"}))
    await pipeline.handle(records(first, second, second, first, first=40))  # two duplicates
    await pipeline.drain()
    (batch,) = sink.batches
    # A history row per applied event, with its applied prices; each event once, no duplicate.
    history = [(r[2], r[3], orjson.loads(r[6])) for r in batch["odds_history_events"]]
    assert history == [
        # Prices in their canonical text: "3.0" is "3", as PostgreSQL reads it back.
        (micros(T0), "bet365-0", [["h1", "3", None, 3, 5], ["h2", "2.5", None, 3, 5]]),
        (micros(T0 + timedelta(minutes=5)), "bet365-5", [["h1", "3.5", None, 3, 5]]),
    ]
    latest = {r[1]: r for r in batch["odds_latest"]}  # each quote's newest price and story
    assert (latest["h1"][4], latest["h1"][9]) == ("3.5", micros(T0 + timedelta(minutes=5)))
    assert latest["h1"][12:16] == ("3", "3.5", "3", 1)
    assert orjson.loads(latest["h1"][17])[-1][1] == 3.5  # its recent changes, for a restore
    ((race_id, revision, header),) = batch["market_races"]
    assert (race_id, revision) == ("rac_1", 2)  # the duplicates did not bump the revision
    assert orjson.loads(header)["books"]["bet365"] == ["Bet365", ANY, 3]
    assert batch["stream_offsets"] == [("unit-agents.races", ODDS_LIVE.name, 0, 44)]
    assert batch["race_analytics"][-1][:2] == ("rac_1", 2)
    assert set(kafka.keys(ANALYTICS_RACES.name)) == {b"rac_1"}


async def test_a_batch_of_duplicates_only_moves_the_offsets(
    pipeline: RacePipeline, sink: MemorySink
) -> None:
    event = payload(snapshot("bet365", 0, {"h1": "3.0"}))
    await pipeline.handle(records(event))
    await pipeline.handle(records(event, first=1))
    await pipeline.drain()
    assert [len(b["odds_history_events"]) for b in sink.batches] == [1, 0]
    assert sink.batches[1]["stream_offsets"] == [("unit-agents.races", ODDS_LIVE.name, 0, 2)]


async def test_an_idle_poll_catches_up_the_analytics_an_interval_held_back(
    feeds: MarketFeeds, sink: MemorySink
) -> None:
    settings = SETTINGS.model_copy(update={"analytics_interval_s": 3600.0})

    async def park(letter: DeadLetter) -> None:
        raise AssertionError(letter)

    pipeline = RacePipeline(settings, feeds, sink, park)
    await pipeline.handle(records(payload(snapshot("bet365", 0, {"h1": "3.0"}))))
    await pipeline.handle(records(payload(snapshot("bet365", 5, {"h1": "3.5"})), first=1))
    await pipeline.handle({})  # no events: the stream is idle
    await pipeline.drain()
    revisions = [[r[1] for r in b["race_analytics"]] for b in sink.batches]
    assert revisions == [[1], [], [2]]  # held back by the interval, then caught up when idle
    assert await pipeline.handle({}) is None  # nothing left pending


async def test_invalid_odds_are_dead_lettered_before_their_offsets_move(
    pipeline: RacePipeline, sink: MemorySink, letters: list[DeadLetter]
) -> None:
    bad = b'{"race_id": "rac_1", "prices": []}'
    await pipeline.handle(records(bad, payload(snapshot("coral", 0, {"h1": "4.0"})), first=7))
    await pipeline.drain()
    (letter,) = letters
    assert (letter.topic, letter.offset, letter.consumer) == (ODDS_LIVE.name, 7, CONSUMER)
    assert "invalid OddsSnapshot" in letter.reason
    assert [r[2] for r in sink.rows("odds_latest")] == ["coral"]
    assert sink.rows("stream_offsets")[-1][3] == 9


async def test_a_racecard_is_stored_with_its_race_and_updates_the_race(
    sink: MemorySink, pipeline: RacePipeline
) -> None:
    """Cards are applied by the pipeline that owns the race, in the transaction of its offsets."""
    await pipeline.handle(
        records(card({"h2"}).model_dump_json().encode(), topic=RACECARDS.name, first=3)
    )
    await pipeline.drain()
    (race,) = sink.rows("races")
    assert (race[0], race[1], race[3]) == ("rac_1", "crs_1", "GB")
    runners = {r[1]: r for r in sink.rows("runners")}
    assert runners["h2"][10] is True
    assert {r[0] for r in sink.rows("courses")} == {"crs_1"}
    (analytics,) = sink.rows("race_analytics")
    assert analytics[0] == "rac_1"
    non_runners = {r[1]: r[4] for r in sink.rows("runner_analytics")}
    assert non_runners == {"h1": False, "h2": True, "h3": False}
    ((_, _, header),) = sink.rows("market_races")  # the card, stored for a restore
    assert orjson.loads(header)["non_runners"] == ["h2"]
    assert sink.rows("stream_offsets") == [("unit-agents.races", RACECARDS.name, 0, 4)]


class StoringSink(MemorySink):
    """A MemorySink that reads back the race headers and quotes it stored, as PostgreSQL would
    for a revival."""

    async def fetch(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        if query == RACE_HEADERS_SQL:
            headers = {r[0]: r[2] for r in self.rows("market_races")}
            return [(race, bytes(headers[race]).decode()) for race in args[0] if race in headers]
        if query == QUOTES_SQL:  # odds_latest rows in QUOTES_SQL's column order
            quotes = {r[:3]: r for r in self.rows("odds_latest")}
            return [
                (race, book, horse, *r[4:8], *r[12:17], r[9], r[11], r[17])
                for (race, horse, book), r in quotes.items()
                if race in args[0]
            ]
        return []


async def test_a_late_price_for_a_retired_race_revives_it_from_what_was_stored(
    kafka: MemoryKafka, letters: list[DeadLetter]
) -> None:
    settings = SETTINGS.model_copy(update={"retire_after_h": 0.5})
    sink = StoringSink()

    async def park(letter: DeadLetter) -> None:
        letters.append(letter)

    pipeline = RacePipeline(settings, create_feeds(settings, kafka.send), sink, park)
    board = pipeline.feeds.board
    revived = REGISTRY.get_sample_value("darkhorses_stream_races_revived_total") or 0.0
    await pipeline.handle(records(payload(snapshot("bet365", 0, {"h1": "3.0", "h2": "4.0"}))))
    # rac_4 shares rac_1's partition, whose event time retires races (a worker's other
    # partitions do not: their races retire alike whichever worker holds them).
    other = snapshot("bet365", 45, {"h1": "2.0"}).model_copy(update={"race_id": "rac_4"})
    await pipeline.handle(records(payload(other), first=1))
    assert (set(board.races), board.retired) == ({"rac_4"}, {"rac_1"})  # quiet for 45 minutes
    late = payload(snapshot("bet365", 50, {"h1": "2.5"}))
    await pipeline.handle(records(late, payload(other), first=2))
    await pipeline.drain()
    assert set(board.races) == {"rac_1", "rac_4"}
    assert REGISTRY.get_sample_value("darkhorses_stream_races_revived_total") == revived + 1
    assert REGISTRY.get_sample_value("darkhorses_stream_races_held") == 2
    (row,) = [r for r in sink.batches[-1]["odds_latest"] if r[0] == "rac_1"]
    # The quote's story carried on from what was stored: opened at 3.0, one change since.
    assert (row[1], row[4], row[12:16]) == ("h1", "2.5", ("3", "3", "2.5", 1))
    headers = {r[0]: r for r in sink.batches[-1]["market_races"]}
    assert headers["rac_1"][1] == 2
    assert not letters


class RecordingConsumer:
    """Stands in for the pipeline's aiokafka consumer: records the offsets mirrored to Kafka."""

    def __init__(self) -> None:
        self.commits: list[dict[int, int]] = []

    async def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        self.commits.append({tp.partition: meta.offset for tp, meta in offsets.items()})


async def test_a_batch_acknowledged_late_does_not_move_the_kafka_mirror_back(
    pipeline: RacePipeline,
) -> None:
    """Acknowledgements run concurrently: an older batch whose analytics reach Kafka after a newer
    batch's must not commit its (lower) offsets over the newer ones."""
    consumer = RecordingConsumer()
    pipeline.consumer = consumer

    def at(partition: int) -> TopicPartition:
        return TopicPartition(ODDS_LIVE.name, partition)

    older = Pending(None, [], {at(3): 1114, at(4): 10}, [], [], [])  # type: ignore[arg-type]
    newer = Pending(None, [], {at(3): 1140}, [], [], [])  # type: ignore[arg-type]
    await pipeline.acknowledge(newer)
    await pipeline.acknowledge(older)
    assert consumer.commits == [{3: 1140}, {4: 10}]
