"""Producer fetch statistics: one event per polling cycle."""

from pydantic import Field, NonNegativeFloat, NonNegativeInt

from schemas.base import Event, Id


class FetchStats(Event):
    producer: Id
    races: NonNegativeInt
    runners: NonNegativeInt
    bookmakers: NonNegativeInt
    prices: NonNegativeInt
    unpriced: NonNegativeInt
    errors: NonNegativeInt
    duration_s: NonNegativeFloat
    # Added in issue 19: known upstream quirks handled this cycle, by name (e.g.
    # non_runner_marker, off_dt_missing); a default keeps older events valid.
    quirks: dict[str, NonNegativeInt] = Field(default_factory=dict)
