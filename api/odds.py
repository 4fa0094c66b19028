"""REST: the latest prices, of one race and across races, from PostgreSQL."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.caching import cache_for
from api.cursor import Cursor, Position, decode, encode
from api.envelope import CursorMeta, CursorPage
from api.errors import NotFoundError
from api.listing import Filters
from api.params import MAX_LIST_ITEMS, Day, Id, IdPath, Instant, like_escape, text
from api.races import RACE_STATUS
from api.stages import Stage, before_off, stage_of
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


class LatestPrice(BaseModel):
    """A runner's latest price at one bookmaker, with its race."""

    race_id: str = Field(examples=["rac_11775764"])
    horse_id: str
    horse: str | None = Field(description="Null while the race's card is not stored.")
    bookmaker_id: str = Field(examples=["bet365"])
    bookmaker: str
    decimal: Decimal | None = Field(description="Null for no price (SP only).")
    fractional: str | None
    ew_places: int | None
    ew_denom: int | None
    opening: Decimal | None = Field(description="The first price seen.")
    high: Decimal | None
    low: Decimal | None
    changes: int
    updated: datetime = Field(description="When the bookmaker set this price (event time).")
    ingest_time: datetime
    course_id: str | None
    course: str | None
    region: str | None
    race_date: date | None
    off_dt: datetime | None
    race_name: str | None
    status: str | None = Field(description="open, suspended, off, abandoned or result")
    stage: Stage | None = Field(description="The race's stage now; null without its card.")


FEED_COLUMNS = f"""
    o.race_id, o.horse_id, ru.horse, o.bookmaker_id, o.bookmaker, o.price_decimal AS decimal,
    o.price_fractional AS fractional, o.ew_places, o.ew_denom, o.opening, o.high, o.low,
    o.changes, o.source_time AS updated, o.ingest_time, r.course_id, r.course,
    r.region_code AS region, r.race_date, r.off_dt, r.race_name,
    CASE WHEN r.race_id IS NOT NULL THEN {RACE_STATUS} END AS status
"""
FEED_FROM = """
    FROM odds_latest o
    LEFT JOIN races r USING (race_id)
    LEFT JOIN market_status ms USING (race_id)
    LEFT JOIN runners ru USING (race_id, horse_id)
"""
FEED_ORDER = "o.source_time, o.race_id, o.horse_id, o.bookmaker_id"


@router.get("/odds", response_model=CursorPage[LatestPrice], dependencies=[Depends(cache_for(2))])
async def latest_odds(
    state: AppState,
    race_date: Annotated[Day | None, Query(alias="date", description="Race day (UK).")] = None,
    course: Annotated[
        str | None, text(100, "Course id, or course name (whole, any case; no wildcards).")
    ] = None,
    region: Annotated[str | None, text(8, examples=["GB"])] = None,
    bookmaker: Annotated[
        list[Id] | None,
        Query(max_length=MAX_LIST_ITEMS, description="Bookmaker ids (up to 50); all if absent."),
    ] = None,
    stage: Annotated[Stage | None, Query(description="Only races in this stage now.")] = None,
    updated_since: Annotated[
        Instant | None, Query(description="Only prices set at or after this instant.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.")] = 100,
    cursor: Cursor = None,
) -> CursorPage[LatestPrice]:
    """The latest price of every runner at every bookmaker across races (the old
    `/api/live-odds`), oldest change first: a client polling with the last page's cursor gets
    the prices changed since (a price that changes again moves to the end, so it is seen again).
    Filters combine; `date`, `course`, `region` and `stage` are the race's, as in /v1/races."""
    filters = Filters()  # the race's first: they choose the races a stage is looked for in
    filters.add("r.race_date = {}", race_date)
    if course is not None:
        filters.args.extend((course, like_escape(course)))
        n = len(filters.args)
        filters.conditions.append(f"(r.course_id = ${n - 1} OR r.course ILIKE ${n})")
    filters.add("r.region_code = {}", region.upper() if region is not None else None)
    now = datetime.now(UTC)
    if stage is not None:
        filters.add("o.race_id = ANY({}::text[])", await _races_in(state, filters, stage, now))
    filters.add("o.bookmaker_id = ANY({}::text[])", bookmaker)
    filters.add("o.source_time >= {}", updated_since)
    if cursor is not None:
        after = decode(cursor)
        filters.args.extend((after.time, after.race_id, after.horse_id, after.bookmaker_id))
        n = len(filters.args)
        filters.conditions.append(f"({FEED_ORDER}) > (${n - 3}, ${n - 2}, ${n - 1}, ${n})")
    rows = await state.pool.fetch(
        f"SELECT {FEED_COLUMNS} {FEED_FROM} WHERE {filters.where} "
        f"ORDER BY {FEED_ORDER} LIMIT {limit + 1}",
        *filters.args,
    )
    data = [_latest_price(row, now) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = data[-1]
        next_cursor = encode(Position(last.updated, last.race_id, last.horse_id, last.bookmaker_id))
    return CursorPage[LatestPrice](data=data, meta=CursorMeta(limit=limit, next_cursor=next_cursor))


async def _races_in(state: AppState, filters: Filters, stage: Stage, now: datetime) -> list[str]:
    """The priced races in `stage` now among those `filters` (on races `r`) keep: stages are a
    function of time, classified by api.stages alone."""
    conditions = [
        filters.where,
        "EXISTS (SELECT 1 FROM odds_latest o WHERE o.race_id = r.race_id)",
    ]
    args = list(filters.args)
    if before_off(stage):
        args.append(now)
        conditions.append(f"r.off_dt > ${len(args)}")
    rows = await state.pool.fetch(
        f"SELECT r.race_id, r.off_dt, {RACE_STATUS} AS status "  # noqa: S608
        "FROM races r LEFT JOIN market_status ms USING (race_id) "
        f"WHERE {' AND '.join(conditions)}",
        *args,
    )
    return [r["race_id"] for r in rows if stage_of(r["off_dt"], now, r["status"]).stage is stage]


def _latest_price(row: asyncpg.Record, now: datetime) -> LatestPrice:
    values = dict(row)
    off_dt = values["off_dt"]
    stage = None if off_dt is None else stage_of(off_dt, now, values["status"]).stage
    return LatestPrice(**values, stage=stage)
