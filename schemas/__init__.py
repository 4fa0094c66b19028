"""The event contract shared by producers, streams and the API.

Every event on every topic is one of the frozen models here, serialised as JSON (Decimal prices
as strings so no precision is lost). `schemas.topics` names the topics, their keys and policies.
"""

from schemas.analytics import BookmakerAnalytics, RaceAnalytics
from schemas.base import Event, EventSource, decode, encode
from schemas.deadletter import DeadLetter
from schemas.market import MarketState, MarketStatus
from schemas.odds import OddsSnapshot, RunnerPrice
from schemas.racecards import Racecard, Runner
from schemas.results import Result, RunnerResult
from schemas.stats import FetchStats

__all__ = [
    "BookmakerAnalytics",
    "DeadLetter",
    "Event",
    "EventSource",
    "FetchStats",
    "MarketState",
    "MarketStatus",
    "OddsSnapshot",
    "RaceAnalytics",
    "Racecard",
    "Result",
    "Runner",
    "RunnerPrice",
    "RunnerResult",
    "decode",
    "encode",
]
