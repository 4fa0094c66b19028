"""Dead letters: events a consumer could not use, kept with the reason for replay or repair."""

from pydantic import Field

from schemas.base import Model, UtcDatetime

VALUE_MAX = 64 * 1024
"""Largest payload a dead letter copies; a larger record is kept by reference only."""


class DeadLetter(Model):
    """A rejected record, by reference (topic, partition, offset) and, when small, by copy.

    Every text field is storable as it is: the consumer that writes a letter replaces what
    PostgreSQL cannot hold (NUL) and bounds its length, so a letter never fails in its turn."""

    topic: str = Field(max_length=255)
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    key: str | None = Field(max_length=1024)
    size: int | None = Field(default=None, ge=0, description="Bytes of the record's value.")
    value: str | None = Field(
        description="The original payload, decoded as UTF-8 with replacement, when at most "
        "VALUE_MAX bytes; None for larger records (read them at topic, partition, offset)."
    )
    reason: str = Field(max_length=4000)
    consumer: str = Field(max_length=255)
    failed_at: UtcDatetime
