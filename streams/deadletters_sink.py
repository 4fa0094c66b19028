"""Mirror the dead-letter topic into the `dead_letters` table for inspection over SQL."""

import logging
from collections.abc import Callable
from typing import Any

import faust
import orjson
from pydantic import ValidationError

from schemas.base import decode
from schemas.deadletter import DeadLetter
from schemas.topics import DEAD_LETTERS
from streams.sink import SinkFactory, UpsertTable

log = logging.getLogger(__name__)

DEAD_LETTERS_TABLE = UpsertTable(
    name="dead_letters",
    columns=("topic", "partition", "offset", "key", "value", "reason", "consumer", "failed_at"),
    key=("topic", "partition", "offset", "consumer"),
    version=("failed_at",),
)


def register(app: faust.App, sinks: SinkFactory) -> Callable[..., Any]:
    topic = app.topic(DEAD_LETTERS.name, key_serializer="raw", value_serializer="raw")

    @app.agent(topic, name="dead-letter-sink")
    async def dead_letter_sink(stream: Any) -> None:
        async with sinks() as sink:
            async for values in stream.take(500, within=0.5):
                rows = []
                for value in values:
                    try:
                        letter = decode(DeadLetter, value)
                    except (ValidationError, orjson.JSONDecodeError):
                        # Never dead-letter a dead letter: that could loop. Log and move on.
                        log.exception("unreadable dead letter skipped")
                        continue
                    rows.append(
                        (letter.topic, letter.partition, letter.offset, letter.key, letter.value,
                         letter.reason, letter.consumer, letter.failed_at)
                    )  # fmt: skip
                await sink.write([(DEAD_LETTERS_TABLE, rows)])

    return dead_letter_sink
