"""REST: a race's book — live or at a point in time — price histories, analytics and movers.

The live book relays the streams worker's analytics (runner_analytics, race_analytics,
race_book_analytics: the numbers racing.analytics.race.v1 carries). A past book (`at`), or a race
the worker has not analysed yet, takes its numbers from the market core (`market.maths`), the
definitions the worker computes with; nothing here defines a number of its own.
"""

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from api.caching import cache_for
from api.envelope import Item, Page, PageMeta
from api.errors import NotFoundError
from api.params import MAX_LIST_ITEMS, Id, IdPath, Instant
from api.races import RaceSummary, load_race
from api.state import AppState
from market import maths as mm

router = APIRouter(prefix="/v1", tags=["odds"])
BOOK_CACHE_CONTROL = {"Cache-Control": "public, max-age=1"}  # the fast path sends the same


class OddsFormat(StrEnum):
    DECIMAL = "decimal"
    FRACTIONAL = "fractional"
    PROBABILITY = "probability"


class Quote(BaseModel):
    decimal: Decimal | None = Field(description="Decimal odds; null when quoted unpriced (SP).")
    fractional: str | None
    probability: float | None = Field(description="Implied probability, 1 / decimal.")
    display: str = Field(description="The price in the requested odds_format.")
    ew_places: int | None
    ew_denom: int | None
    source_time: datetime


class BookRunner(BaseModel):
    horse_id: str
    horse: str
    number: int | None
    non_runner: bool
    best_price: Decimal | None = Field(description="The highest decimal price on offer.")
    best_books: list[str] = Field(description="Every bookmaker offering the best price.")
    consensus_price: Decimal | None = Field(description="Median price across bookmakers.")
    implied_probability: float | None = None
    fair_probability: float | None = Field(
        default=None, description="Margin removed by Shin's method (the analytics' fair_shin)."
    )
    move_since_open: float | None = None
    move_5m: float | None = None
    move_15m: float | None = None
    move_60m: float | None = None
    steamer: bool = False
    drifter: bool = False
    prices: dict[str, Quote] = Field(description="Quotes by bookmaker id.")


class BookColumn(BaseModel):
    bookmaker_id: str
    bookmaker: str
    type: str | None
    last_update: datetime | None
    book_percent: float | None
    runners_priced: int


class MarketSummary(BaseModel):
    best_book_percent: float | None
    books_priced: int
    runners_priced: int
    update_rate_per_min: float | None
    stalest_bookmaker_id: str | None


class Book(BaseModel):
    race: RaceSummary
    odds_format: OddsFormat
    at: datetime | None = Field(description="The instant shown; null for the live book.")
    previous_change: datetime | None = Field(description="Latest price change at or before `at`.")
    next_change: datetime | None = Field(description="First price change after `at`.")
    bookmakers: list[BookColumn]
    runners: list[BookRunner]
    analytics: MarketSummary


def display(decimal: Decimal | None, fractional: str | None, odds_format: OddsFormat) -> str:
    if decimal is None:
        return "SP"
    if odds_format is OddsFormat.FRACTIONAL and fractional:
        return fractional
    if odds_format is OddsFormat.PROBABILITY:
        return f"{1 / float(decimal):.4f}"
    return f"{decimal.normalize():f}" if decimal == decimal.to_integral() else f"{decimal:.2f}"


def _quote(row: asyncpg.Record, odds_format: OddsFormat) -> Quote:
    decimal = row["price_decimal"]
    return Quote(
        decimal=decimal,
        fractional=row["price_fractional"],
        probability=None if decimal is None else round(1 / float(decimal), 6),
        display=display(decimal, row["price_fractional"], odds_format),
        ew_places=row["ew_places"],
        ew_denom=row["ew_denom"],
        source_time=row["source_time"],
    )


def _core_numbers(
    runners: list[asyncpg.Record], by_runner: dict[str, dict[str, Quote]]
) -> dict[str, dict[str, Any]]:
    """Best price and books, consensus, implied and fair probability per runner, by the market
    core's definitions (as `market.analytics.race_analytics_reference` computes them)."""
    numbers: dict[str, dict[str, Any]] = {}
    consensus: dict[str, float] = {}
    for runner in runners:
        horse = runner["horse_id"]
        priced = {b: q.decimal for b, q in by_runner.get(horse, {}).items() if q.decimal}
        if not priced:
            continue
        best, books = mm.best_price(priced)
        middle = mm.median([float(p) for p in priced.values()])
        numbers[horse] = {
            "best_price": best,
            "best_books": list(books),
            "consensus_price": Decimal(mm.price_text(middle)),
            "implied_probability": 1 / middle,
        }
        if not runner["non_runner"]:
            consensus[horse] = middle
    for horse, fair in mm.fair_by_runner(consensus)[mm.PRIMARY_FAIR].items():
        numbers[horse]["fair_probability"] = fair
    return numbers


