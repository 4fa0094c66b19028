"""Base event model, UTC time type and the one serialisation used on every topic."""

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, ClassVar, TypeVar

import orjson
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""An instant: offset-aware on input (naive times are rejected), always stored as UTC."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_event_id() -> str:
    return uuid.uuid4().hex


class EventSource(StrEnum):
    """Where an event came from; live, simulated and replayed data share every topic."""

    RACING_API = "racing_api"
    SIMULATOR = "simulator"
    REPLAY = "replay"


class Model(BaseModel):
    """Immutable and strict about unknown fields, so a contract change is never silent."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Event(Model):
    """Common envelope: identity, provenance and the two clocks of every event."""

    schema_version: ClassVar[int] = 1

    event_id: str = Field(default_factory=new_event_id, min_length=1)
    source: EventSource
    source_time: UtcDatetime = Field(description="When the upstream says the data changed.")
    ingest_time: UtcDatetime = Field(
        default_factory=utc_now, description="When DarkHorses received it."
    )


EventT = TypeVar("EventT", bound=Model)


def encode(event: Model) -> bytes:
    """Serialise an event for Kafka (UTF-8 JSON, decimals as strings)."""
    return event.__pydantic_serializer__.to_json(event)


def decode(model: type[EventT], payload: bytes | str) -> EventT:
    """Parse and validate a Kafka payload; raises `pydantic.ValidationError` on bad input."""
    return model.model_validate(orjson.loads(payload))
