"""Market analytics events, published by the streams as the market moves (docs/domain.md §5).

`RaceAnalytics` is the whole race at one instant (keyed by race_id on a compacted topic, so a new
consumer reads the current state of every race); `BookmakerAnalytics` one bookmaker's coverage
and freshness across every race. Probabilities are floats in [0, 1]; prices are decimals.
`as_of` is event time: the newest source_time applied, never the wall clock.
"""

from decimal import Decimal

from pydantic import Field, NonNegativeFloat, NonNegativeInt

from schemas.base import Event, Model, UtcDatetime
from schemas.market import MarketStatus

Probability = float


class BookQuote(Model):
    """One runner at one bookmaker."""

    bookmaker_id: str
    price: Decimal | None = Field(description="Latest decimal price; None = quoted, unpriced.")
    fractional: str | None
    ew_places: int | None
    ew_denom: int | None
    opening: Decimal | None = Field(description="First price seen at this book.")
    high: Decimal | None
    low: Decimal | None
    changes: NonNegativeInt = Field(description="Price changes after the opening price.")
    last_change: UtcDatetime


class Move(Model):
    """Change of consensus implied probability over a window (+ = shortened, - = drifted)."""

    window_min: int
    change: float | None
    books_shortened: NonNegativeInt
    books_drifted: NonNegativeInt


class RunnerAnalytics(Model):
    horse_id: str
    non_runner: bool
    books_priced: NonNegativeInt
    best_price: Decimal | None = Field(description="Highest price offered.")
    best_books: tuple[str, ...] = Field(description="Every bookmaker offering the best price.")
    consensus_price: Decimal | None = Field(description="Median price across books.")
    implied_probability: Probability | None = Field(description="1 / consensus price.")
    fair_proportional: Probability | None
    fair_power: Probability | None
    fair_shin: Probability | None
    opening_consensus_price: Decimal | None
    move_since_open: float | None = Field(description="Implied probability now - at opening.")
    moves: tuple[Move, ...]
    steamer: bool
    drifter: bool
    quotes: tuple[BookQuote, ...]


class BookPercent(Model):
    bookmaker_id: str
    book_percent: float | None = Field(description="Sum of implied probabilities x 100.")
    runners_priced: NonNegativeInt
    complete: bool = Field(description="True when the book prices every declared runner.")
    last_update: UtcDatetime


class RaceAnalytics(Event):
    race_id: str = Field(min_length=1)
    revision: NonNegativeInt = Field(description="Bumps on every change to the race's state.")
    as_of: UtcDatetime
    status: MarketStatus
    off_dt: UtcDatetime | None
    books_priced: NonNegativeInt
    runners_priced: NonNegativeInt
    best_book_percent: float | None = Field(description="Book % of every runner's best price.")
    update_rate_per_min: NonNegativeFloat = Field(description="Applied updates per minute.")
    stalest_bookmaker_id: str | None
    stalest_age_s: NonNegativeFloat | None
    books: tuple[BookPercent, ...]
    runners: tuple[RunnerAnalytics, ...]


class BookmakerAnalytics(Event):
    bookmaker_id: str = Field(min_length=1)
    bookmaker: str
    revision: NonNegativeInt
    as_of: UtcDatetime
    races: NonNegativeInt
    runners: NonNegativeInt
    prices: NonNegativeInt
    update_rate_per_min: NonNegativeFloat
    median_staleness_s: NonNegativeFloat | None
    last_update: UtcDatetime | None


class BookmakerPart(Model):
    """One bookmaker over the races of one partition held by the worker that owns it: the
    streams add every partition's up into `BookmakerAnalytics`, so the figures count every race
    whichever worker holds it. Event time is the partition's own newest event (`as_of`), so the
    parts are the same whatever the number of workers."""

    part_id: str = Field(description="`bookmaker_id|partition`: the record's key.")
    bookmaker_id: str = Field(min_length=1)
    bookmaker: str
    partition: NonNegativeInt
    as_of: UtcDatetime
    source: str
    races: NonNegativeInt
    runners: NonNegativeInt
    prices: NonNegativeInt
    updates_in_window: NonNegativeInt = Field(description="Quotes updated in the rate window.")
    ages_s: tuple[NonNegativeFloat, ...] = Field(
        description="Per race priced: seconds since the book's last update, at `as_of`."
    )
    last_update: UtcDatetime | None
