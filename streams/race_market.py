"""One race's whole market: every runner x bookmaker quote, plus the card facts analytics need.

This is the value of the `race-markets` Faust table (one entry per race, so the changelog carries
one record per race per batch rather than one per price). Updates are idempotent: a price whose
(source_time, event_id) is not newer than the one already applied for that runner x bookmaker is
ignored, so duplicates and out-of-order events leave the state unchanged.

Times are integer microseconds since the Unix epoch (exact, cheap to compare and serialise).
"""

import bisect
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from schemas.odds import OddsSnapshot

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = 1_000_000

Version = tuple[int, str]  # (source_time in microseconds, event_id): totally ordered


def micros(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(microseconds=1)


def instant(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


@dataclass(slots=True)
class Quote:
    """One runner at one bookmaker: the latest price and its story since the book opened."""

    text: str | None  # latest decimal as published ("2.75"); None = quoted, unpriced (SP)
    fractional: str | None
    ew_places: int | None
    ew_denom: int | None
    opening: str | None  # first price seen
    high: str | None
    low: str | None
    changes: int  # price changes after the opening price
    last_change: int  # when the price last changed (or opened)
    version: Version
    history: list[tuple[int, float]] = field(default_factory=list)  # (time, price) changes
    # Derived, never persisted: the price as a float and the analytics view (reset on change).
    price: float | None = field(default=None, compare=False)
    view: dict[str, Any] | None = field(default=None, compare=False)
    packed: list[Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        self.price = None if self.text is None else float(self.text)

    def dump(self) -> list[Any]:
        if self.packed is None:
            self.packed = self._pack()
        return self.packed

    def _pack(self) -> list[Any]:
        return [
            self.text, self.fractional, self.ew_places, self.ew_denom, self.opening, self.high,
            self.low, self.changes, self.last_change, list(self.version), self.history,
        ]  # fmt: skip

    @classmethod
    def load(cls, data: list[Any]) -> "Quote":
        text, fractional, places, denom, opening, high, low, changes, last_change = data[:9]
        version = data[9]
        return cls(
            text, fractional, places, denom, opening, high, low, changes, last_change,
            (version[0], version[1]), [(t, p) for t, p in data[10]],
        )  # fmt: skip


def _higher(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if float(a) >= float(b) else b


def _lower(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if float(a) <= float(b) else b


@dataclass(slots=True)
class RaceMarket:
    race_id: str
    quotes: dict[str, dict[str, Quote]] = field(default_factory=dict)  # book -> horse -> quote
    book_names: dict[str, str] = field(default_factory=dict)
    book_updates: dict[str, int] = field(default_factory=dict)  # book -> last applied time
    book_applied: dict[str, int] = field(default_factory=dict)  # book -> prices applied
    updates: list[int] = field(default_factory=list)  # applied event times, recent window only
    revision: int = 0  # bumps on every change: the version of every analytics row
    latest: int = 0  # newest applied source_time: the race's event-time "now"
    source: str = "simulator"
    status: str = "open"
    status_version: Version = (0, "")
    card_version: Version = (0, "")
    off_dt: int | None = None
    runners: list[str] = field(default_factory=list)  # declared runners in card order
    non_runners: set[str] = field(default_factory=set)

    # -- updates ----------------------------------------------------------------------------

    def apply_odds(self, snapshot: OddsSnapshot, keep_us: int, rate_window_us: int) -> int:
        """Apply the prices newer than what this race holds; returns how many were applied."""
        version: Version = (micros(snapshot.source_time), snapshot.event_id)
        at = version[0]
        book = self.quotes.setdefault(snapshot.bookmaker_id, {})
        applied = 0
        for price in snapshot.prices:
            text = None if price.decimal is None else str(price.decimal)
            quote = book.get(price.horse_id)
            if quote is None:
                book[price.horse_id] = Quote(
                    text, price.fractional, price.ew_places, price.ew_denom, text, text, text,
                    0, at, version, [] if text is None else [(at, float(text))],
                )  # fmt: skip
                applied += 1
                continue
            if quote.version >= version:
                continue
            applied += 1
            quote.view = quote.packed = None
            quote.version = version
            quote.fractional, quote.ew_places, quote.ew_denom = (
                price.fractional, price.ew_places, price.ew_denom,
            )  # fmt: skip
            if text != quote.text:
                quote.text = text
                quote.price = None if text is None else float(text)
                quote.changes += 1
                quote.last_change = at
                quote.high = _higher(quote.high, text)
                quote.low = _lower(quote.low, text)
                if quote.opening is None:
                    quote.opening = text
                if text is not None:
                    quote.history.append((at, float(text)))
                    _trim(quote.history, at - keep_us)
        if applied:
            self.book_names[snapshot.bookmaker_id] = snapshot.bookmaker
            self.book_updates[snapshot.bookmaker_id] = max(
                self.book_updates.get(snapshot.bookmaker_id, 0), at
            )
            self.book_applied[snapshot.bookmaker_id] = (
                self.book_applied.get(snapshot.bookmaker_id, 0) + applied
            )
            self.latest = max(self.latest, at)
            self.source = snapshot.source.value
            bisect.insort(self.updates, at)
            stale = bisect.bisect_left(self.updates, self.latest - rate_window_us)
            if stale:
                del self.updates[:stale]
            self.revision += 1
        return applied

    def apply_card(
        self, version: Version, off_dt: datetime, runners: list[str], non_runners: set[str]
    ) -> bool:
        if version <= self.card_version:
            return False
        self.card_version = version
        self.off_dt = micros(off_dt)
        self.runners = runners
        self.non_runners = non_runners
        self.revision += 1
        return True

    def apply_status(self, version: Version, status: str) -> bool:
        if version <= self.status_version:
            return False
        self.status_version = version
        self.status = status
        self.revision += 1
        return True

    # -- persistence ------------------------------------------------------------------------
    # The changelog holds one header record per race and one record per (race, bookmaker), so a
    # batch persists only the books it touched instead of every quote of every race it touched.

    def dump_header(self) -> dict[str, Any]:
        return {
            "race_id": self.race_id,
            "updates": self.updates,
            "revision": self.revision,
            "latest": self.latest,
            "source": self.source,
            "status": self.status,
            "status_version": list(self.status_version),
            "card_version": list(self.card_version),
            "off_dt": self.off_dt,
            "runners": self.runners,
            "non_runners": sorted(self.non_runners),
        }

    def dump_book(self, book: str) -> dict[str, Any]:
        return {
            "race_id": self.race_id,
            "bookmaker_id": book,
            "name": self.book_names.get(book),
            "updated": self.book_updates.get(book),
            "applied": self.book_applied.get(book),
            "quotes": {h: q.dump() for h, q in self.quotes[book].items()},
        }

    def dump(self) -> bytes:
        """The whole race in one document (header and every book)."""
        return orjson.dumps(
            {"header": self.dump_header(), "books": [self.dump_book(b) for b in self.quotes]}
        )

    @classmethod
    def load(cls, payload: bytes) -> "RaceMarket":
        data = orjson.loads(payload)
        return cls.load_parts(data["header"]["race_id"], data["header"], data["books"])

    @classmethod
    def load_parts(
        cls, race_id: str, header: dict[str, Any] | None, books: list[dict[str, Any]]
    ) -> "RaceMarket":
        race = cls(race_id)
        if header is not None:
            race.updates = header["updates"]
            race.revision = header["revision"]
            race.latest = header["latest"]
            race.source = header["source"]
            race.status = header["status"]
            race.status_version = (header["status_version"][0], header["status_version"][1])
            race.card_version = (header["card_version"][0], header["card_version"][1])
            race.off_dt = header["off_dt"]
            race.runners = header["runners"]
            race.non_runners = set(header["non_runners"])
        for book in books:
            book_id = book["bookmaker_id"]
            race.quotes[book_id] = {h: Quote.load(q) for h, q in book["quotes"].items()}
            for attribute, key in (
                (race.book_names, "name"), (race.book_updates, "updated"),
                (race.book_applied, "applied"),
            ):  # fmt: skip
                if book[key] is not None:
                    attribute[book_id] = book[key]
        return race


def _trim(history: list[tuple[int, float]], cutoff: int) -> None:
    """Drop changes older than `cutoff`, keeping the last one before it (the price then)."""
    drop = 0
    while drop + 1 < len(history) and history[drop + 1][0] <= cutoff:
        drop += 1
    if drop:
        del history[:drop]
