"""The Faust agents in `test_context()`: rows, table and analytics, with an in-memory sink."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Sequence
from types import TracebackType
from typing import Any, Self

import pytest

from schemas.odds import OddsSnapshot
from schemas.topics import ANALYTICS_RACES
from streams.app import create_app
from streams.metrics import DEAD_LETTERS
from streams.settings import StreamsSettings
from streams.sink import Rows, UpsertTable
from tests.unit.streams.test_race_market import card, snap


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
        self.batches.append({table.name: list(rows) for table, rows in batches})

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        return [row for batch in self.batches for row in batch.get(table, [])]


def agent_named(app: Any, name: str) -> Any:
    return next(agent for agent in app.agents.values() if agent.name == name)


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


@pytest.fixture
async def app(sink: MemorySink, kafka: MemoryKafka) -> AsyncIterator[Any]:
    settings = StreamsSettings(
        app_id="unit-agents", store="memory://", flush_interval_s=0.01, analytics_interval_s=0
    )
    app = create_app(settings, sinks=lambda: sink, send=kafka.send)
    yield app
    # A stream's first iteration builds the app's Kafka consumer, whose thread owns an event
    # loop; test_context never starts that thread, so nothing else would ever close the loop.
    if app._consumer is not None:
        app._consumer._thread.thread_loop.close()  # type: ignore[attr-defined]
    kafka_producer = getattr(app._producer, "_producer", None)
    if kafka_producer is not None:
        await kafka_producer.stop()


def dead_letters_counted() -> float:
    """Dead letters counted under any topic label (test channels have their own topic names)."""
    (metric,) = DEAD_LETTERS.collect()
    return sum(s.value for s in metric.samples if s.name.endswith("_total"))


def payload(event: OddsSnapshot) -> bytes:
    return event.model_dump_json().encode()


async def test_market_analytics_agent_writes_prices_history_and_analytics(
    app: Any, sink: MemorySink, kafka: MemoryKafka
) -> None:
    agent = agent_named(app, "market-analytics")
    async with agent.test_context() as test_agent:
        await test_agent.put(payload(snap("bet365", 0, {"h1": "3.0", "h2": "2.5"})), key=b"rac_1")
        await test_agent.put(payload(snap("bet365", 5, {"h1": "3.5"})), key=b"rac_1")
        await test_agent.put(payload(snap("bet365", 5, {"h1": "3.5"})), key=b"rac_1")  # dup
    assert len(sink.rows("odds_history")) == 4  # the duplicate's row is deduplicated by key
    latest = {(r[1], r[9].minute): r[4] for r in sink.rows("odds_latest")}
    assert str(latest[("h1", 5)]) == "3.5"
    quotes = {r[1]: r for r in sink.rows("odds_latest")}  # each quote's story beside its price
    assert (str(quotes["h1"][12]), str(quotes["h1"][13]), quotes["h1"][15]) == ("3.0", "3.5", 1)
    races = sink.rows("race_analytics")
    assert races[-1][0] == "rac_1"
    assert races[-1][1] == 2  # two applied snapshots: the duplicate did not bump the revision
    table = next(t for t in app.tables.values() if t.name == "race-markets")
    # The changelog holds the race's header and one record per bookmaker it changed.
    assert {b"rac_1", b"rac_1\x1fbet365"} <= set(table.data)
    assert set(kafka.keys("race-markets-changelog")) == {b"rac_1", b"rac_1\x1fbet365"}
    assert set(kafka.keys(ANALYTICS_RACES.name)) == {b"rac_1"}


async def test_invalid_odds_are_dead_lettered_and_counted(app: Any, sink: MemorySink) -> None:
    before = dead_letters_counted()
    agent = agent_named(app, "market-analytics")
    async with agent.test_context() as test_agent:
        await test_agent.put(b'{"race_id": "rac_1", "prices": []}', key=b"rac_1")
        await test_agent.put(payload(snap("coral", 0, {"h1": "4.0"})), key=b"rac_1")
    assert dead_letters_counted() == before + 1
    assert [r[2] for r in sink.rows("odds_latest")] == ["coral"]


async def test_racecard_agent_writes_reference_rows_and_updates_the_race(
    app: Any, sink: MemorySink
) -> None:
    agent = agent_named(app, "racecards-sink")
    async with agent.test_context() as test_agent:
        await test_agent.put(card({"h2"}).model_dump_json().encode(), key=b"rac_1")
    (race,) = sink.rows("races")
    assert (race[0], race[1], race[3]) == ("rac_1", "crs_1", "GB")
    runners = {r[1]: r for r in sink.rows("runners")}
    assert runners["h2"][10] is True
    assert {r[0] for r in sink.rows("courses")} == {"crs_1"}
    (analytics,) = sink.rows("race_analytics")
    assert analytics[0] == "rac_1"
    non_runners = {r[1]: r[4] for r in sink.rows("runner_analytics")}
    assert non_runners == {"h1": False, "h2": True, "h3": False}
