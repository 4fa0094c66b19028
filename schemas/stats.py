"""Producer fetch statistics: one event per polling cycle."""

from pydantic import NonNegativeFloat, NonNegativeInt

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
