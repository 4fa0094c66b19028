"""REST: historical odds per runner (pre-race prices joined with results) and their summary."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.caching import cache_for
from api.envelope import Item, Page, Paging, paging
from api.listing import Filters, fetch_page
from api.params import Day, IdQuery, Price, text
from api.state import AppState

router = APIRouter(
    prefix="/v1/historical", tags=["historical"], dependencies=[Depends(cache_for(60))]
)


class HistoricalRunner(BaseModel):
    race_id: str
    horse_id: str
    horse: str
    off_dt: datetime
    course_id: str | None
    region: str | None
    min_price: Decimal | None
    max_price: Decimal | None
    mean_price: Decimal | None
    bookmakers: int
    sp: str | None
    sp_decimal: Decimal | None
    sp_favourite: bool
    sp_rank: int | None
    position: str
    finished: int | None
    beaten_lengths: Decimal | None
    field_size: int
    ew_places: int | None
    ew_fraction: str | None
    win_return: Decimal | None
    place_return: Decimal | None
    ew_return: Decimal | None
    # Issue 19: where the prices came from, and the race's and runner's details.
    price_source: str | None = Field(
        default=None,
        description="live: the live price history of a race the system watched; historical: "
        "the backfill (racing.odds.historical.v1); None: no pre-race prices.",
    )
    race_name: str | None = None
    race_type: str | None = None
    race_class: str | None = None
    going: str | None = None
    distance_f: Decimal | None = None
    handicap: bool | None = None
    jockey_id: str | None = None
    jockey: str | None = None
    trainer_id: str | None = None
    trainer: str | None = None
    official_rating: int | None = None
    weight_lbs: int | None = None
    draw: int | None = None
    number: int | None = None
    bsp: Decimal | None = None
    sp_joint_favourite: bool = False


SORTS = {
    "off_dt": "h.off_dt",
    "sp": "h.sp_decimal",
    "position": "h.finished",
    "mean_price": "h.mean_price",
}
HistoricalSort = Annotated[
    str | None,
    Query(
        pattern="^-?(off_dt|sp|position|mean_price)$",
        description="Sort by off_dt, sp, position, mean_price; prefix - to reverse.",
    ),
]
SOURCE = "historical_odds h LEFT JOIN result_runners rr USING (race_id, horse_id)"
COLUMNS = "h.*, h.region_code AS region"


Start = Annotated[Day | None, Query(alias="from", description="First race day.")]
End = Annotated[Day | None, Query(alias="to", description="Last race day.")]
Position = Annotated[str | None, text(16, "e.g. 1, 2, PU, F")]


def historical_filters(
    start: Start = None,
    end: End = None,
    course_id: IdQuery = None,
    horse_id: IdQuery = None,
    jockey_id: IdQuery = None,
    trainer_id: IdQuery = None,
    sp_min: Price = None,
    sp_max: Price = None,
    position: Position = None,
) -> Filters:
    """The query filters shared by /v1/historical/odds and /v1/historical/summary."""
    filters = Filters()
    filters.add("h.off_dt::date >= {}", start)
    filters.add("h.off_dt::date <= {}", end)
    filters.add("h.course_id = {}", course_id)
    filters.add("h.horse_id = {}", horse_id)
    filters.add("rr.jockey_id = {}", jockey_id)
    filters.add("rr.trainer_id = {}", trainer_id)
    filters.add("h.sp_decimal >= {}", sp_min)
    filters.add("h.sp_decimal <= {}", sp_max)
    filters.add("h.position = {}", position)
    return filters


HistoricalFilters = Annotated[Filters, Depends(historical_filters)]


@router.get("/odds", response_model=Page[HistoricalRunner])
async def historical_odds(
    state: AppState,
    page: Annotated[Paging, Depends(paging)],
    filters: HistoricalFilters,
    sort: HistoricalSort = None,
) -> Page[HistoricalRunner]:
    """Per runner: min/max/mean pre-race price, SP, SP favourite rank, position and returns."""
    rows, meta = await fetch_page(
        state.pool, SOURCE, filters, page, sort, SORTS, "-off_dt", "h.race_id, h.horse_id", COLUMNS
    )
    return Page[HistoricalRunner](data=[HistoricalRunner(**dict(r)) for r in rows], meta=meta)


class HistoricalSummary(BaseModel):
    runners: int
    races: int
    first_race: datetime | None
    last_race: datetime | None
    with_sp: int
    with_pre_race_prices: int
    winners: int
    favourites_won: int
    total_win_return: Decimal | None
    total_ew_return: Decimal | None


@router.get("/summary", response_model=Item[HistoricalSummary])
async def historical_summary(
    state: AppState,
    filters: HistoricalFilters,
) -> Item[HistoricalSummary]:
    """Totals over the same filters as /v1/historical/odds (returns for 1-unit stakes)."""
    row = await state.pool.fetchrow(
        f"""SELECT count(*) AS runners, count(DISTINCT h.race_id) AS races,
                   min(h.off_dt) AS first_race, max(h.off_dt) AS last_race,
                   count(h.sp_decimal) AS with_sp, count(h.mean_price) AS with_pre_race_prices,
                   count(*) FILTER (WHERE h.finished = 1) AS winners,
                   count(*) FILTER (WHERE h.finished = 1 AND h.sp_favourite) AS favourites_won,
                   sum(h.win_return) AS total_win_return, sum(h.ew_return) AS total_ew_return
            FROM {SOURCE} WHERE {filters.where}""",  # noqa: S608
        *filters.args,
    )
    return Item[HistoricalSummary](data=HistoricalSummary(**dict(row)))
