"""The race pipeline: every live event about a race (prices, card, market state, result) from
Kafka through the market board into PostgreSQL, exactly once, by whichever worker owns the race.

The race-keyed topics (`RACE_TOPICS`) have one partition count and one key, so a race lives on
the same partition number of each. One consumer group reads them all with Kafka's range
assignor, which gives partition *p* of every topic to the same member: a worker owns whole
races, for any number of workers and across every rebalance. It consumes in batches with its own
aiokafka consumer: Faust hands a stream over one event at a time, which caps it at a few thousand
events a second, a tenth of the odds' peak rate.

Each batch is applied to the board, then ONE transaction writes its prices, cards, states,
results, analytics, the headers of the races it changed and the offsets after its events
(streams/market_store.py), while the next batch is applied (the write runs on PostgreSQL's core,
the maths on ours). PostgreSQL's offsets are the truth: on every partition assignment the
board's races are restored from the database and consumption resumes at the stored offsets, so
nothing is applied twice or skipped whatever the crash. The offsets are also committed to Kafka
after each transaction, for lag monitoring (the `race_group`), off the write path.

A batch PostgreSQL refuses for its content (not a connection problem, which is retried) never
stops the pipeline: `isolate` takes the board back to the stored state and writes the batch's
events again in halves, down to the events refused one by one, which are dead-lettered.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata

from schemas.deadletter import DeadLetter
from schemas.market import MarketState
from schemas.racecards import Racecard
from schemas.topics import DEAD_LETTERS, MARKET_STATE, ODDS_LIVE, RACE_TOPICS, RACECARDS, race_group
from streams.analytics import BatchOutcome, MarketFeeds, OddsBatch
from streams.deadletter import dead_letter, send_dead_letter
from streams.market_store import (
    ANALYSED_SQL,
    HEADERS_SQL,
    OFFSETS_SQL,
    QUOTES_SQL,
    RACE_HEADERS_SQL,
    STREAM_OFFSETS,
    offset_rows,
    parse_headers,
    restore_races,
)
from streams.metrics import EVENTS_CONSUMED, RACES_HELD, RACES_RETIRED, RACES_REVIVED
from streams.partitioning import race_partition
from streams.race_market import RaceMarket
from streams.race_rows import RACE_EVENT_ROWS, InvalidEvent, validate
from streams.settings import StreamsSettings
from streams.sink import BatchSink, Rows, RowsRefused, SinkFactory, UpsertTable

log = logging.getLogger(__name__)

CONSUMER = "race-pipeline"  # as dead letters name it

Record: TypeAlias = ConsumerRecord[bytes, bytes]
Batch = dict[TopicPartition, list[Record]]
# Events applied between two turns of the event loop: the previous batch's write needs the loop
# for each of its statements, so applying a whole batch in one go would leave PostgreSQL idle.
STEP = 50


@dataclass
class Pending:
    """A batch applied to the board, waiting for its transaction."""

    outcome: BatchOutcome
    records: list[Record]
    offsets: dict[TopicPartition, int]  # the next offset of each topic partition
    letters: list[DeadLetter]
    sent: list[Awaitable[Any]]  # its analytics records on their way to Kafka
    rows: list[tuple[UpsertTable, Rows]]  # of its cards, states and results


class RacePipeline:
    def __init__(
        self,
        settings: StreamsSettings,
        feeds: MarketFeeds,
        sink: BatchSink,
        park: Callable[[DeadLetter], Awaitable[None]],
    ) -> None:
        self.settings = settings
        self.feeds = feeds
        self.sink = sink
        self.park = park
        self.consumer_name = race_group(settings.app_id)
        self.writing: asyncio.Task[None] | None = None
        self.written: Pending | None = None  # what `writing` stores
        # While a refused batch is isolated, its rejects are parked once, not at every halving.
        self.parked: set[tuple[str, int, int]] | None = None
        self.follow_ups: set[asyncio.Future[None]] = set()
        self.consumer: AIOKafkaConsumer | None = None
        # A rebalance (aiokafka runs the listener in its own task) waits for the batch in hand.
        self.lock = asyncio.Lock()
        # The offset of the next event to apply per topic partition: a batch fetched before a
        # rebalance may hold events of a partition gone elsewhere, or that the restored state has.
        self.positions: dict[TopicPartition, int] = {}
        # The highest offset mirrored to the Kafka group. Batches are acknowledged concurrently
        # and may finish out of order; an older one must not move the mirror back.
        self.mirrored: dict[TopicPartition, int] = {}

    # -- one batch --------------------------------------------------------------------------

    async def process(self, batch: Batch) -> Pending:
        """Apply a batch (possibly empty: then pending analytics and headers only) and publish
        its analytics; the caller hands the result to `store`. Cards, states and results go
        first, then prices: each topic in its partition's order."""
        settings = self.settings
        records = [record for part in batch.values() for record in part]
        odds_records = [r for r in records if r.topic == ODDS_LIVE.name]
        rows: list[tuple[UpsertTable, Rows]] = []
        letters = [
            dead_letter(record, reason, CONSUMER)
            for record, reason in await self.apply_race_events(records, rows)
        ]
        values = [record.value or b"" for record in odds_records]
        odds = OddsBatch(self.feeds.board)
        for start in range(0, len(values), STEP):
            step = values[start : start + STEP]
            while (done := odds.apply(step)) < len(step):  # an event for a retired race
                await self.revive([odds.retired_race])
                step = step[done:]
            await asyncio.sleep(0)  # the write in flight moves on to its next statement
        # An idle poll (no events) has time to spare: every pending analytics read-out catches up
        # at once, instead of waiting out the interval and the share that bound it under load.
        interval, share = (
            (settings.analytics_interval_s, settings.analytics_share) if records else (0.0, None)
        )
        outcome = odds.finish(time.monotonic(), interval, share)
        for tp, part in batch.items():
            EVENTS_CONSUMED.labels(tp.topic).inc(len(part))
        RACES_HELD.set(len(self.feeds.board.races))
        RACES_RETIRED.set(len(self.feeds.board.retired))
        letters += [dead_letter(odds_records[i], reason, CONSUMER) for i, reason in outcome.rejects]
        offsets = {tp: part[-1].offset + 1 for tp, part in batch.items() if part}
        sent = await self.feeds.publish(outcome.readout)
        return Pending(outcome, records, offsets, letters, sent, rows)

    async def apply_race_events(
        self, records: list[Record], rows: list[tuple[UpsertTable, Rows]]
    ) -> list[tuple[Record, str]]:
        """Apply the cards and market states of `records` to the board and add the rows of
        every card, state and result to `rows`; returns the records rejected, with the reason."""
        board, rejects = self.feeds.board, []
        for record in records:
            topic = record.topic
            if topic == ODDS_LIVE.name:
                continue
            try:
                event = validate(RACE_EVENT_ROWS[topic][0], record.value)
            except InvalidEvent as error:
                rejects.append((record, str(error)))
                continue
            if topic in (RACECARDS.name, MARKET_STATE.name):
                if event.race_id in board.retired:
                    await self.revive([event.race_id])
                if isinstance(event, Racecard):
                    board.apply_card(event)
                elif isinstance(event, MarketState):
                    board.apply_status(event)
            rows.extend(RACE_EVENT_ROWS[topic][1](event))
        return rejects

    async def store(self, pending: Pending) -> None:
        """The batch's transaction: then its events count as done."""
        for letter in pending.letters:  # parked before their offsets move past them
            if self.parked is not None:
                key = (letter.topic, letter.partition, letter.offset)
                if key in self.parked:
                    continue
                self.parked.add(key)
            await self.park(letter)
        by_topic: dict[str, dict[int, int]] = {}
        for tp, offset in pending.offsets.items():
            by_topic.setdefault(tp.topic, {})[tp.partition] = offset
        writes = [
            *pending.rows,
            *pending.outcome.writes,
            *(
                (STREAM_OFFSETS, offset_rows(self.consumer_name, topic, offsets))
                for topic, offsets in by_topic.items()
            ),
        ]
        await self.sink.write(writes)
        self.after(self.acknowledge(pending))

    async def acknowledge(self, pending: Pending) -> None:
        """Off the write path: the batch's analytics reach Kafka, and its offsets are mirrored
        to the Kafka group (for lag monitoring; PostgreSQL holds the truth)."""
        await asyncio.gather(*pending.sent)
        await self.mirror(pending.offsets)

    async def mirror(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit stored offsets to the Kafka group, never moving one back."""
        newer = {tp: o for tp, o in offsets.items() if o > self.mirrored.get(tp, -1)}
        if self.consumer is not None and newer:
            self.mirrored.update(newer)
            commits = {tp: OffsetAndMetadata(o, "") for tp, o in newer.items()}
            try:
                await self.consumer.commit(commits)
            except KafkaError as error:  # a rebalance: the next batch's commit catches up
                log.info("race offsets not mirrored to Kafka: %s", error)

    def after(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self.follow_ups.add(task)
        task.add_done_callback(self.follow_ups.discard)

    def idle(self) -> bool:
        """Nothing to read out, store or retire: a poll without events can be skipped."""
        board = self.feeds.board
        return not (
            board.changed or board.dirty_races or board.dirty_books or board.retire_deferred
        )

    def unapplied(self, batch: Batch) -> Batch:
        """The events of `batch` on partitions this worker holds that are not applied yet."""
        fresh: Batch = {}
        for tp, records in batch.items():
            position = self.positions.get(tp)
            if position is None:
                continue
            if records and records[0].offset < position:
                records = [r for r in records if r.offset >= position]
            if records:
                fresh[tp] = records
                self.positions[tp] = records[-1].offset + 1
        return fresh

    async def handle(self, batch: Batch) -> Pending | None:
        """Apply `batch` and start its write once the previous one is done (writes stay in
        order); returns what was started, or None when there was nothing to do."""
        if not batch and self.idle():
            return None
        failed = self.written
        try:
            pending = await self.process(batch)  # may wait for the write in flight (a revival)
            await self.drain()
        except RowsRefused as refused:
            assert failed is not None  # noqa: S101  # only a write in flight can be refused
            records = [record for part in batch.values() for record in part]
            await self.isolate([*failed.records, *records], refused)
            return None
        self.written = pending
        self.writing = asyncio.create_task(self.store(pending))
        return pending

    async def drain(self) -> None:
        """Until the write in flight is committed."""
        if self.writing is not None:
            writing, self.writing = self.writing, None
            await writing

    async def settle(self) -> None:
        """Until every write and its follow-ups are done (before partitions move or on stop). A
        write refused there is left to the partitions' next owner, which reads on from the
        stored offsets and isolates it."""
        try:
            await self.drain()
        except RowsRefused as refused:
            log.warning("batch refused while partitions move: %s", refused)
        await asyncio.gather(*self.follow_ups)

    # -- poison ------------------------------------------------------------------------------

    async def isolate(self, records: list[Record], refused: RowsRefused) -> None:
        """PostgreSQL refused a batch's rows (the first of `records`, the rest applied after
        it, whole or in part): go back to the stored state, then write their events again,
        halving the refused parts until the events it refuses are found. Those are
        dead-lettered; all the others are stored."""
        self.written = self.writing = None
        log.warning("%d events refused by PostgreSQL (%s); isolating", len(records), refused)
        await self.rewind()
        self.parked = set()
        try:
            await self.write_halving(records)
        finally:
            self.parked = None

    async def rewind(self) -> None:
        """The board and positions of every held partition back to what PostgreSQL stores."""
        await asyncio.gather(*self.follow_ups)
        assigned = set(self.positions)
        self.forget({tp.partition for tp in assigned})
        offsets = await self.restore({tp.partition for tp in assigned})
        for tp in assigned:
            self.positions[tp] = offsets.get(tp, 0)

    async def write_halving(self, records: list[Record]) -> None:
        batch: Batch = {}
        for record in records:
            batch.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
        fresh = self.unapplied(batch)
        if not fresh:
            return
        pending = await self.process(fresh)
        try:
            await self.store(pending)
        except RowsRefused as refused:
            await self.rewind()
            if len(pending.records) > 1:
                half = len(pending.records) // 2
                await self.write_halving(pending.records[:half])
                await self.write_halving(pending.records[half:])
                return
            record = pending.records[0]
            await self.park(dead_letter(record, f"refused by PostgreSQL: {refused}", CONSUMER))
            past = {record.partition: record.offset + 1}
            await self.sink.write(
                [(STREAM_OFFSETS, offset_rows(self.consumer_name, record.topic, past))]
            )
            tp = TopicPartition(record.topic, record.partition)
            self.positions[tp] = record.offset + 1
            self.after(self.mirror({tp: record.offset + 1}))

    # -- partitions -------------------------------------------------------------------------

    async def revive(self, race_ids: list[str]) -> None:
        """Bring retired races back onto the board from PostgreSQL, once the write in flight is
        committed (their stored state is then whole). The caller holds the lock."""
        await self.drain()
        headers = parse_headers(await self.sink.fetch(RACE_HEADERS_SQL, race_ids))
        if len(headers) != len(race_ids):
            raise RuntimeError(f"retired races missing from market_races: {race_ids}")
        for race in restore_races(headers, await self.sink.fetch(QUOTES_SQL, race_ids)):
            self.feeds.board.adopt(race)
        RACES_REVIVED.inc(len(race_ids))
        log.info("revived %s from PostgreSQL", ", ".join(race_ids))

    async def restore(self, partitions: set[int]) -> dict[TopicPartition, int]:
        """Restore the races of `partitions` from PostgreSQL onto the board, but for those the
        board would have retired; returns the stored next offset of each of their topic
        partitions (absent: never consumed, start at the beginning)."""
        board = self.feeds.board
        headers = parse_headers(
            (race_id, header)
            for race_id, header in await self.sink.fetch(HEADERS_SQL)
            if race_partition(race_id) in partitions
        )
        retired = await self.retired(headers)
        held = [(race_id, header) for race_id, header in headers if race_id not in retired]
        race_ids = [race_id for race_id, _ in held]
        quotes = await self.sink.fetch(QUOTES_SQL, race_ids) if race_ids else []
        for race in restore_races(held, quotes):
            board.adopt(race)
        log.info(
            "market board recovered %d races from PostgreSQL (%d more retired there)",
            len(race_ids),
            len(retired),
        )
        offsets: dict[TopicPartition, int] = {}
        for topic in RACE_TOPICS:
            stored = await self.sink.fetch(OFFSETS_SQL, self.consumer_name, topic.name)
            offsets.update(
                (TopicPartition(topic.name, p), offset) for p, offset in stored if p in partitions
            )
        return offsets

    async def retired(self, headers: list[tuple[str, dict[str, Any]]]) -> set[str]:
        """The races of `headers` to leave in PostgreSQL, as the board retires them: quiet for
        its horizon behind the newest event of their partition, and analysed (analytics as new
        as the state). Their books' coverage is read out again (it counts the races held)."""
        board = self.feeds.board
        if board.retire_after_us is None or not headers:
            return set()
        facts = dict(headers)
        for race_id, fact in facts.items():
            board.see(race_id, fact["latest"])
        quiet = [
            r
            for r, fact in facts.items()
            if RaceMarket.stored_last_activity(fact) < board.horizon(r)
        ]
        analysed = dict(await self.sink.fetch(ANALYSED_SQL, quiet)) if quiet else {}
        retired = {r for r in quiet if analysed.get(r, -1) >= facts[r]["revision"]}
        for race_id in retired:
            for book, (name, _, _) in facts[race_id]["books"].items():
                board.bookmaker_names.setdefault(book, name)
                board.dirty_books.add(book)
        board.retired |= retired
        return retired

    def forget(self, partitions: set[int]) -> None:
        """Drop the races and positions of partitions another worker now owns (restored again if
        they return)."""
        self.feeds.board.forget_partitions(partitions)
        for tp in [tp for tp in self.positions if tp.partition in partitions]:
            del self.positions[tp]
            self.mirrored.pop(tp, None)

    # -- the consumer -----------------------------------------------------------------------

    async def run(self) -> None:
        settings = self.settings
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=self.consumer_name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_bytes=16 * 1024 * 1024,
            session_timeout_ms=int(settings.session_timeout_s * 1000),
            heartbeat_interval_ms=int(settings.heartbeat_interval_s * 1000),
            group_instance_id=settings.instance_id,
            # Partition p of every race topic to the same member: a worker owns whole races.
            partition_assignment_strategy=(RangePartitionAssignor,),
        )
        consumer.subscribe([t.name for t in RACE_TOPICS], listener=_Rebalance(self, consumer))
        await consumer.start()
        self.consumer = consumer
        timeout_ms = int(settings.flush_interval_s * 1000)
        try:
            while True:
                batch = await consumer.getmany(
                    timeout_ms=timeout_ms, max_records=settings.batch_events
                )
                async with self.lock:
                    await self.handle(self.unapplied(batch))
        finally:
            await self.settle()
            await consumer.stop()


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # untyped aiokafka base
    def __init__(self, pipeline: RacePipeline, consumer: AIOKafkaConsumer) -> None:
        self.pipeline = pipeline
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        pipeline = self.pipeline
        async with pipeline.lock:
            await pipeline.settle()
            pipeline.forget({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        pipeline = self.pipeline
        partitions = {tp.partition for tp in assigned}
        whole = len(RACE_TOPICS)
        if split := [p for p in partitions if sum(tp.partition == p for tp in assigned) < whole]:
            # The range assignor never does this while the race topics are co-partitioned.
            raise RuntimeError(f"partitions {split} assigned without all of {RACE_TOPICS}")
        async with pipeline.lock:
            offsets = await pipeline.restore(partitions)
            for tp in assigned:
                if tp in offsets:
                    self.consumer.seek(tp, offsets[tp])
                else:
                    await self.consumer.seek_to_beginning(tp)
                pipeline.positions[tp] = offsets.get(tp, 0)


def register(app: Any, settings: StreamsSettings, feeds: MarketFeeds, sinks: SinkFactory) -> None:
    dead_letters = app.topic(DEAD_LETTERS.name, key_serializer="raw", value_serializer="raw")

    async def park(letter: DeadLetter) -> None:
        await send_dead_letter(dead_letters, letter)

    @app.task
    async def race_pipeline() -> None:
        async with sinks() as sink:
            await RacePipeline(settings, feeds, sink, park).run()
