"""REST: races — lists with filters, the Kanban by stage, next and upcoming races, race cards."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.caching import cache_for
from api.envelope import Item, Page, PageMeta, Paging, order_by, paging
from api.errors import NotFoundError
from api.params import Day, IdPath, like_escape, text
from api.stages import Stage, stage_of
from api.state import AppState

router = APIRouter(prefix="/v1", tags=["races"])

# A race's market status (`races r LEFT JOIN market_status ms`): open until a status arrives.
RACE_STATUS = "coalesce(ms.status, CASE WHEN r.is_abandoned THEN 'abandoned' ELSE 'open' END)"
RACE_COLUMNS = f"""
    r.race_id, r.course_id, r.course, r.region_code, r.race_date, r.off_dt, r.race_name,
    r.race_type, r.race_class, r.distance_f, r.going, r.surface, r.field_size, r.is_abandoned,
    {RACE_STATUS} AS status,
    ra.as_of AS last_update,
    fav.horse_id AS fav_horse_id, fav.horse AS fav_horse, fav.best_price AS fav_best_price,
    fav.consensus_price AS fav_consensus_price, fav.best_books AS fav_best_books
"""
RACE_FROM = """
    FROM races r
    LEFT JOIN market_status ms USING (race_id)
    LEFT JOIN race_analytics ra USING (race_id)
    LEFT JOIN LATERAL (
        SELECT an.horse_id, ru.horse, an.best_price, an.consensus_price, an.best_books
        FROM runner_analytics an JOIN runners ru USING (race_id, horse_id)
        WHERE an.race_id = r.race_id AND NOT an.non_runner AND an.consensus_price IS NOT NULL
        ORDER BY an.consensus_price, an.horse_id LIMIT 1
    ) fav ON true
