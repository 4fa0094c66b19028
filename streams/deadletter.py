"""Dead-lettering: a bad event is logged, counted and parked with its reason, never fatal.

A letter is built to be stored whatever the record held: payloads over `VALUE_MAX` bytes are
kept by reference (topic, partition, offset, size), text is cut to its field's bound and NUL
(which PostgreSQL cannot store) is replaced, so the letter itself can never be poison."""

import logging
from datetime import UTC, datetime
from typing import Any

from schemas.base import encode
from schemas.deadletter import VALUE_MAX, DeadLetter
from streams.metrics import DEAD_LETTERS

log = logging.getLogger(__name__)


def storable(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, NUL and lone surrogates replaced by U+FFFD."""
    text = text[:limit].replace("\x00", "\ufffd")
    return text.encode("utf-8", "replace").decode("utf-8") if not text.isascii() else text


def dead_letter_for(event: Any, reason: str, consumer: str) -> DeadLetter:
    """Describe a rejected Faust event (`event.message` carries topic, partition and offset)."""
    return dead_letter(event.message, reason, consumer)


def dead_letter(message: Any, reason: str, consumer: str) -> DeadLetter:
    """Describe a rejected Kafka record (a Faust message or an aiokafka `ConsumerRecord`)."""
    key = message.key
    value = message.value
    raw = value if isinstance(value, bytes) else str(value).encode("utf-8", "replace")
    return DeadLetter(
        topic=storable(str(message.topic), 255),
        partition=message.partition,
        offset=message.offset,
        key=storable(key.decode("utf-8", "replace"), 1024) if isinstance(key, bytes) else None,
        size=len(raw),
        value=storable(raw.decode("utf-8", "replace"), VALUE_MAX)
        if len(raw) <= VALUE_MAX
        else None,
        reason=storable(reason, 4000),
        consumer=storable(consumer, 255),
        failed_at=datetime.now(UTC),
    )


async def send_dead_letter(topic: Any, letter: DeadLetter) -> None:
    """Publish to the dead-letter topic (a Faust topic) and count it."""
    log.warning(
        "dead letter from %s[%d]@%d (%s bytes): %s",
        letter.topic,
        letter.partition,
        letter.offset,
        letter.size,
        letter.reason[:500],
    )
    DEAD_LETTERS.labels(letter.topic).inc()
    await topic.send(key=letter.topic.encode(), value=encode(letter))
