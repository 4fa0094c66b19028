"""Market state changes: the lifecycle of a race's betting market."""

from enum import StrEnum

from schemas.base import Event, Id, Text


class MarketStatus(StrEnum):
    OPEN = "open"
    SUSPENDED = "suspended"
    OFF = "off"
    ABANDONED = "abandoned"
    RESULT = "result"


class MarketState(Event):
    race_id: Id
    status: MarketStatus
    reason: Text | None = None