"""
SORTS = {"off_dt": "r.off_dt", "course": "r.course", "race_name": "r.race_name"}
RaceSort = Annotated[
    str | None,
    Query(
        pattern="^-?(off_dt|course|race_name)$",
        description="Sort by off_dt, course, race_name; prefix - to reverse.",
    ),
]


class Favourite(BaseModel):
    horse_id: str
    horse: str
    best_price: Decimal | None
    consensus_price: Decimal | None
    best_books: list[str]


class RaceSummary(BaseModel):
    race_id: str = Field(examples=["rac_11775764"])
    course_id: str
    course: str = Field(examples=["Kempton (AW)"])
    region: str = Field(examples=["GB"])
    race_date: date
    off_dt: datetime
    race_name: str
    race_type: str | None
    race_class: str | None
    distance_f: Decimal | None
    going: str | None
    surface: str | None
    field_size: int | None
    status: str = Field(description="open, suspended, off, abandoned or result")
    stage: Stage
    minutes_to_off: float
    next_stage_change: datetime | None
    last_update: datetime | None = Field(description="Event time of the newest price applied.")
    favourite: Favourite | None


def race_summary(row: asyncpg.Record, now: datetime) -> RaceSummary:
    position = stage_of(row["off_dt"], now, row["status"])
    favourite = None
    if row["fav_horse_id"] is not None:
        favourite = Favourite(
            horse_id=row["fav_horse_id"],
            horse=row["fav_horse"],
            best_price=row["fav_best_price"],
            consensus_price=row["fav_consensus_price"],
            best_books=list(row["fav_best_books"] or []),
        )
    return RaceSummary(
        race_id=row["race_id"],
        course_id=row["course_id"],
        course=row["course"],
        region=row["region_code"],
        race_date=row["race_date"],
        off_dt=row["off_dt"],
        race_name=row["race_name"],
        race_type=row["race_type"],
        race_class=row["race_class"],
        distance_f=row["distance_f"],
        going=row["going"],
        surface=row["surface"],
        field_size=row["field_size"],
        status=row["status"],
        stage=position.stage,
        minutes_to_off=round((row["off_dt"] - now).total_seconds() / 60, 2),
        next_stage_change=position.next_change,
        last_update=row["last_update"],
        favourite=favourite,
    )


async def fetch_races(
    pool: asyncpg.Pool, where: str, args: list[Any], order: str, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    rows = await pool.fetch(
        f"SELECT {RACE_COLUMNS} {RACE_FROM} WHERE {where} ORDER BY {order} "
        f"LIMIT {limit} OFFSET {offset}",
        *args,
    )
    total: int = await pool.fetchval(f"SELECT count(*) FROM races r WHERE {where}", *args)  # noqa: S608
    return rows, total


@router.get("/races", response_model=Page[RaceSummary], dependencies=[Depends(cache_for(2))])
async def list_races(
    state: AppState,
    page: Annotated[Paging, Depends(paging)],
    race_date: Annotated[Day | None, Query(alias="date", description="Race day (UK).")] = None,
    course: Annotated[
        str | None, text(100, "Course id, or course name (whole, any case; no wildcards).")
    ] = None,
    region: Annotated[str | None, text(8, examples=["GB"])] = None,
    stage: Annotated[Stage | None, Query(description="Only races in this stage now.")] = None,
    sort: RaceSort = None,
) -> Page[RaceSummary]:
    """Races with filters; each carries its stage, favourite and last update."""
    order = order_by(sort, SORTS, "off_dt", "r.race_id")
    conditions: list[str] = ["true"]
    args: list[Any] = []
    if race_date is not None:
        args.append(race_date)
        conditions.append(f"r.race_date = ${len(args)}")
    if course is not None:
        args.extend((course, like_escape(course)))
        conditions.append(f"(r.course_id = ${len(args) - 1} OR r.course ILIKE ${len(args)})")
    if region is not None:
        args.append(region.upper())
        conditions.append(f"r.region_code = ${len(args)}")
    now = datetime.now(UTC)
    if stage is not None:
        # Stages are a function of time; fetch candidates by time, classify, then page.
        rows, _ = await fetch_races(state.pool, " AND ".join(conditions), args, order, 10_000, 0)
        matching = [s for s in (race_summary(r, now) for r in rows) if s.stage is stage]
        chunk = matching[page.offset : page.offset + page.limit]
        meta = PageMeta(total=len(matching), limit=page.limit, offset=page.offset, sort=sort)
        return Page[RaceSummary](data=chunk, meta=meta)
    rows, total = await fetch_races(
        state.pool, " AND ".join(conditions), args, order, page.limit, page.offset
    )
    return Page[RaceSummary](
        data=[race_summary(r, now) for r in rows],
        meta=PageMeta(total=total, limit=page.limit, offset=page.offset, sort=sort),
    )


class StageColumn(BaseModel):
    stage: Stage
    races: list[RaceSummary]


class Board(BaseModel):
    now: datetime
    stages: list[StageColumn]


@router.get("/races/by-stage", response_model=Item[Board], dependencies=[Depends(cache_for(2))])
async def races_by_stage(
    state: AppState,
    hours_ahead: Annotated[int, Query(ge=1, le=72, description="Look-ahead window.")] = 24,
    hours_back: Annotated[int, Query(ge=0, le=24, description="Keep races off this recently.")] = 1,
) -> Item[Board]:
    """The Kanban: races from `hours_back` ago to `hours_ahead` on, in their stage columns."""
    now = datetime.now(UTC)
    rows, _ = await fetch_races(
        state.pool,
        "r.off_dt BETWEEN $1 AND $2",
        [now - timedelta(hours=hours_back), now + timedelta(hours=hours_ahead)],
        "r.off_dt, r.race_id",
        2000,
        0,
    )
    columns: dict[Stage, list[RaceSummary]] = {stage: [] for stage in Stage}
    for row in rows:
        summary = race_summary(row, now)
        columns[summary.stage].append(summary)
    board = Board(now=now, stages=[StageColumn(stage=s, races=r) for s, r in columns.items()])
    return Item[Board](data=board)


@router.get(
    "/races/upcoming", response_model=Page[RaceSummary], dependencies=[Depends(cache_for(2))]
)
async def upcoming_races(
    state: AppState,
    page: Annotated[Paging, Depends(paging)],
    hours: Annotated[int, Query(ge=1, le=72, description="How far ahead.")] = 24,
) -> Page[RaceSummary]:
    """Races not yet off within the next `hours`, soonest first."""
    now = datetime.now(UTC)
    where = (
        "r.off_dt > $1 AND r.off_dt <= $2 AND NOT r.is_abandoned AND NOT EXISTS ("
        "SELECT 1 FROM market_status m WHERE m.race_id = r.race_id "
        "AND m.status IN ('off', 'result', 'abandoned'))"
    )
    args: list[Any] = [now, now + timedelta(hours=hours)]
    order = "r.off_dt, r.race_id"
    rows, total = await fetch_races(state.pool, where, args, order, page.limit, page.offset)
    return Page[RaceSummary](
        data=[race_summary(r, now) for r in rows],
        meta=PageMeta(total=total, limit=page.limit, offset=page.offset, sort="off_dt"),
    )


@router.get("/races/next", response_model=Item[RaceSummary], dependencies=[Depends(cache_for(2))])
async def next_race(state: AppState) -> Item[RaceSummary]:
    """The next race to go off."""
    upcoming = await upcoming_races(state, Paging(limit=1, offset=0), hours=72)
    if not upcoming.data:
        raise NotFoundError("no race is due in the next 72 hours")
    return Item[RaceSummary](data=upcoming.data[0])


class CardRunner(BaseModel):
    horse_id: str
    horse: str
    number: int | None
    draw: int | None
    age: int | None
    weight_lbs: int | None
    jockey_id: str | None
    jockey: str | None
    trainer_id: str | None
    trainer: str | None
    owner_id: str | None
    owner: str | None
    non_runner: bool
    # The full card (issue 19).
    sex: str | None = None
    official_rating: int | None = None
    rpr: int | None = None
    ts: int | None = None
    headgear: str | None = None
    form: str | None = None
    jockey_claim_lbs: int | None = None
    comment: str | None = None
    sire_id: str | None = None
    sire: str | None = None
    dam_id: str | None = None
    dam: str | None = None
    damsire_id: str | None = None
    damsire: str | None = None


class RaceCard(RaceSummary):
    pattern: str | None = None
    age_band: str | None = None
    rating_band: str | None = None
    prize: str | None = None
    distance: str | None = None
    field_size_upstream: int | None = Field(
        default=None,
        description="Upstream's field_size as quoted (can be 0 with a full field); field_size "
        "counts the declared runners that are not non-runners.",
    )
    runners: list[CardRunner]


async def load_race(pool: asyncpg.Pool, race_id: str) -> RaceSummary:
    row = await pool.fetchrow(
        f"SELECT {RACE_COLUMNS} {RACE_FROM} WHERE r.race_id = $1",
        race_id,
    )
    if row is None:
        raise NotFoundError(f"no race {race_id}", race_id=race_id)
    return race_summary(row, datetime.now(UTC))


@router.get("/races/{race_id}", response_model=Item[RaceCard], dependencies=[Depends(cache_for(5))])
async def race_card(state: AppState, race_id: IdPath) -> Item[RaceCard]:
    """A race card: the race and its runners (with jockey, trainer and owner)."""
    summary = await load_race(state.pool, race_id)
    extra = await state.pool.fetchrow(
        "SELECT pattern, age_band, rating_band, prize, distance, field_size_upstream "
        "FROM races WHERE race_id = $1",
        race_id,
    )
    rows = await state.pool.fetch(
        """SELECT ru.horse_id, ru.horse, ru.number, ru.draw, ru.age, ru.weight_lbs,
                  ru.jockey_id, j.jockey, ru.trainer_id, t.trainer, ru.owner_id, o.owner,
                  ru.non_runner, ru.sex, ru.official_rating, ru.rpr, ru.ts, ru.headgear,
                  ru.form, ru.jockey_claim_lbs, ru.comment, ru.sire_id, ru.sire, ru.dam_id,
                  ru.dam, ru.damsire_id, ru.damsire
           FROM runners ru
           LEFT JOIN jockeys j USING (jockey_id)
           LEFT JOIN trainers t USING (trainer_id)
           LEFT JOIN owners o USING (owner_id)
           WHERE ru.race_id = $1 ORDER BY ru.number NULLS LAST, ru.horse_id""",
        race_id,
    )
    card = RaceCard(
        **summary.model_dump(), **dict(extra or {}), runners=[CardRunner(**dict(r)) for r in rows]
    )
    return Item[RaceCard](data=card)