@router.get("/races/{race_id}/book", response_model=Item[Book])
async def race_book(
    state: AppState,
    race_id: IdPath,
    odds_format: Annotated[OddsFormat, Query()] = OddsFormat.DECIMAL,
    at: Annotated[
        Instant | None, Query(description="Show the book as it was at this instant.")
    ] = None,
) -> Response:
    """Every runner x bookmaker with best price and analytics; `at` gives a past book.

    The live book is served from a per-process cache at most `book_cache_s` old.
    """

    async def build() -> bytes:
        book = await build_book(state.pool, race_id, odds_format, at)
        return Item[Book](data=book).model_dump_json().encode()

    if at is None:
        body = (await state.book_cache.get((race_id, odds_format), build)).body
    else:
        body = await build()
    # Set here: FastAPI drops a dependency's headers when the route returns its own Response.
    return Response(body, media_type="application/json", headers=BOOK_CACHE_CONTROL)


async def build_book(
    pool: asyncpg.Pool, race_id: str, odds_format: OddsFormat, at: datetime | None
) -> Book:
    """The book from independent queries run side by side, each on its own pooled connection.

    One after another they cost a round trip each, and under load each round trip waits a whole
    turn of a busy event loop: the live book took 130-250 ms to rebuild at 64 connections, longer
    than its cache lets a book age. Each query was already its own snapshot, so running them
    concurrently changes no guarantee.
    """
    live = at is None
    try:
        return await _build_book(pool, race_id, odds_format, at, live)
    except ExceptionGroup as group:  # the TaskGroup's; callers expect the error itself (404)
        raise group.exceptions[0] from None


async def _build_book(
    pool: asyncpg.Pool, race_id: str, odds_format: OddsFormat, at: datetime | None, live: bool
) -> Book:
    async with asyncio.TaskGroup() as tasks:
        race = tasks.create_task(load_race(pool, race_id))
        runners = tasks.create_task(
            pool.fetch(
                "SELECT horse_id, horse, number, non_runner FROM runners WHERE race_id = $1 "
                "ORDER BY number NULLS LAST, horse_id",
                race_id,
            )
        )
        names = tasks.create_task(pool.fetch("SELECT bookmaker_id, name, type FROM bookmakers"))
        if live:
            quotes = tasks.create_task(
                pool.fetch(
                    "SELECT horse_id, bookmaker_id, price_decimal, price_fractional, ew_places, "
                    "ew_denom, source_time FROM odds_latest WHERE race_id = $1",
                    race_id,
                )
            )
            runner_analytics = tasks.create_task(
                pool.fetch("SELECT * FROM runner_analytics WHERE race_id = $1", race_id)
            )
            percents = tasks.create_task(
                pool.fetch(
                    "SELECT bookmaker_id, book_percent FROM race_book_analytics WHERE race_id = $1",
                    race_id,
                )
            )
            race_analytics = tasks.create_task(
                pool.fetchrow("SELECT * FROM race_analytics WHERE race_id = $1", race_id)
            )
        else:
            quotes = tasks.create_task(
                pool.fetch(
                    "SELECT DISTINCT ON (horse_id, bookmaker_id) horse_id, bookmaker_id, "
                    "price_decimal, price_fractional, ew_places, ew_denom, source_time "
                    "FROM odds_history WHERE race_id = $1 AND source_time <= $2 "
                    "ORDER BY horse_id, bookmaker_id, source_time DESC",
                    race_id,
                    at,
                )
            )
            previous_change = tasks.create_task(
                pool.fetchval(
                    "SELECT max(source_time) FROM odds_history "
                    "WHERE race_id = $1 AND source_time <= $2",
                    race_id,
                    at,
                )
            )
            next_change = tasks.create_task(
                pool.fetchval(
                    "SELECT min(source_time) FROM odds_history "
                    "WHERE race_id = $1 AND source_time > $2",
                    race_id,
                    at,
                )
            )
    by_runner: dict[str, dict[str, Quote]] = {}
    for row in quotes.result():
        by_runner.setdefault(row["horse_id"], {})[row["bookmaker_id"]] = _quote(row, odds_format)
    analytics = {r["horse_id"]: r for r in runner_analytics.result()} if live else {}
    unanalysed = [r for r in runners.result() if r["horse_id"] not in analytics]
    core = _core_numbers(runners.result(), by_runner) if unanalysed else {}
    book_runners = [
        _book_runner(
            runner,
            by_runner.get(runner["horse_id"], {}),
            analytics.get(runner["horse_id"]),
            core.get(runner["horse_id"], {}),
        )
        for runner in runners.result()
    ]
    non_runners = {r["horse_id"] for r in runners.result() if r["non_runner"]}
    columns = _columns(
        names.result(), quotes.result(), percents.result() if live else [], non_runners
    )
    summary = _market_summary(race_analytics.result() if live else None, book_runners, columns)
    return Book(
        race=race.result(),
        odds_format=odds_format,
        at=at,
        previous_change=None if live else previous_change.result(),
        next_change=None if live else next_change.result(),
        bookmakers=columns,
        runners=book_runners,
        analytics=summary,
    )


