"""Where producers put events: the Kafka publisher, or anything with the same `publish`."""

from typing import Protocol

from schemas.base import Event
from schemas.topics import Topic


class EventSink(Protocol):
    async def publish(self, topic: Topic, event: Event) -> None: ...

    async def flush(self) -> None: ...
