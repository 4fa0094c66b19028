"""The current book of every race, built by applying Kafka records in log order.

A race's `seq` is the racing.odds.live.v1 offset of the last price event applied to it (one race
lives on one partition, so it only grows), and each price event also knows the race's previous
`seq`: a client that sees `prev_seq` differ from the last `seq` it holds has missed something.
Every API process that reads the same log computes the same numbers, so no session is sticky.

A price replaces the one held for its runner at its bookmaker only when its (source_time,
event_id) is newer (`market.maths.is_newer`, the worker's rule), so duplicates and out-of-order
events give the websocket the worker's book. The analytics are not computed here: the hub relays
the worker's, read from racing.analytics.race.v1 (`RaceBook.analytics`).
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from market.clock import micros
from market.maths import Version, best_price, is_newer
from schemas.analytics import RaceAnalytics
from schemas.market import MarketState, MarketStatus
from schemas.odds import OddsSnapshot
from schemas.racecards import Racecard

NO_SEQ = -1
CLOSED = frozenset({MarketStatus.RESULT, MarketStatus.ABANDONED})


@dataclass(slots=True)
class Quote:
    decimal: Decimal | None
    fractional: str | None
    source_time: datetime
    ingest_time: datetime
    version: Version = (0, "")


@dataclass(slots=True)
class RaceBook:
    race_id: str
    card: Racecard | None = None
    market: MarketState | None = None
    # horse_id -> bookmaker_id -> quote
    quotes: dict[str, dict[str, Quote]] = field(default_factory=dict)
    bookmaker_names: dict[str, str] = field(default_factory=dict)
    seq: int = NO_SEQ
    touched: float = 0.0  # monotonic time of the last event applied
    # The worker's latest analytics of the race, as the websocket relays them (views.py), and
    # their revision: an older or repeated analytics record changes nothing.
    analytics: dict[str, Any] | None = None
    analytics_revision: int = -1

    @property
    def closed(self) -> bool:
        return self.market is not None and self.market.status in CLOSED

    def apply_odds(self, event: OddsSnapshot, offset: int) -> int:
        """Apply a price event's newer prices; returns the previous seq (which moves on even when
        every price was stale: the event was seen)."""
        previous = self.seq
        self.bookmaker_names[event.bookmaker_id] = event.bookmaker
        version = (micros(event.source_time), event.event_id)
        for price in event.prices:
            held = self.quotes.setdefault(price.horse_id, {})
            quote = held.get(event.bookmaker_id)
            if is_newer(version, None if quote is None else quote.version):
                held[event.bookmaker_id] = Quote(
                    price.decimal, price.fractional, event.source_time, event.ingest_time, version
                )
        self.seq = offset
        return previous

    def best(
        self, horse_id: str, bookmakers: frozenset[str] | None
    ) -> tuple[Quote | None, list[str]]:
        """The longest price for a runner among `bookmakers` (`market.maths.best_price`: ties
        list every bookmaker offering it)."""
        quotes = self.quotes.get(horse_id, {})
        priced = {
            b: q.decimal
            for b, q in quotes.items()
            if q.decimal is not None and (bookmakers is None or b in bookmakers)
        }
        if not priced:
            return None, []
        _, who = best_price(priced)
        return quotes[who[0]], list(who)

    def runners(self) -> list[str]:
        """Runners with quotes, minus declared non-runners."""
        out = set(self.quotes)
        if self.card is not None:
            out -= {r.horse_id for r in self.card.runners if r.non_runner}
        return sorted(out)


@dataclass
class SourceHealth:
    """Last event seen from a source or bookmaker, for heartbeat status."""

    source_time: datetime
    ingest_time: datetime
    seen_at: float  # monotonic seconds


class BookStore:
    def __init__(self) -> None:
        self.races: dict[str, RaceBook] = {}
        self.health: dict[str, SourceHealth] = {}
        self.last_source_time: datetime | None = None

    def race(self, race_id: str) -> RaceBook:
        book = self.races.get(race_id)
        if book is None:
            book = self.races[race_id] = RaceBook(race_id)
        return book

    def apply_odds(self, event: OddsSnapshot, offset: int, now: float) -> tuple[RaceBook, int]:
        book = self.race(event.race_id)
        book.touched = now
        previous = book.apply_odds(event, offset)
        health = SourceHealth(event.source_time, event.ingest_time, now)
        self.health[f"bookmaker:{event.bookmaker_id}"] = health
        self.health[f"source:{event.source.value}"] = health
        if self.last_source_time is None or event.source_time > self.last_source_time:
            self.last_source_time = event.source_time
        return book, previous

    def apply_analytics(self, event: RaceAnalytics, relayed: dict[str, Any]) -> RaceBook | None:
        """The worker's analytics of a race (`relayed`: their websocket body); None when not
        newer than those held."""
        book = self.race(event.race_id)
        if event.revision <= book.analytics_revision:
            return None
        book.analytics, book.analytics_revision = relayed, event.revision
        return book

    def apply_market(self, event: MarketState, now: float = 0.0) -> RaceBook:
        book = self.race(event.race_id)
        book.market = event
        book.touched = now
        return book

    def evict(self, before: float) -> list[str]:
        """Forget races whose market closed (result, abandoned) and went quiet before `before`,
        so a long-running process does not grow with every race it has seen."""
        gone = [r for r, book in self.races.items() if book.closed and book.touched < before]
        for race_id in gone:
            del self.races[race_id]
        return gone

    def apply_card(self, event: Racecard) -> RaceBook:
        book = self.race(event.race_id)
        book.card = event
        return book
