"""Reading the log back: resume catch-up and replay, in the live frame format.

Both read racing.odds.live.v1 and racing.market.state.v1 from the hub's start offsets into a
private book (so `seq`, `prev_seq`, best prices and analytics are exactly what the hub computed
at the time), silently up to the point the client needs, then emit deltas from there:
- resume: from the token's offsets up to the hub's positions when the client came back;
- replay: from a source time up to a source time (or the end of the log), paced by `speed`.
Readers are transient Kafka consumers, bounded by a semaphore (`history_readers`).
"""

import asyncio
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from api.live.book import BookStore, RaceBook
from api.live.errors import ErrorCode, LiveError
from api.live.views import Rendered, View, render_delta, render_market, render_snapshot
from schemas.market import MarketState
from schemas.odds import OddsSnapshot
from schemas.racecards import Racecard

Token = Callable[[list[int]], str]


@dataclass(slots=True)
class Emitted:
    kind: str  # delta | market | snapshot
    race_id: str
    rendered: Rendered


@dataclass(frozen=True, slots=True)
class Window:
    """What to emit: records at or past `offsets`, or with source time in [`start`, `end`]."""

    offsets: tuple[int, ...] | None = None
    start: datetime | None = None
    end: datetime | None = None


class HistoryReader:
    def __init__(
        self,
        bootstrap_servers: str,
        partitions: list[TopicPartition],
        odds_topic: str,
        cards: Callable[[str], Racecard | None],
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.partitions = partitions
        self.odds_topic = odds_topic
        self.cards = cards

    async def window_available(self, start: list[int]) -> bool:
        """False once retention has deleted records the private book would need."""
        first = await self._offsets("beginning")
        return all(first[i] <= start[i] for i in range(len(self.partitions)))

    async def end_offsets(self) -> list[int]:
        """The end of the log now: a replay runs to here, not to where the hub has read."""
        return await self._offsets("end")

    async def _offsets(self, which: Literal["beginning", "end"]) -> list[int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers, group_id=None)
        await consumer.start()
        try:
            ask = consumer.beginning_offsets if which == "beginning" else consumer.end_offsets
            found = await ask(self.partitions)
        finally:
            await consumer.stop()
        return [found[tp] for tp in self.partitions]

    async def read(
        self,
        start: list[int],
        until: list[int],
        window: Window,
        matches: Callable[[RaceBook], bool],
        view: View,
        token: Token | None,
        speed: float = 0.0,
    ) -> AsyncGenerator[Emitted, None]:
        store = BookStore()
        progress = list(window.offsets) if window.offsets is not None else list(start)
        todo = {i for i, tp in enumerate(self.partitions) if start[i] < until[i]}
        # A replay images each race just before its first event in the window (partitions
        # interleave, so one moment for all races would leave some half-applied); races with
        # no event in the window are imaged at the end.
        imaged: set[str] | None = None if window.offsets is not None else set()
        last_time: datetime | None = None
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="none",
        )
        await consumer.start()
        try:
            consumer.assign([self.partitions[i] for i in todo])
            for i in todo:
                consumer.seek(self.partitions[i], start[i])
            index = {tp: i for i, tp in enumerate(self.partitions)}
            while todo:
                batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
                # Partition order is all that matters: one race lives on one partition.
                for record in [r for recs in batches.values() for r in recs]:
                    i = index[TopicPartition(record.topic, record.partition)]
                    if i not in todo or record.offset >= until[i]:
                        continue
                    if record.offset + 1 >= until[i]:
                        todo.discard(i)
                        consumer.pause(self.partitions[i])
                    event = self._decode(record.topic, record.value)
                    if event is None:
                        continue
                    if window.offsets is not None:
                        emit = record.offset >= window.offsets[i]
                    else:
                        if window.end is not None and event.source_time > window.end:
                            todo.discard(i)
                            consumer.pause(self.partitions[i])
                            continue
                        emit = window.start is not None and event.source_time >= window.start
                    if emit and imaged is not None and event.race_id not in imaged:
                        imaged.add(event.race_id)
                        race = store.races.get(event.race_id)
                        if race is not None and matches(race):
                            image = render_snapshot(race, view, "replay", None)
                            yield Emitted("snapshot", race.race_id, image)
                    book, prev = self._apply(store, event, record.offset)
                    if not emit or not matches(book):
                        continue
                    if speed and last_time is not None:
                        gap = (event.source_time - last_time).total_seconds() / speed
                        if gap > 0:
                            await asyncio.sleep(min(gap, 60))
                    last_time = event.source_time
                    if window.offsets is not None:
                        progress[i] = record.offset + 1
                    made = token(progress) if token is not None else None
                    if isinstance(event, OddsSnapshot):
                        yield Emitted(
                            "delta", book.race_id, render_delta(book, event, prev, made, view)
                        )
                    else:
                        yield Emitted("market", book.race_id, render_market(book, made))
            if imaged is not None:
                for emitted in self._images(store, matches, view, imaged):
                    yield emitted
        finally:
            await consumer.stop()

    def _images(
        self, store: BookStore, matches: Callable[[RaceBook], bool], view: View, done: set[str]
    ) -> list[Emitted]:
        return [
            Emitted("snapshot", race.race_id, render_snapshot(race, view, "replay", None))
            for race in store.races.values()
            if race.race_id not in done and matches(race)
        ]

    def _decode(self, topic: str, payload: bytes | None) -> OddsSnapshot | MarketState | None:
        if payload is None:
            return None
        try:
            if topic == self.odds_topic:
                return OddsSnapshot.model_validate_json(payload)
            return MarketState.model_validate_json(payload)
        except ValidationError:
            return None  # the hub counted and logged it already

    def _apply(
        self, store: BookStore, event: OddsSnapshot | MarketState, offset: int
    ) -> tuple[RaceBook, int]:
        if isinstance(event, OddsSnapshot):
            book, prev = store.apply_odds(event, offset, 0.0)
        else:
            book, prev = store.apply_market(event), -2
        if book.card is None:
            book.card = self.cards(book.race_id)
        return book, prev


def unavailable(reason: str) -> LiveError:
    return LiveError(reason, code=ErrorCode.HISTORY_UNAVAILABLE, retry_after_ms=5_000)
