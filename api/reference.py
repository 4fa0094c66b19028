"""REST: reference data (the old Masters API) — courses, bookmakers, regions, jockeys, trainers,
owners with their statistics, horses with pedigree, runners, results and a table-count summary.
Ids are opaque strings everywhere."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.caching import cache_for
from api.envelope import Item, Page, Paging, paging
from api.errors import NotFoundError
from api.listing import Listing
from api.params import Day, IdPath, IdQuery, contains, text
from api.state import AppState
from api.statistics import stored_figures

router = APIRouter(prefix="/v1", tags=["reference"], dependencies=[Depends(cache_for(30))])
Name = Annotated[
    str | None, text(100, "Case-insensitive substring, taken literally (no wildcards).")
]
RegionCode = Annotated[str | None, text(8, examples=["GB"])]
CourseSort = Annotated[
    str | None,
    Query(
        pattern="^-?(course|region)$", description="Sort by course, region; prefix - to reverse."
    ),
]
BookmakerSort = Annotated[
    str | None,
    Query(
        pattern="^-?(name|prices|last_update)$",
        description="Sort by name, prices, last_update; prefix - to reverse.",
    ),
]
PersonSort = Annotated[
    str | None,
    Query(
        pattern="^-?(name|rides|wins|win_rate)$",
        description="Sort by name, rides, wins, win_rate; prefix - to reverse.",
    ),
]
HorseSort = Annotated[
    str | None,
    Query(pattern="^-?(name)$", description="Sort by name; prefix - to reverse."),
]
RunnerSort = Annotated[
    str | None,
    Query(
        pattern="^-?(race_id|number|horse)$",
        description="Sort by race_id, number, horse; prefix - to reverse.",
    ),
]
ResultSort = Annotated[
    str | None,
    Query(pattern="^-?(off_dt)$", description="Sort by off_dt; prefix - to reverse."),
]


class Course(BaseModel):
    course_id: str
    course: str
    region: str = Field(description="Region code, e.g. GB; empty when unknown.")
    region_name: str | None = Field(
        default=None,
        description="The region's name, as the course's reference record gives it, else as "
        "/v1/regions does; null when neither is stored.",
        examples=["Great Britain"],
    )
    latitude: float | None = Field(default=None, description="Where the reference data has it.")
    longitude: float | None = None


_COURSE_SOURCE = "courses c LEFT JOIN regions g USING (region_code)"
_COURSE_COLUMNS = (
    "c.course_id, c.course, c.region_code AS region, coalesce(c.region, g.name) AS region_name, "
    "c.latitude, c.longitude"
)
_COURSES = Listing(
    Page[Course],
    source=_COURSE_SOURCE,
    columns=_COURSE_COLUMNS,
    sorts={"course": "c.course", "region": "c.region_code"},
    default_sort="course",
    key="c.course_id",
)


@router.get("/courses", response_model=Page[Course])
async def courses(
    state: AppState,
    page: Annotated[Paging, Depends(paging)],
    name: Name = None,
    region: RegionCode = None,
    sort: CourseSort = None,
) -> Page[Course]:
    code = region.upper() if region else None
    where = {"c.course ILIKE {}": contains(name), "c.region_code = {}": code}
    return await _COURSES.fetch(state.pool, page, sort, where)


@router.get("/courses/{course_id}", response_model=Item[Course])
async def course(state: AppState, course_id: IdPath) -> Item[Course]:
    row = await state.pool.fetchrow(
        f"SELECT {_COURSE_COLUMNS} FROM {_COURSE_SOURCE} WHERE c.course_id = $1",  # noqa: S608
        course_id,
    )
    if row is None:
        raise NotFoundError(f"no course {course_id}")
    return Item[Course](data=Course(**dict(row)))


class Bookmaker(BaseModel):
    bookmaker_id: str
    name: str
    type: str
    known: bool
    prices: int | None = None
    races: int | None = None
    runners: int | None = None
    update_rate_per_min: float | None = None
    median_staleness_s: float | None = None
    last_update: datetime | None = None


_BOOKMAKERS = Listing(
    Page[Bookmaker],
    source="bookmakers b LEFT JOIN bookmaker_analytics a USING (bookmaker_id)",
    columns="b.bookmaker_id, b.name, b.type, b.known, a.prices, a.races, a.runners, "
    "a.update_rate_per_min, a.median_staleness_s, a.last_update",
    sorts={"name": "b.name", "prices": "a.prices", "last_update": "a.last_update"},
    default_sort="name",
    key="b.bookmaker_id",
)


@router.get("/bookmakers", response_model=Page[Bookmaker])
async def bookmakers(
    state: AppState,
    page: Annotated[Paging, Depends(paging)],
    name: Name = None,
    type: Annotated[str | None, Query(pattern="^(fixed|exchange|spread|tote)$")] = None,
    sort: BookmakerSort = None,
) -> Page[Bookmaker]:
    """The bookmaker registry with live coverage and freshness."""
    return await _BOOKMAKERS.fetch(
        state.pool, page, sort, {"b.name ILIKE {}": contains(name), "b.type = {}": type}
    )


class Region(BaseModel):
    region: str
    name: str


_REGIONS = Listing(
    Page[Region],
    source="regions",
    columns="region_code AS region, name",
    sorts={"region": "region_code"},
    default_sort="region",
    key="region_code",
)


@router.get("/regions", response_model=Page[Region])
async def regions(state: AppState, page: Annotated[Paging, Depends(paging)]) -> Page[Region]:
    return await _REGIONS.fetch(state.pool, page, None)


class PersonStats(BaseModel):
    id: str
    name: str | None
    rides: int
    wins: int
    places: int
    win_rate: Decimal
    place_rate: Decimal
    last_ride: datetime | None
    last_win: datetime | None
    rides_14d: int
    wins_14d: int
    rides_30d: int
    wins_30d: int


_PEOPLE = {
    # route: (entity table, id column, name column, stats view, rides column)
    "jockeys": ("jockeys", "jockey_id", "jockey", "jockey_stats", "rides"),
    "trainers": ("trainers", "trainer_id", "trainer", "trainer_stats", "runs"),
    "owners": ("owners", "owner_id", "owner", "owner_stats", "runs"),
}


def _people_source(route: str) -> tuple[str, str]:
    table, id_col, name_col, view, rides = _PEOPLE[route]
    columns = (
        f"e.{id_col} AS id, e.{name_col} AS name, coalesce(s.{rides}, 0) AS rides, "
        "coalesce(s.wins, 0) AS wins, coalesce(s.places, 0) AS places, "
        "coalesce(s.win_rate, 0) AS win_rate, coalesce(s.place_rate, 0) AS place_rate, "
        f"s.last_{'ride' if rides == 'rides' else 'run'} AS last_ride, s.last_win, "
        f"coalesce(s.{rides}_14d, 0) AS rides_14d, coalesce(s.wins_14d, 0) AS wins_14d, "
        f"coalesce(s.{rides}_30d, 0) AS rides_30d, coalesce(s.wins_30d, 0) AS wins_30d"
    )
    return f"{table} e LEFT JOIN {view} s USING ({id_col})", columns


def _people_route(route: str) -> None:
    table, id_col, name_col, _, _ = _PEOPLE[route]
    source, columns = _people_source(route)
    sorts = {"name": f"e.{name_col}", "rides": "rides", "wins": "wins", "win_rate": "win_rate"}
    listing = Listing(
        Page[PersonStats],
        source=source,
        columns=columns,
        sorts=sorts,
        default_sort="name",
        key=f"e.{id_col}",
    )

    async def list_people(
        state: AppState,
        page: Annotated[Paging, Depends(paging)],
        name: Name = None,
        sort: PersonSort = None,
    ) -> Page[PersonStats]:
        return await listing.fetch(
            state.pool, page, sort, {f"e.{name_col} ILIKE {{}}": contains(name)}
        )

    async def one_person(state: AppState, entity_id: IdPath) -> Item[PersonStats]:
        row = await state.pool.fetchrow(
            f"SELECT {columns} FROM {source} WHERE e.{id_col} = $1",  # noqa: S608
            entity_id,
        )
        if row is None:
            raise NotFoundError(f"no {route[:-1]} {entity_id}")
        return Item[PersonStats](data=PersonStats(**dict(row)))

    list_people.__doc__ = f"{route.title()} with rides, wins, places, rates and 14/30-day form."
    router.add_api_route(
        f"/{route}", list_people, response_model=Page[PersonStats], name=f"list_{route}"
    )
    router.add_api_route(
        f"/{route}/{{entity_id}}", one_person, response_model=Item[PersonStats], name=f"get_{table}"
    )


for _route in _PEOPLE:
    _people_route(_route)


class Horse(BaseModel):
    horse_id: str
    horse: str
    sire_id: str | None
    dam_id: str | None
    damsire_id: str | None
    # The pedigree by name and the horse's details, from reference.horses.v1 (and cards).
    sire: str | None = None
    dam: str | None = None
    damsire: str | None = None
    dob: str | None = None
    sex: str | None = None
    sex_code: str | None = None
    colour: str | None = None
    region: str | None = None
    breeder: str | None = None
    pedigree_checked: bool = False


# Names from the horse's own record, else from the parents' reference tables.
_HORSE_COLUMNS = (
    "h.horse_id, h.horse, h.sire_id, h.dam_id, h.damsire_id, coalesce(h.sire, s.sire) AS sire, "
    "coalesce(h.dam, d.dam) AS dam, coalesce(h.damsire, ds.damsire) AS damsire, h.dob, h.sex, "
    "h.sex_code, h.colour, h.region, h.breeder, h.pedigree_checked"
)
_HORSE_SOURCE = (
    "horses h LEFT JOIN sires s USING (sire_id) LEFT JOIN dams d USING (dam_id) "
    "LEFT JOIN damsires ds USING (damsire_id)"
)
_HORSES = Listing(
    Page[Horse],
    source=_HORSE_SOURCE,
    columns=_HORSE_COLUMNS,
    sorts={"name": "h.horse"},
    default_sort="name",
    key="horse_id",
)


@router.get("/horses", response_model=Page[Horse])
async def horses(
    state: AppState,
    page: Annotated[Paging, Depends(paging)],
    name: Name = None,
    sort: HorseSort = None,
) -> Page[Horse]:
    return await _HORSES.fetch(state.pool, page, sort, {"h.horse ILIKE {}": contains(name)})


@router.get("/horses/{horse_id}", response_model=Item[Horse])
async def horse(state: AppState, horse_id: IdPath) -> Item[Horse]:
    row = await state.pool.fetchrow(
        f"SELECT {_HORSE_COLUMNS} FROM {_HORSE_SOURCE} WHERE h.horse_id = $1",  # noqa: S608
        horse_id,
    )
    if row is None:
        raise NotFoundError(f"no horse {horse_id}")
    return Item[Horse](data=Horse(**dict(row)))


class RunnerEntry(BaseModel):
    race_id: str
    horse_id: str
    horse: str
    number: int | None
    draw: int | None
    jockey_id: str | None
    trainer_id: str | None
    owner_id: str | None
    non_runner: bool


_RUNNERS = Listing(
    Page[RunnerEntry],
    source="runners",
    columns="race_id, horse_id, horse, number, draw, jockey_id, trainer_id, owner_id, non_runner",
    sorts={"race_id": "race_id", "number": "number", "horse": "horse"},
    default_sort="race_id",
    key="race_id, horse_id",
)


@router.get("/runners", response_model=Page[RunnerEntry])
async def runners(
    state: AppState,
    page: Annotated[Paging, Depends(paging)],
    race_id: IdQuery = None,
    horse_id: IdQuery = None,
    jockey_id: IdQuery = None,
    trainer_id: IdQuery = None,
    sort: RunnerSort = None,
) -> Page[RunnerEntry]:
    return await _RUNNERS.fetch(
        state.pool, page, sort,
        {"race_id = {}": race_id, "horse_id = {}": horse_id,
         "jockey_id = {}": jockey_id, "trainer_id = {}": trainer_id},
    )  # fmt: skip


class ResultRunner(BaseModel):
    horse_id: str
    horse: str
    position: str
    finished: int | None
    sp: str | None
    sp_decimal: Decimal | None
    sp_favourite: bool
    sp_rank: int | None
    beaten_lengths: Decimal | None
    win_return: Decimal | None
    place_return: Decimal | None
    ew_return: Decimal | None
    # The full result (issue 19).
    number: int | None = None
    draw: int | None = None
    sp_joint_favourite: bool = False
    bsp: Decimal | None = None
    beaten_total: Decimal | None = None
    time: str | None = None
    prize: Decimal | None = None
    official_rating: int | None = None
    rpr: int | None = None
    tsr: int | None = None
    weight_lbs: int | None = None
    age: int | None = None
    headgear: str | None = None
    jockey_id: str | None = None
    jockey: str | None = None
    jockey_claim_lbs: int | None = None
    trainer_id: str | None = None
    trainer: str | None = None
    owner_id: str | None = None
    comment: str | None = None


class RaceResult(BaseModel):
    race_id: str
    off_dt: datetime
    course_id: str | None
    region: str | None
    field_size: int
    ew_places: int | None = Field(description="None in a win-only race (under 5 ran).")
    ew_fraction: str | None
    race_name: str | None = None
    course: str | None = None
    race_type: str | None = None
    race_class: str | None = None
    pattern: str | None = None
    distance: str | None = None
    distance_f: Decimal | None = None
    going: str | None = None
    surface: str | None = None
    age_band: str | None = None
    rating_band: str | None = None
    winning_time: str | None = None
    non_runners: str | None = None
    handicap: bool | None = Field(
        default=None, description="From the race name; None when unknown (handicap terms)."
    )
    runners: list[ResultRunner] | None = None


_RESULT_COLUMNS = (
    "race_id, off_dt, course_id, region_code AS region, field_size, ew_places, ew_fraction, "
    "race_name, course, race_type, race_class, pattern, distance, distance_f, going, surface, "
    "age_band, rating_band, winning_time, non_runners, handicap"
)
_RESULTS = Listing(
    Page[RaceResult],
    source="results",
    columns=_RESULT_COLUMNS,
    sorts={"off_dt": "off_dt"},
    default_sort="-off_dt",
    key="race_id",
)


@router.get("/results", response_model=Page[RaceResult])
async def results(
    state: AppState,
    page: Annotated[Paging, Depends(paging)],
    start: Annotated[Day | None, Query(alias="from", description="First race day.")] = None,
    end: Annotated[Day | None, Query(alias="to", description="Last race day.")] = None,
    course_id: IdQuery = None,
    region: RegionCode = None,
    sort: ResultSort = None,
) -> Page[RaceResult]:
    return await _RESULTS.fetch(
        state.pool, page, sort,
        {"off_dt::date >= {}": start, "off_dt::date <= {}": end, "course_id = {}": course_id,
         "region_code = {}": region.upper() if region else None},
    )  # fmt: skip


@router.get("/results/{race_id}", response_model=Item[RaceResult])
async def result(state: AppState, race_id: IdPath) -> Item[RaceResult]:
    row = await state.pool.fetchrow(
        f"SELECT {_RESULT_COLUMNS} FROM results WHERE race_id = $1",  # noqa: S608
        race_id,
    )
    if row is None:
        raise NotFoundError(f"no result for race {race_id}")
    runner_rows = await state.pool.fetch(
        "SELECT rr.horse_id, rr.horse, rr.position, rr.finished, rr.sp, rr.sp_decimal, "
        "rr.sp_favourite, rr.sp_rank, rr.beaten_lengths, rr.win_return, rr.place_return, "
        "rr.ew_return, rr.number, rr.draw, rr.sp_joint_favourite, rr.bsp, rr.beaten_total, "
        "rr.time, rr.prize, rr.official_rating, rr.rpr, rr.tsr, rr.weight_lbs, rr.age, "
        "rr.headgear, rr.jockey_id, j.jockey, rr.jockey_claim_lbs, rr.trainer_id, t.trainer, "
        "rr.owner_id, rr.comment FROM result_runners rr "
        "LEFT JOIN jockeys j USING (jockey_id) LEFT JOIN trainers t USING (trainer_id) "
        "WHERE rr.race_id = $1 ORDER BY rr.finished NULLS LAST, rr.horse_id",
        race_id,
    )
    race = RaceResult(**dict(row), runners=[ResultRunner(**dict(r)) for r in runner_rows])
    return Item[RaceResult](data=race)


_COUNTED = {
    table: f"SELECT count(*) FROM {table}"  # noqa: S608  # the code's own table names
    for table in (
        "courses", "bookmakers", "regions", "horses", "jockeys", "trainers", "owners", "races",
        "runners", "results", "result_runners", "odds_latest", "odds_historical",
    )
} | {
    # One row per price: counted from the stored events, days no longer written from their
    # stored figures (sql/0060).
    "odds_history": "SELECT history_price_count()",
}  # fmt: skip


async def table_counts(pool: asyncpg.Pool) -> dict[str, int]:
    """Row counts of every reference and odds table, computed now."""
    return {table: await pool.fetchval(query) for table, query in _COUNTED.items()}


@router.get("/summary", response_model=Item[dict[str, int]])
async def summary(state: AppState) -> Item[dict[str, int]]:
    """Row counts of every reference and odds table (stored by the maintenance job while they
    are younger than `DARKHORSES_API_STATISTICS_MAX_AGE_S`, else counted now)."""
    stored = await stored_figures(state.pool, "summary", state.settings.statistics_max_age_s)
    counts = stored if stored is not None else await table_counts(state.pool)
    return Item[dict[str, int]](data=counts)
