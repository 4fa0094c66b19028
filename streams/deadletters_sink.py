"""Mirror the dead-letter topic into the `dead_letters` table for inspection over SQL."""

import logging
from collections.abc import Callable
from typing import Any

import faust
import orjson

from schemas.base import decode
from schemas.deadletter import DeadLetter
from schemas.topics import DEAD_LETTERS
from streams.deadletter import storable
from streams.sink import SinkFactory, UpsertTable, write_each

log = logging.getLogger(__name__)

DEAD_LETTERS_TABLE = UpsertTable(
    name="dead_letters",
    columns=(
        "topic",
        "partition",
        "offset",
        "key",
        "size",
        "value",
        "reason",
        "consumer",
        "failed_at",
    ),
    key=("topic", "partition", "offset", "consumer"),
    version=("failed_at",),
)


def register(app: faust.App, sinks: SinkFactory) -> Callable[..., Any]:
    topic = app.topic(DEAD_LETTERS.name, key_serializer="raw", value_serializer="raw")

    @app.agent(topic, name="dead-letter-sink")
    async def dead_letter_sink(stream: Any) -> None:
        """Letters are stored before the next batch is taken (Faust commits only past events
        handed on): a letter PostgreSQL refuses is stored by reference alone."""
        async with sinks() as sink:
            async for values in stream.take(500, within=0.5):
                letters = []
                for value in values:
                    try:
                        letters.append(decode(DeadLetter, value))
                    except (ValueError, orjson.JSONDecodeError):  # ValidationError included
                        # Never dead-letter a dead letter: that could loop. Log and move on.
                        log.exception("unreadable dead letter skipped")
                refused = await write_each(
                    sink, [(x, [(DEAD_LETTERS_TABLE, [row(x)])]) for x in letters]
                )
                bare = [
                    row(
                        letter.model_copy(
                            update={"key": None, "value": None, "reason": unstorable(reason)}
                        )
                    )
                    for letter, reason in refused
                ]
                for letter, _ in await write_each(
                    sink, [(r, [(DEAD_LETTERS_TABLE, [r])]) for r in bare]
                ):
                    log.error("dead letter %s[%s]@%s not storable", *letter[:3])

    return dead_letter_sink


def unstorable(reason: str) -> str:
    return storable(f"kept by reference only: PostgreSQL refused the letter: {reason}", 4000)


def row(letter: DeadLetter) -> tuple[Any, ...]:
    return (
        letter.topic, letter.partition, letter.offset, letter.key, letter.size, letter.value,
        letter.reason, letter.consumer, letter.failed_at,
    )  # fmt: skip