def _book_runner(
    runner: asyncpg.Record,
    prices: dict[str, Quote],
    analytics: asyncpg.Record | None,
    core: dict[str, Any],
) -> BookRunner:
    """The worker's numbers when it has analysed the race, else the market core's; a runner
    with no price at the instant asked has none."""
    fields: dict[str, Any] = {"best_price": None, "best_books": [], "consensus_price": None}
    fields.update(core)
    if analytics is not None:
        fields.update(
            best_price=analytics["best_price"],
            best_books=list(analytics["best_books"]),
            consensus_price=analytics["consensus_price"],
            implied_probability=analytics["implied_probability"],
            fair_probability=analytics[f"fair_{mm.PRIMARY_FAIR.value}"],
            move_since_open=analytics["move_since_open"],
            move_5m=analytics["move_5m"],
            move_15m=analytics["move_15m"],
            move_60m=analytics["move_60m"],
            steamer=analytics["steamer"],
            drifter=analytics["drifter"],
        )
    return BookRunner(
        horse_id=runner["horse_id"],
        horse=runner["horse"],
        number=runner["number"],
        non_runner=runner["non_runner"],
        prices=prices,
        **fields,
    )


def _columns(
    bookmakers: list[asyncpg.Record],
    quotes: list[asyncpg.Record],
    book_percents: list[asyncpg.Record],
    non_runners: set[str],
) -> list[BookColumn]:
    """Each book's column: the worker's book % when stored, else the core's over the runners."""
    names = {r["bookmaker_id"]: (r["name"], r["type"]) for r in bookmakers}
    latest: dict[str, datetime] = {}
    priced: dict[str, int] = {}
    running: dict[str, list[float]] = {}
    for row in quotes:
        book = row["bookmaker_id"]
        latest[book] = max(latest.get(book, row["source_time"]), row["source_time"])
        if row["price_decimal"] is not None:
            priced[book] = priced.get(book, 0) + 1
            if row["horse_id"] not in non_runners:
                running.setdefault(book, []).append(float(row["price_decimal"]))
    percents = {b: mm.book_percent(p) for b, p in running.items()}
    percents.update((r["bookmaker_id"], r["book_percent"]) for r in book_percents)
    return [
        BookColumn(
            bookmaker_id=book,
            bookmaker=names.get(book, (book, None))[0],
            type=names.get(book, (book, None))[1],
            last_update=latest[book],
            book_percent=percents.get(book),
            runners_priced=priced.get(book, 0),
        )
        for book in sorted(latest, key=lambda b: names.get(b, (b, None))[0].lower())
    ]


def _market_summary(
    row: asyncpg.Record | None, runners: list[BookRunner], columns: list[BookColumn]
) -> MarketSummary:
    """The streams' race analytics for a live book; computed from the book for a past one."""
    if row is not None:
        return MarketSummary(
            best_book_percent=row["best_book_percent"],
            books_priced=row["books_priced"],
            runners_priced=row["runners_priced"],
            update_rate_per_min=row["update_rate_per_min"],
            stalest_bookmaker_id=row["stalest_bookmaker_id"],
        )
    best = [float(r.best_price) for r in runners if not r.non_runner and r.best_price]
    dated = [c for c in columns if c.last_update is not None]
    stalest = min(dated, key=lambda c: c.last_update or c.bookmaker_id, default=None)
    return MarketSummary(
        best_book_percent=mm.book_percent(best) if best else None,
        books_priced=sum(1 for c in columns if c.runners_priced),
        runners_priced=len(best),
        update_rate_per_min=None,
        stalest_bookmaker_id=stalest.bookmaker_id if stalest else None,
    )


class PricePoint(BaseModel):
    t: datetime = Field(description="Source time of the price (bucket end when downsampled).")
    bookmaker_id: str
    decimal: Decimal | None
    fractional: str | None


class PriceHistory(BaseModel):
    race_id: str
    horse_id: str
    interval_s: int | None
    points: list[PricePoint]


