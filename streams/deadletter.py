"""Dead-lettering: a bad event is logged, counted and parked with its reason, never fatal."""

import logging
from datetime import UTC, datetime
from typing import Any

from schemas.base import encode
from schemas.deadletter import DeadLetter
from streams.metrics import DEAD_LETTERS

log = logging.getLogger(__name__)


def dead_letter_for(event: Any, reason: str, consumer: str) -> DeadLetter:
    """Describe a rejected Faust event (`event.message` carries topic, partition and offset)."""
    return dead_letter(event.message, reason, consumer)


def dead_letter(message: Any, reason: str, consumer: str) -> DeadLetter:
    """Describe a rejected Kafka record (a Faust message or an aiokafka `ConsumerRecord`)."""
    key = message.key.decode("utf-8", "replace") if isinstance(message.key, bytes) else None
    value = message.value
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return DeadLetter(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=key,
        value=text,
        reason=reason[:2000],
        consumer=consumer,
        failed_at=datetime.now(UTC),
    )


async def send_dead_letter(topic: Any, letter: DeadLetter) -> None:
    """Publish to the dead-letter topic (a Faust topic) and count it."""
    log.warning(
        "dead letter from %s[%d]@%d: %s",
        letter.topic,
        letter.partition,
        letter.offset,
        letter.reason,
    )
    DEAD_LETTERS.labels(letter.topic).inc()
    await topic.send(key=letter.topic.encode(), value=encode(letter))
