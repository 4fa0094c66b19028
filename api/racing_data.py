"""REST: sires, dams and damsires with their progeny statistics (Masters style: list with name
search and sorts, and one by id), every market status a race went through, and `/version`."""

from datetime import datetime
from decimal import Decimal
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.caching import cache_for
from api.envelope import Item, Page, Paging, paging
from api.errors import NotFoundError
from api.listing import Listing
from api.params import IdPath, contains
from api.reference import Name
from api.state import AppState

router = APIRouter(tags=["reference"])

ParentSort = Annotated[
    str | None,
    Query(
        pattern="^-?(name|progeny|runs|wins|win_rate)$",
        description="Sort by name, progeny, runs, wins, win_rate; prefix - to reverse.",
    ),
]


class Parent(BaseModel):
    """A sire, dam or damsire with the record of its progeny in stored results."""

    id: str
    name: str
    region: str | None
    progeny: int
    runs: int
    wins: int
    places: int
    win_rate: Decimal
    place_rate: Decimal
    last_run: datetime | None
    last_win: datetime | None


_PARENTS = ("sire", "dam", "damsire")


def _parent_source(role: str) -> tuple[str, str]:
    source = f"{role}s e LEFT JOIN progeny_stats s ON s.role = '{role}' AND s.id = e.{role}_id"
    columns = (
        f"e.{role}_id AS id, e.{role} AS name, e.region, coalesce(s.progeny, 0) AS progeny, "
        "coalesce(s.runs, 0) AS runs, coalesce(s.wins, 0) AS wins, "
        "coalesce(s.places, 0) AS places, coalesce(s.win_rate, 0) AS win_rate, "
        "coalesce(s.place_rate, 0) AS place_rate, s.last_run, s.last_win"
    )
    return source, columns


def _parent_routes(role: str) -> None:
    source, columns = _parent_source(role)
    sorts = {"name": f"e.{role}", "progeny": "progeny", "runs": "runs", "wins": "wins",
             "win_rate": "win_rate"}  # fmt: skip
    listing = Listing(Page[Parent], source=source, columns=columns, sorts=sorts,
                      default_sort="name", key=f"e.{role}_id")  # fmt: skip

    async def list_parents(
        state: AppState,
        page: Annotated[Paging, Depends(paging)],
        name: Name = None,
        sort: ParentSort = None,
    ) -> Page[Parent]:
        return await listing.fetch(state.pool, page, sort, {f"e.{role} ILIKE {{}}": contains(name)})

    async def one_parent(state: AppState, parent_id: IdPath) -> Item[Parent]:
        row = await state.pool.fetchrow(
            f"SELECT {columns} FROM {source} WHERE e.{role}_id = $1",  # noqa: S608
            parent_id,
        )
        if row is None:
            raise NotFoundError(f"no {role} {parent_id}")
        return Item[Parent](data=Parent(**dict(row)))

    list_parents.__doc__ = (
        f"{role.title()}s with their progeny: horses, runs, wins, places, rates, last win."
    )
    one_parent.__doc__ = f"One {role} and its progeny statistics."
    cached = [Depends(cache_for(30))]
    router.add_api_route(f"/v1/{role}s", list_parents, response_model=Page[Parent],
                         name=f"list_{role}s", dependencies=cached)  # fmt: skip
    router.add_api_route(f"/v1/{role}s/{{parent_id}}", one_parent, response_model=Item[Parent],
                         name=f"get_{role}", dependencies=cached)  # fmt: skip


for _role in _PARENTS:
    _parent_routes(_role)


class MarketStatusChange(BaseModel):
    status: str
    reason: str | None
    source_time: datetime


@router.get(
    "/v1/races/{race_id}/market-history",
    response_model=Item[list[MarketStatusChange]],
    tags=["races"],
    dependencies=[Depends(cache_for(5))],
)
async def market_history(state: AppState, race_id: IdPath) -> Item[list[MarketStatusChange]]:
    """Every market status the race went through (open, suspended, reopened, off, result), in
    event-time order."""
    rows = await state.pool.fetch(
        "SELECT status, reason, source_time FROM market_status_history WHERE race_id = $1 "
        "ORDER BY source_time, event_id",
        race_id,
    )
    if not rows and not await state.pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM races WHERE race_id = $1)", race_id
    ):
        raise NotFoundError(f"no race {race_id}", race_id=race_id)
    return Item[list[MarketStatusChange]](data=[MarketStatusChange(**dict(r)) for r in rows])


class Version(BaseModel):
    name: str
    version: str
    api: str


@router.get("/version", response_model=Version, tags=["health"])
async def api_version() -> Version:
    """The running package's version and the REST API's major version."""
    try:
        installed = package_version("darkhorses")
    except PackageNotFoundError:
        installed = "unknown"
    return Version(name="darkhorses", version=installed, api="v1")
