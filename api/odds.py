"""REST: the live book of a race, from PostgreSQL."""

from datetime import datetime
from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel

from api.errors import NotFoundError
from api.params import IdPath
from api.state import AppState

router = APIRouter(prefix="/v1", tags=["odds"])


class BookPrice(BaseModel):
    horse_id: str
    bookmaker_id: str
    bookmaker: str
    decimal: Decimal | None
    fractional: str | None
    ew_places: int | None
    ew_denom: int | None
    source_time: datetime
    ingest_time: datetime


class RaceOdds(BaseModel):
    race_id: str
    count: int
    data: list[BookPrice]


@router.get("/races/{race_id}/odds", response_model=RaceOdds)
async def race_odds(state: AppState, race_id: IdPath) -> RaceOdds:
    """Every runner x bookmaker latest price for the race."""
    rows = await state.pool.fetch(
        """SELECT horse_id, bookmaker_id, bookmaker, price_decimal, price_fractional,
                  ew_places, ew_denom, source_time, ingest_time
           FROM odds_latest WHERE race_id = $1 ORDER BY horse_id, bookmaker_id""",
        race_id,
    )
    if not rows:
        raise NotFoundError(f"no odds for race {race_id}", race_id=race_id)
    data = [
        BookPrice(
            horse_id=r["horse_id"],
            bookmaker_id=r["bookmaker_id"],
            bookmaker=r["bookmaker"],
            decimal=r["price_decimal"],
            fractional=r["price_fractional"],
            ew_places=r["ew_places"],
            ew_denom=r["ew_denom"],
            source_time=r["source_time"],
            ingest_time=r["ingest_time"],
        )
        for r in rows
    ]
    return RaceOdds(race_id=race_id, count=len(data), data=data)
