"""Dead letters: events a consumer could not use, kept with the reason for replay or repair."""

from pydantic import Field

from schemas.base import Model, UtcDatetime


class DeadLetter(Model):
    topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    key: str | None
    value: str = Field(description="The original payload, decoded as UTF-8 with replacement.")
    reason: str
    consumer: str
    failed_at: UtcDatetime
