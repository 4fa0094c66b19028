from collections.abc import Iterable
from typing import Any

class Quote:
    """One runner at one bookmaker: the latest price and its story since the book opened."""

    def __init__(
        self,
        text: str | None,
        fractional: str | None,
        ew_places: int | None,
        ew_denom: int | None,
        opening: str | None,
        high: str | None,
        low: str | None,
        changes: int,
        last_change: int,
        version: tuple[int, str],
        history: Iterable[tuple[int, float]] | None = None,
        fresh: bool = False,
    ) -> None: ...
    text: str | None  # latest decimal as published ("2.75"); None = quoted, unpriced (SP)
    @property
    def price(self) -> float | None:
        """`text` as a number: changes are compared as numbers ("2.7500" is "2.75")."""
    @property
    def fractional(self) -> str | None: ...
    @property
    def ew_places(self) -> int | None: ...
    @property
    def ew_denom(self) -> int | None: ...
    @property
    def opening(self) -> str | None:
        """The first price seen."""
    @property
    def high(self) -> str | None: ...
    @property
    def low(self) -> str | None: ...
    @property
    def changes(self) -> int:
        """Price changes after the opening price."""
    @property
    def last_change(self) -> int:
        """When the price last changed (or opened)."""
    @property
    def version(self) -> tuple[int, str]:
        """(source_time in microseconds, event_id) of the last event applied."""
    @property
    def history(self) -> list[tuple[int, float]]:
        """The (time, price) changes kept for the longest window, oldest first (a copy)."""
    view: dict[str, Any] | None  # the analytics' dict of this quote, until it changes
    fresh: bool  # created since its last stored row

def apply_prices(
    book: dict[str, Quote], prices: Iterable[Any], at: int, event_id: str, keep_us: int
) -> list[tuple[Any, Quote]]:
    """Apply one event's prices (`PriceIn`s) to a book's quotes (horse -> `Quote`, created as
    needed): those newer than the quote's (source_time, event_id). Returns the (price, quote)
    pairs applied."""

def book_coverage(quotes: dict[str, Quote], cutoff: int) -> tuple[int, int]:
    """One book's quotes in one race: how many were updated at or after `cutoff` (their
    version's time), and how many carry a price."""

def race_analytics(race: Any, params: Any) -> dict[str, Any]:
    """The analytics of a `streams.race_market.RaceMarket` under `market.analytics.
    AnalyticsParams`: `race_analytics_reference`'s dict, to the last bit. Sets `view` on the
    quotes it reads, as the reference does."""

class PriceRows:
    """One batch's price rows: a history row per applied event, a latest row per quote."""

    def __init__(self) -> None: ...
    @property
    def history(self) -> list[tuple[Any, ...]]:
        """`odds_history_events` rows: (race_id, bookmaker_id, source_time, event_id, source,
        ingest_time, prices JSON), times in microseconds since the epoch."""
    def add(self, snapshot: Any, applied: list[tuple[Any, Quote]]) -> None:
        """Take one applied event (an `OddsIn`) and the (price, quote) pairs it applied."""
    def latest(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The `odds_latest` rows of the quotes as they stand now: those of quotes new in this
        batch, and those of quotes already stored. No quote is fresh after."""

def apply_odds(
    race: Any, snapshot: Any, keep_us: int, rate_window_us: int
) -> list[tuple[Any, Quote]]:
    """`streams.race_market.RaceMarket.apply_odds`: an `OddsIn`'s prices newer than the race
    holds, applied (`apply_prices`), then the race's bookkeeping. Returns the (price, quote)
    pairs applied."""

def apply_event(
    board: Any,
    race: Any,
    snapshot: Any,
    keep_us: int,
    rate_window_us: int,
    rows: PriceRows | None = None,
) -> int:
    """`streams.market_board.MarketBoard.apply_odds` for a race the board holds: the race's
    `apply_odds`, the board's pending sets and `now`, and the event's rows into `rows`.
    Returns how many prices it applied."""
