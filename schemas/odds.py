"""Odds: one bookmaker's prices for every runner in one race at one instant."""

from decimal import Decimal

from pydantic import Field

from schemas.base import Code, Event, Id, Model, SmallInt, Text

MAX_RUNNERS = 100
"""Most runners in one race's event (the largest fields are ~40)."""


class RunnerPrice(Model):
    """A runner's price at one bookmaker. `decimal` None means quoted but unpriced (SP only)."""

    horse_id: Id
    decimal: Decimal | None = Field(default=None, gt=1, max_digits=12, decimal_places=4)
    fractional: Code | None = None
    ew_places: SmallInt | None = Field(default=None, le=20)
    ew_denom: SmallInt | None = Field(default=None, ge=1, le=20)


class OddsSnapshot(Event):
    """One race x one bookmaker: the prices that changed (or a full image after a restart)."""

    race_id: Id
    bookmaker_id: Id
    bookmaker: Text = Field(
        min_length=1, max_length=100, description="Display name from the bookmaker registry."
    )
    prices: tuple[RunnerPrice, ...] = Field(min_length=1, max_length=MAX_RUNNERS)