@router.get(
    "/races/{race_id}/runners/{horse_id}/history",
    response_model=Item[PriceHistory],
    dependencies=[Depends(cache_for(2))],
)
async def price_history(
    state: AppState,
    race_id: IdPath,
    horse_id: IdPath,
    bookmaker: Annotated[
        list[Id] | None,
        Query(max_length=MAX_LIST_ITEMS, description="Bookmaker ids (up to 50); all if absent."),
    ] = None,
    start: Annotated[Instant | None, Query(alias="from", description="First instant.")] = None,
    end: Annotated[Instant | None, Query(alias="to", description="Last instant.")] = None,
    interval_s: Annotated[
        int | None, Query(ge=1, le=86_400, description="Downsample: last price per bucket.")
    ] = None,
) -> Item[PriceHistory]:
    """A runner's price changes per bookmaker, oldest first, optionally downsampled."""
    exists = await state.pool.fetchval(
        "SELECT 1 FROM runners WHERE race_id = $1 AND horse_id = $2", race_id, horse_id
    )
    if not exists:
        raise NotFoundError(f"no runner {horse_id} in race {race_id}", race_id=race_id)
    args: list[Any] = [race_id, horse_id, bookmaker, start, end]
    where = (
        "race_id = $1 AND horse_id = $2 AND ($3::text[] IS NULL OR bookmaker_id = ANY($3)) "
        "AND ($4::timestamptz IS NULL OR source_time >= $4) "
        "AND ($5::timestamptz IS NULL OR source_time <= $5)"
    )
    if interval_s is None:
        sql = (
            "SELECT source_time AS t, bookmaker_id, price_decimal, price_fractional "  # noqa: S608
            f"FROM odds_history WHERE {where} ORDER BY source_time, bookmaker_id LIMIT 20000"
        )
    else:
        args.append(timedelta(seconds=interval_s))
        sql = (
            "SELECT * FROM (SELECT DISTINCT ON (bookmaker_id, bucket) "  # noqa: S608
            "date_bin($6::interval, source_time, 'epoch') + $6::interval AS t, "
            "date_bin($6::interval, source_time, 'epoch') AS bucket, "
            "bookmaker_id, price_decimal, price_fractional "
            f"FROM odds_history WHERE {where} "
            "ORDER BY bookmaker_id, bucket, source_time DESC) b "
            "ORDER BY t, bookmaker_id LIMIT 20000"
        )
    rows = await state.pool.fetch(sql, *args)
    points = [
        PricePoint(
            t=r["t"],
            bookmaker_id=r["bookmaker_id"],
            decimal=r["price_decimal"],
            fractional=r["price_fractional"],
        )
        for r in rows
    ]
    history = PriceHistory(race_id=race_id, horse_id=horse_id, interval_s=interval_s, points=points)
    return Item[PriceHistory](data=history)


class Mover(BaseModel):
    race_id: str
    course: str
    off_dt: datetime
    horse_id: str
    horse: str
    consensus_price: Decimal | None
    opening_consensus_price: Decimal | None
    move: float = Field(description="Change in implied probability over the window (+ shortened).")
    steamer: bool
    drifter: bool


class MoveWindow(StrEnum):
    FIVE = "5m"
    FIFTEEN = "15m"
    SIXTY = "60m"
    OPEN = "open"


_MOVE_COLUMNS = {
    MoveWindow.FIVE: "move_5m",
    MoveWindow.FIFTEEN: "move_15m",
    MoveWindow.SIXTY: "move_60m",
    MoveWindow.OPEN: "move_since_open",
}


@router.get("/movers", response_model=Page[Mover], dependencies=[Depends(cache_for(2))])
async def movers(
    state: AppState,
    window: Annotated[MoveWindow, Query()] = MoveWindow.FIFTEEN,
    direction: Annotated[str, Query(pattern="^(steamers|drifters)$")] = "steamers",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Page[Mover]:
    """Biggest steamers (shortening) or drifters in races not yet off."""
    column = _MOVE_COLUMNS[window]
    order = "DESC" if direction == "steamers" else "ASC"
    sign = ">" if direction == "steamers" else "<"
    rows = await state.pool.fetch(
        f"""SELECT a.race_id, r.course, r.off_dt, a.horse_id, ru.horse, a.consensus_price,
                   a.opening_consensus_price, a.{column} AS move, a.steamer, a.drifter
            FROM runner_analytics a
            JOIN races r USING (race_id)
            JOIN runners ru USING (race_id, horse_id)
            LEFT JOIN market_status ms USING (race_id)
            WHERE a.{column} {sign} 0 AND NOT a.non_runner
              AND coalesce(ms.status, 'open') IN ('open', 'suspended')
            ORDER BY a.{column} {order}, a.race_id, a.horse_id LIMIT $1""",  # noqa: S608 - column from a fixed map
        limit,
    )
    data = [Mover(**dict(r)) for r in rows]
    return Page[Mover](data=data, meta=PageMeta(total=len(data), limit=limit, offset=0))
