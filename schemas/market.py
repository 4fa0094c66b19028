"""Market state changes: the lifecycle of a race's betting market."""

from enum import StrEnum

from pydantic import Field

from schemas.base import Event


class MarketStatus(StrEnum):
    OPEN = "open"
    SUSPENDED = "suspended"
    OFF = "off"
    ABANDONED = "abandoned"
    RESULT = "result"


class MarketState(Event):
    race_id: str = Field(min_length=1)
    status: MarketStatus
    reason: str | None = None
