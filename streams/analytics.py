"""Live market analytics: the market board of the race pipeline (streams/race_pipeline.py), the
analytics topics it publishes to, and `apply_batch`, the pure step from a batch of raw odds
events to the rows, analytics and race headers to store."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import faust
import orjson

from market.clock import US
from schemas.topics import ANALYTICS_BOOKMAKER_PARTS, ANALYTICS_RACES, ODDS_LIVE
from streams.analytics_rows import readout_rows
from streams.market_board import MarketBoard, RaceRetired, Readout
from streams.market_store import MARKET_RACES, header_rows
from streams.metrics import STALE_EVENTS
from streams.odds import NEW_QUOTES, ODDS_HISTORY, STORED_QUOTES, PriceRows
from streams.odds_decode import InvalidOdds, decode_odds
from streams.partitioning import key_partition
from streams.settings import StreamsSettings
from streams.sink import Rows, UpsertTable

log = logging.getLogger(__name__)


Records = list[tuple[bytes, bytes]]  # (key, value)
Send = Callable[[str, int, Records], Awaitable[Awaitable[Any]]]
"""Hand one topic partition's records to the producer; await the result to know they are on
Kafka."""


def producer_send(app: faust.App) -> Send:
    """Record batches straight into the worker's Kafka producer: a batch's read-out is thousands
    of records, and Faust's per-record paths (its `send_soon` buffer hands them over one at a
    time and stalls past 100) cost more than the analytics."""

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
    """The board and the analytics topics it publishes to."""

    board: MarketBoard
    send: Send

    async def publish(self, readout: Readout) -> list[Awaitable[Any]]:
        """Publish the analytics read out: each race's, and each bookmaker's part per partition
        (added up by streams/bookmakers.py). Returns the sends in flight (the caller awaits them
        before its events count as done)."""
        outbox: dict[tuple[str, int], Records] = {}
        for race in readout.races:
            key = race["race_id"].encode()
            place = (ANALYTICS_RACES.name, key_partition(key, ANALYTICS_RACES.partitions))
            outbox.setdefault(place, []).append((key, orjson.dumps(race)))
        for part in readout.bookmakers:
            key = part["part_id"].encode()
            place = (ANALYTICS_BOOKMAKER_PARTS.name, 0)
            outbox.setdefault(place, []).append((key, orjson.dumps(part)))
        return [await self.send(topic, part, records) for (topic, part), records in outbox.items()]


@dataclass
class BatchOutcome:
    writes: list[tuple[UpsertTable, Rows]]
    readout: Readout
    rejects: list[tuple[int, str]]  # (index in the batch, reason)


class OddsBatch:
    """One batch of raw odds payloads applied to the board, in as many steps as the caller likes
    (the pipeline yields to its writes between steps), then read out as the rows to write
    (prices, analytics and the headers of the races changed) and the rejects."""

    def __init__(self, board: MarketBoard) -> None:
        self.board = board
        self.prices = PriceRows()
        self.rejects: list[tuple[int, str]] = []  # (index in the batch, reason)
        self.count = 0
        self.retired_race = ""

    def apply(self, values: list[bytes]) -> int:
        """Apply `values` in order; returns how many, fewer when one is for a retired race
        (`retired_race`: the caller revives it, then applies the rest)."""
        board, prices = self.board, self.prices
        for index, value in enumerate(values):
            try:
                snapshot = decode_odds(value)
            except InvalidOdds as error:
                self.rejects.append((self.count + index, f"invalid OddsSnapshot: {error}"))
                continue
            try:
                applied = board.apply_odds(snapshot, prices)
            except RaceRetired as error:
                self.retired_race = error.race_id
                self.count += index
                return index
            if not applied:
                STALE_EVENTS.labels(ODDS_LIVE.name).inc()
        self.count += len(values)
        return len(values)

    def finish(
        self, clock: float | None = None, interval: float = 0.0, share: float | None = None
    ) -> BatchOutcome:
        readout = self.board.readout(clock, interval, share)
        new, stored = self.prices.latest()
        writes: list[tuple[UpsertTable, Rows]] = [
            (NEW_QUOTES, new),
            (STORED_QUOTES, stored),
            (ODDS_HISTORY, self.prices.history),
            *readout_rows(readout),
            (MARKET_RACES, header_rows(self.board, readout.changed)),
        ]
        return BatchOutcome(writes, readout, self.rejects)


def apply_batch(
    board: MarketBoard,
    values: list[bytes],
    clock: float | None = None,
    interval: float = 0.0,
    share: float | None = None,
) -> BatchOutcome:
    """A whole `OddsBatch` in one step (pure apart from the board, so tests drive it without
    Kafka); the board must hold every race of `values`."""
    batch = OddsBatch(board)
    if (done := batch.apply(values)) < len(values):
        board.apply_odds(decode_odds(values[done]))  # raises RaceRetired
    return batch.finish(clock, interval, share)


def create_feeds(settings: StreamsSettings, send: Send) -> MarketFeeds:
    board = MarketBoard(settings.analytics_params, round(settings.retire_after_h * 3600 * US))
    return MarketFeeds(board=board, send=send)
