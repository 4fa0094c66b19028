"""Odds: one bookmaker's prices for every runner in one race at one instant."""

from decimal import Decimal

from pydantic import Field

from schemas.base import Event, Model


class RunnerPrice(Model):
    """A runner's price at one bookmaker. `decimal` None means quoted but unpriced (SP only)."""

    horse_id: str = Field(min_length=1)
    decimal: Decimal | None = Field(default=None, gt=1, max_digits=12, decimal_places=4)
    fractional: str | None = None
    ew_places: int | None = Field(default=None, ge=0)
    ew_denom: int | None = Field(default=None, ge=1)


class OddsSnapshot(Event):
    """One race x one bookmaker: the prices that changed (or a full image after a restart)."""

    race_id: str = Field(min_length=1)
    bookmaker_id: str = Field(min_length=1)
    bookmaker: str = Field(min_length=1, description="Display name from the bookmaker registry.")
    prices: tuple[RunnerPrice, ...] = Field(min_length=1)
