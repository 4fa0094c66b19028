"""Base event model, UTC time type and the one serialisation used on every topic."""

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, ClassVar, TypeVar

import orjson
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

# The contract bounds every field, so an event that validates can always be stored: ids fit an
# index row, text has no NUL (PostgreSQL cannot store one), integers fit their columns, lists
# and times stay within reason. A record breaking a bound fails decoding and is dead-lettered.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
ID_MAX = 64
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
EVENT_ID_MAX = 128
EVENT_ID_PATTERN = r"^[!-~]+$"  # printable ASCII, no spaces: uuids, content hashes, sim counters
TEXT_MAX = 2000
NO_NUL = r"^[^\x00]*$"
RECORD_MAX = 1024 * 1024
"""Largest record value a consumer decodes (bytes, uncompressed); larger ones are dead-lettered."""


def _to_utc(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00: before year 1 once in UTC
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year}") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year}")
    return utc


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""An instant: offset-aware on input (naive times are rejected), always stored as UTC, within
EARLIEST..LATEST."""

Id = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]
"""An identifier (race, horse, bookmaker...): short, ASCII letters, digits and `_.:-`."""
EventId = Annotated[
    str, StringConstraints(min_length=1, max_length=EVENT_ID_MAX, pattern=EVENT_ID_PATTERN)
]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX, pattern=NO_NUL)]
"""Free text (names, reasons, comments): bounded, no NUL."""
Code = Annotated[str, StringConstraints(max_length=100, pattern=NO_NUL)]
"""A short code or label (fractional odds, going, sex, position...)."""
SmallInt = Annotated[int, Field(ge=0, le=32767)]
"""A count or number that fits a PostgreSQL smallint."""


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

    event_id: EventId = Field(default_factory=new_event_id)
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
