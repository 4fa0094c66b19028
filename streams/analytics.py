"""Live market analytics: the `market-analytics` agent and the `race-markets` table.

Per batch of odds events (`take_events`): every valid snapshot is applied to its race's market
(idempotent per runner x bookmaker); each changed race is written once to the changelog table and
the analytics due are published; then ONE PostgreSQL transaction writes the batch's latest
prices, price history and analytics, while the agent already applies the next batch (the write
runs on PostgreSQL's core, the maths on ours). A batch's events are released for commit only
after its transaction commits, and Faust flushes the producer (changelog, analytics) before it
commits offsets; so after a crash the worst case is a replayed batch, and every write is
idempotent.

Racecards and market states feed the same board (non-runners, the off, status) through
`MarketFeeds`, which the reference agents call.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import faust
import orjson
from aiokafka.partitioner import murmur2
from pydantic import ValidationError

from schemas.odds import OddsSnapshot
from schemas.topics import ANALYTICS_BOOKMAKERS, ANALYTICS_RACES, DEAD_LETTERS, ODDS_LIVE
from streams.analytics_rows import ODDS_HISTORY, history_rows, readout_rows
from streams.deadletter import dead_letter_for, send_dead_letter
from streams.market_board import MarketBoard, Readout
from streams.metrics import EVENTS_CONSUMED, STALE_EVENTS
from streams.odds import ODDS_LATEST, Newest, keep_newest, latest_rows
from streams.race_market import RaceMarket
from streams.settings import StreamsSettings
from streams.sink import BatchSink, Rows, SinkFactory, UpsertTable

log = logging.getLogger(__name__)

CONSUMER = "market-analytics"
BOOK_KEY_SEPARATOR = "\x1f"  # changelog keys: race id, or race id + separator + bookmaker id


def key_partition(key: bytes, partitions: int) -> int:
    """The partition of a key under Kafka's default (murmur2) partitioner."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


def race_partition(race_id: str) -> int:
    """The odds topic partition of a race."""
    return key_partition(race_id.encode(), ODDS_LIVE.partitions)


Records = list[tuple[bytes, bytes]]  # (key, value)
Send = Callable[[str, int, Records], Awaitable[Awaitable[Any]]]
"""Hand one topic partition's records to the producer; await the result to know they are on
Kafka."""


def producer_send(app: faust.App) -> Send:
    """Record batches straight into the Kafka producer: a stream batch changes thousands of
    records, and Faust's per-record paths (its `send_soon` buffer hands them over one at a time
    and stalls the stream past 100) cost more than the analytics."""

    async def send(topic: str, partition: int, records: Records) -> Awaitable[Any]:
        producer = app.producer._ensure_producer()  # type: ignore[attr-defined]  # aiokafka's
        sent = []
        batch = producer.create_batch()
        for key, value in records:
            if batch.append(key=key, value=value, timestamp=None) is None:  # full: ship it
                sent.append(await producer.send_batch(batch, topic, partition=partition))
                batch = producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None) is None:
                    raise ValueError(f"a {len(value)}-byte record exceeds a {topic} batch")
        sent.append(await producer.send_batch(batch, topic, partition=partition))
        return asyncio.gather(*sent)

    return send


@dataclass
class MarketFeeds:
    """The board, its changelog table and the analytics topics, shared by the agents."""

    board: MarketBoard
    table: Any
    send: Send
    changelog_topic: str
    sink: BatchSink | None = None  # the analytics agent's, once it runs
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def load_table(self) -> None:
        """Adopt every race the changelog recovered (Faust calls this after each recovery)."""
        headers: dict[str, dict[str, Any]] = {}
        books: dict[str, list[dict[str, Any]]] = {}
        for key, value in self.table.data.items():
            if value is None:
                continue
            race_id, _, book = key.decode().partition(BOOK_KEY_SEPARATOR)
            if book:
                books.setdefault(race_id, []).append(orjson.loads(value))
            else:
                headers[race_id] = orjson.loads(value)
        for race_id in headers.keys() | books.keys():
            self.board.adopt(
                RaceMarket.load_parts(race_id, headers.get(race_id), books.get(race_id, []))
            )
        log.info("market board recovered %d races", len(self.board.races))

    def load_race(self, race_id: str) -> RaceMarket | None:
        header = self.table.data.get(race_id.encode())
        if header is None:  # every persisted race has a header: nothing to scan for
            return None
        prefix = (race_id + BOOK_KEY_SEPARATOR).encode()
        books = [orjson.loads(v) for k, v in self.table.data.items() if k.startswith(prefix) and v]
        return RaceMarket.load_parts(race_id, orjson.loads(header), books)

    async def publish_and_wait(self, readout: Readout) -> None:
        """`publish`, returning once every record is on Kafka (read-outs outside the odds agent,
        which has no source partitions to keep)."""
        await asyncio.gather(*await self.publish(readout, {}))

    async def publish(self, readout: Readout, partitions: dict[str, int]) -> list[Awaitable[Any]]:
        """Persist the changed races to the changelog and publish the analytics read out.

        Returns the sends in flight: the caller awaits them before its events count as done.
        A race is persisted as a header record plus one record per bookmaker, and a batch
        rewrites only what it changed."""
        board = self.board
        outbox: dict[tuple[str, int], Records] = {}

        def persist(race_id: str, key: bytes, value: dict[str, Any]) -> None:
            payload = orjson.dumps(value)
            self.table.data[key] = payload
            partition = partitions.get(race_id)
            if partition is None:
                partition = race_partition(race_id)
            outbox.setdefault((self.changelog_topic, partition), []).append((key, payload))

        for race_id in readout.changed:
            persist(race_id, race_id.encode(), board.races[race_id].dump_header())
        for race_id, book in readout.changed_books:
            key = f"{race_id}{BOOK_KEY_SEPARATOR}{book}".encode()
            persist(race_id, key, board.races[race_id].dump_book(book))
        for topic, id_field, items in (
            (ANALYTICS_RACES, "race_id", readout.races),
            (ANALYTICS_BOOKMAKERS, "bookmaker_id", readout.bookmakers),
        ):
            for item in items:
                key = item[id_field].encode()
                place = (topic.name, key_partition(key, topic.partitions))
                outbox.setdefault(place, []).append((key, orjson.dumps(item)))
        return [await self.send(topic, part, records) for (topic, part), records in outbox.items()]


