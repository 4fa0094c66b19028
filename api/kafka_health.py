"""Stream health from Kafka itself: the streams worker's lag per partition and topic rates.

One admin client and one group-less consumer per API process, opened in the lifespan; readings
are cached briefly so a busy dashboard does not turn into a load on the broker.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas.topics import RACE_TOPICS, Topic

CACHE_S = 2.0


@dataclass(frozen=True, slots=True)
class PartitionLag:
    topic: str
    partition: int
    end_offset: int
    committed: int | None
    lag: int | None


@dataclass(frozen=True, slots=True)
class KafkaReading:
    taken_at: float
    partitions: tuple[PartitionLag, ...]
    events_per_s: float | None


class KafkaHealth:
    def __init__(self, bootstrap_servers: str, group_id: str, topics: tuple[Topic, ...]) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.group_id = group_id
        self.topics = topics
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._last: KafkaReading | None = None
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator["KafkaHealth"]:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers, group_id=None, enable_auto_commit=False
        )
        try:
            # Kafka may still be starting; readings report errors instead of blocking start-up.
            with contextlib.suppress(Exception):
                await self._admin.start()
                await self._consumer.start()
            yield self
        finally:
            await self._consumer.stop()
            await self._admin.close()

    async def reading(self) -> KafkaReading:
        async with self._lock:
            if self._last is not None and time.monotonic() - self._last.taken_at < CACHE_S:
                return self._last
            self._last = await self._read(self._last)
            return self._last

    async def _read(self, previous: KafkaReading | None) -> KafkaReading:
        if self._admin is None or self._consumer is None:
            raise RuntimeError("KafkaHealth used outside `open()`")
        partitions = [
            TopicPartition(topic.name, p) for topic in self.topics for p in range(topic.partitions)
        ]
        ends = await self._consumer.end_offsets(partitions)
        committed = await self._admin.list_consumer_group_offsets(self.group_id)
        lags = []
        for tp in partitions:
            offset = committed.get(tp)
            position = offset.offset if offset is not None and offset.offset >= 0 else None
            lag = None if position is None else max(ends[tp] - position, 0)
            lags.append(PartitionLag(tp.topic, tp.partition, ends[tp], position, lag))
        now = time.monotonic()
        rate = None
        if previous is not None and now > previous.taken_at:
            before = sum(p.end_offset for p in previous.partitions)
            after = sum(p.end_offset for p in lags)
            rate = round((after - before) / (now - previous.taken_at), 2)
        return KafkaReading(now, tuple(lags), rate)


def live_topics() -> tuple[Topic, ...]:
    """What the streams' race pipeline consumes: its lag is the worker's."""
    return RACE_TOPICS
