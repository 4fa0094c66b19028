"""One Kafka consumer per API process, fanned out to every websocket subscriber.

Each update is validated and serialised once, whatever the number of clients. Each client has
a bounded queue: a client that falls too far behind is disconnected (never slowing the others).
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import orjson
from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from schemas.base import decode
from schemas.odds import OddsSnapshot
from schemas.topics import ODDS_LIVE

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Subscriber:
    race_ids: frozenset[str] | None
    queue: asyncio.Queue[str]
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, race_id: str) -> bool:
        return self.race_ids is None or race_id in self.race_ids


class OddsFanout:
    def __init__(self, bootstrap_servers: str, queue_size: int) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.queue_size = queue_size
        self.subscribers: set[Subscriber] = set()
        self.ready = asyncio.Event()
        self.rejected = 0

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator["OddsFanout"]:
        """Consume in the background for the lifetime of the context."""
        task = asyncio.create_task(self._consume(), name="odds-fanout")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @contextlib.contextmanager
    def subscribe(self, race_ids: frozenset[str] | None) -> Iterator[Subscriber]:
        subscriber = Subscriber(race_ids, asyncio.Queue(self.queue_size))
        self.subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self.subscribers.discard(subscriber)

    def publish(self, race_id: str, frame: str) -> None:
        for subscriber in self.subscribers:
            if subscriber.wants(race_id):
                try:
                    subscriber.queue.put_nowait(frame)
                except asyncio.QueueFull:
                    subscriber.overflowed.set()

    async def _consume(self) -> None:
        while True:
            try:
                await self._consume_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("odds fan-out consumer failed; restarting in 1s")
                await asyncio.sleep(1)

    async def _consume_once(self) -> None:
        # No group: this process reads every partition, from the end, on its own.
        consumer = AIOKafkaConsumer(
            ODDS_LIVE.name,
            bootstrap_servers=self.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            fetch_max_wait_ms=20,
        )
        try:
            await consumer.start()
            while not consumer.assignment():  # noqa: ASYNC110 (set by the metadata task)
                await asyncio.sleep(0.1)
            for tp in consumer.assignment():  # resolve positions, so "ready" means "from now on"
                await consumer.position(tp)
            self.ready.set()
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=5000)
                for records in batches.values():
                    for record in records:
                        self._dispatch(record.value)
        finally:
            self.ready.clear()
            await consumer.stop()

    def _dispatch(self, payload: bytes | None) -> None:
        if payload is None:
            return
        try:
            snapshot = decode(OddsSnapshot, payload)
        except (ValidationError, orjson.JSONDecodeError):
            self.rejected += 1  # the streams worker dead-letters it; clients never see it
            return
        frame = '{"type":"odds","data":' + payload.decode() + "}"
        self.publish(snapshot.race_id, frame)