def create_feeds(app: faust.App, settings: StreamsSettings, send: Send) -> MarketFeeds:
    table: Any = app.Table(
        "race-markets",
        default=None,
        partitions=ODDS_LIVE.partitions,
        key_type=bytes,
        value_type=bytes,
    )
    feeds = MarketFeeds(
        board=MarketBoard(settings.analytics_params),
        table=table,
        send=send,
        changelog_topic=table.changelog_topic.get_topic_name(),
    )
    feeds.board.loader = feeds.load_race

    @table.on_recover
    async def adopt_recovered_races() -> None:
        feeds.load_table()

    return feeds


@dataclass
class BatchOutcome:
    writes: list[tuple[UpsertTable, Rows]]
    readout: Readout
    rejects: list[tuple[int, str]]  # (index in the batch, reason)


def apply_batch(
    board: MarketBoard,
    values: list[bytes],
    clock: float | None = None,
    interval: float = 0.0,
    share: float | None = None,
) -> BatchOutcome:
    """Apply a batch of raw odds payloads: the rows to write, the analytics and the rejects.
    Pure apart from the board, so tests drive it without Faust."""
    newest: Newest = {}
    history: list[tuple[Any, ...]] = []
    rejects: list[tuple[int, str]] = []
    for index, value in enumerate(values):
        try:
            snapshot = OddsSnapshot.model_validate_json(value)
        except ValidationError as error:
            rejects.append((index, f"invalid OddsSnapshot: {error}"))
            continue
        if not board.apply_odds(snapshot):
            STALE_EVENTS.labels(ODDS_LIVE.name).inc()
        keep_newest(newest, snapshot)
        history.extend(history_rows(snapshot))
    readout = board.readout(clock, interval, share)
    writes: list[tuple[UpsertTable, Rows]] = [
        (ODDS_LATEST, latest_rows(newest, board)),
        (ODDS_HISTORY, history),
        *readout_rows(readout),
    ]
    return BatchOutcome(writes, readout, rejects)


def register(
    app: faust.App, settings: StreamsSettings, feeds: MarketFeeds, sinks: SinkFactory
) -> Callable[..., Any]:
    odds_topic = app.topic(ODDS_LIVE.name, key_serializer="raw", value_serializer="raw")
    dead_letter_topic = app.topic(DEAD_LETTERS.name, key_serializer="raw", value_serializer="raw")

    @app.timer(interval=settings.analytics_interval_s)
    async def flush_pending_analytics() -> None:
        """Analytics deferred by the per-race interval, written once they fall due."""
        if feeds.sink is None or not (feeds.board.dirty_races or feeds.board.dirty_books):
            return
        readout = feeds.board.readout(
            time.monotonic(), settings.analytics_interval_s, settings.analytics_share
        )
        async with feeds.write_lock:
            await feeds.sink.write(readout_rows(readout))
        await feeds.publish_and_wait(readout)

    @app.agent(odds_topic, name=CONSUMER)
    async def market_analytics(stream: Any) -> None:
        async with sinks() as sink:
            feeds.sink = sink
            writing: asyncio.Task[None] | None = None
            try:
                async for events in stream.take_events(
                    settings.batch_events, settings.flush_interval_s
                ):
                    # Hold every event until its rows are committed: take_events acks the batch
                    # when this body ends, which only drops this extra reference.
                    for event in events:
                        event.message.incref()
                    outcome = apply_batch(
                        feeds.board,
                        [e.value for e in events],
                        time.monotonic(),
                        settings.analytics_interval_s,
                        settings.analytics_share,
                    )
                    sent = await feeds.publish(outcome.readout, source_partitions(events))
                    if writing is not None:
                        await writing  # one write in flight: writes stay in batch order
                    writing = asyncio.create_task(commit_batch(sink, stream, events, outcome, sent))
            finally:
                if writing is not None:
                    await writing

    async def commit_batch(
        sink: BatchSink,
        stream: Any,
        events: list[Any],
        outcome: BatchOutcome,
        sent: list[Awaitable[Any]],
    ) -> None:
        """Write a batch (while the agent applies the next), then release its events once both
        its rows and its changelog records are stored."""
        EVENTS_CONSUMED.labels(ODDS_LIVE.name).inc(len(events))
        async with feeds.write_lock:
            await sink.write(outcome.writes)
        await asyncio.gather(*sent)
        for index, reason in outcome.rejects:
            letter = dead_letter_for(events[index], reason, CONSUMER)
            await send_dead_letter(dead_letter_topic, letter)
        for event in events:
            await stream.ack(event)

    return market_analytics


def source_partitions(events: list[Any]) -> dict[str, int]:
    """race_id -> partition of the odds topic it came from (its changelog partition)."""
    partitions = {}
    for event in events:
        key = event.message.key
        if isinstance(key, bytes):
            partitions[key.decode("utf-8", "replace")] = event.message.partition
    return partitions
