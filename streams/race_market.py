"""One race's whole market: every runner x bookmaker quote, plus the card facts analytics need.

Updates are idempotent: a price whose (source_time, event_id) is not newer than the one already
applied for that runner x bookmaker is ignored, so duplicates and out-of-order events leave the
state unchanged. The state is stored in PostgreSQL with the rows it produced (the race header in
`market_races`, each quote in its `odds_latest` row) and restored from there after a restart.

Times are integer microseconds since the Unix epoch (exact, cheap to compare and serialise).

A `Quote` (one runner at one bookmaker) and `apply_odds` are native (native/market, Rust): as
a Python dataclass a quote cost ~4.5 µs a price to update and ~8 Python objects to read for the
analytics, and the race's bookkeeping of an event more than its prices.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from darkhorses_market import Quote as Quote  # re-exported: the race state's quotes
from darkhorses_market import apply_odds

from market.clock import micros
from market.maths import Version as Version  # re-exported: the race's versions
from market.maths import is_newer
from streams.odds_decode import OddsIn, PriceIn

Applied = list[tuple[PriceIn, Quote]]  # the prices an event changed and their quotes


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

    @property
    def last_activity(self) -> int:
        """Event time of the race's newest price, card or status."""
        return max(self.latest, self.status_version[0], self.card_version[0])

    @staticmethod
    def stored_last_activity(header: dict[str, Any]) -> int:
        """`last_activity` from a stored header (`dump_header`), without restoring the race."""
        return int(max(header["latest"], header["status_version"][0], header["card_version"][0]))

    # -- updates ----------------------------------------------------------------------------

    def apply_odds(self, snapshot: OddsIn, keep_us: int, rate_window_us: int) -> Applied:
        """Apply the prices newer than what this race holds; returns them with their quotes.
        The race's bookkeeping follows (natively): its book's name, last update and prices
        applied, `latest`, `source`, the event times of the rate window and the revision."""
        return apply_odds(self, snapshot, keep_us, rate_window_us)

    def apply_card(
        self, version: Version, off_dt: datetime, runners: list[str], non_runners: set[str]
    ) -> bool:
        if not is_newer(version, self.card_version):
            return False
        self.card_version = version
        self.off_dt = micros(off_dt)
        self.runners = runners
        self.non_runners = non_runners
        self.revision += 1
        return True

    def apply_status(self, version: Version, status: str) -> bool:
        if not is_newer(version, self.status_version):
            return False
        self.status_version = version
        self.status = status
        self.revision += 1
        return True

    # -- persistence ------------------------------------------------------------------------
    # The header (everything but the quotes) is one `market_races` row; each quote is restored
    # from its `odds_latest` row (streams/market_store.py).

    def dump_header(self) -> dict[str, Any]:
        return {
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
            "books": {
                book: [name, self.book_updates.get(book), self.book_applied.get(book)]
                for book, name in self.book_names.items()
            },
        }

    @classmethod
    def restore(
        cls, race_id: str, header: dict[str, Any], quotes: dict[str, dict[str, Quote]]
    ) -> "RaceMarket":
        race = cls(race_id, quotes)
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
        for book, (name, updated, applied) in header["books"].items():
            race.book_names[book] = name
            if updated is not None:
                race.book_updates[book] = updated
            if applied is not None:
                race.book_applied[book] = applied
        return race
