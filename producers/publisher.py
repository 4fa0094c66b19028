"""Publishing contract events to Kafka with an idempotent producer."""

from types import TracebackType
from typing import Self

from aiokafka import AIOKafkaProducer

from schemas.base import Event, encode
from schemas.topics import Topic


class EventPublisher:
    """Idempotent (acks=all, no duplicates on retry) producer keyed by each topic's key field.

    Used as `async with EventPublisher(bootstrap) as publisher: await publisher.publish(...)`.
    """

    def __init__(self, bootstrap_servers: str, *, linger_ms: int = 5) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            enable_idempotence=True,
            linger_ms=linger_ms,
            max_batch_size=256 * 1024,
            # As load mode and replay: the broker stores and serves a fifth of the bytes, and
            # its CPU per price in the streams bench fell from 6.3-7.4 to 5.3 us.
            compression_type="zstd",
        )
        self.published = 0

    async def __aenter__(self) -> Self:
        await self._producer.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._producer.stop()

    async def publish(self, topic: Topic, event: Event) -> None:
        """Queue `event` for `topic`; delivery is confirmed by `flush` (or on exit)."""
        key = str(getattr(event, topic.key)).encode()
        await self._producer.send(topic.name, encode(event), key=key)
        self.published += 1

    async def publish_and_wait(self, topic: Topic, event: Event) -> None:
        key = str(getattr(event, topic.key)).encode()
        await self._producer.send_and_wait(topic.name, encode(event), key=key)
        self.published += 1

    async def flush(self) -> None:
        await self._producer.flush()
