"""What the race pipeline stores of the race events besides prices: each topic's model and the
pure function from an event to its rows (streams/reference.py)."""

from collections.abc import Callable
from typing import Any

from schemas.base import Model
from schemas.topics import MARKET_STATE, RACECARDS, RESULTS
from streams.reference import Writes, market_status_rows, racecard_rows, result_rows
from streams.validation import InvalidEvent, validate

RACE_EVENT_ROWS: dict[str, tuple[type[Model], Callable[[Any], Writes]]] = {
    RACECARDS.name: (RACECARDS.model, racecard_rows),
    MARKET_STATE.name: (MARKET_STATE.model, market_status_rows),
    RESULTS.name: (RESULTS.model, result_rows),
}

__all__ = ["RACE_EVENT_ROWS", "InvalidEvent", "validate"]
