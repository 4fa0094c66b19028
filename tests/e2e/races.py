"""Races the simulator's card does not have yet when the browser tests run: one already run (with
its result), one at the off, and one whose market has a steamer and a drifter. Published on the
real topics, as a producer would, so they reach the dashboard through the whole stack."""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from producers.publisher import EventPublisher
from schemas.base import EventSource
from schemas.bookmakers import by_id
from schemas.market import MarketState, MarketStatus
from schemas.odds import OddsSnapshot, RunnerPrice
from schemas.racecards import Racecard, Runner
from schemas.results import Result, RunnerResult
from schemas.topics import MARKET_STATE, ODDS_LIVE, RACECARDS, RESULTS

SIM = EventSource.SIMULATOR
FIXED_BOOKS = ("bet365", "william_hill", "coral", "paddy_power")
EXCHANGE = "betfair_exchange"
HORSES = ("Dark Star", "Copper Kettle", "Wild Thyme", "Moor Lane", "Quiet Harbour", "Ice Maiden")


@dataclass(frozen=True)
class FabricatedRaces:
    result_id: str
    off_id: str
    movers_id: str
    winner: str
    winner_sp: str
    placed: tuple[str, ...]
    steamer: str
    drifter: str


def _card(race_id: str, course: str, off: datetime, now: datetime) -> Racecard:
    runners = tuple(
        Runner(horse_id=f"hrs_{race_id}_{i}", horse=name, number=i + 1)
        for i, name in enumerate(HORSES)
    )
    return Racecard(
        source=SIM,
        source_time=now,
        race_id=race_id,
        course_id=f"crs_{course.lower()}",
        course=course,
        region="GB",
        race_date=off.date(),
        off_dt=off,
        race_name=f"{course} Test Handicap",
        race_type="Flat",
        field_size=len(runners),
        runners=runners,
    )


def _odds(race_id: str, book: str, at: datetime, prices: dict[int, str]) -> OddsSnapshot:
    bookmaker = by_id(book)
    assert bookmaker is not None
    return OddsSnapshot(
        source=SIM,
        source_time=at,
        race_id=race_id,
        bookmaker_id=bookmaker.id,
        bookmaker=bookmaker.name,
        prices=tuple(
            RunnerPrice(horse_id=f"hrs_{race_id}_{i}", decimal=Decimal(p))
            for i, p in prices.items()
        ),
    )


BOOK = {0: "3.5", 1: "4.5", 2: "6.0", 3: "8.0", 4: "11.0", 5: "17.0"}


async def publish_races(bootstrap: str, tag: str) -> FabricatedRaces:
    now = datetime.now(UTC).replace(microsecond=0)
    result_id, off_id, movers_id = f"rac_e2e{tag}r", f"rac_e2e{tag}o", f"rac_e2e{tag}m"
    async with EventPublisher(bootstrap) as publisher:
        # Run 25 minutes ago, priced before the off, then off, then the result.
        off = now - timedelta(minutes=25)
        await publisher.publish(RACECARDS, _card(result_id, "Wincanton", off, now))
        for book in (*FIXED_BOOKS, EXCHANGE):
            await publisher.publish(
                ODDS_LIVE, _odds(result_id, book, off - timedelta(minutes=5), BOOK)
            )
        await publisher.publish(
            MARKET_STATE,
            MarketState(source=SIM, source_time=off, race_id=result_id, status=MarketStatus.OFF),
        )
        await publisher.publish(RESULTS, _result(result_id, off, now))
        await publisher.publish(
            MARKET_STATE,
            MarketState(source=SIM, source_time=now, race_id=result_id, status=MarketStatus.RESULT),
        )
        # Off three minutes ago, no result yet.
        off = now - timedelta(minutes=3)
        await publisher.publish(RACECARDS, _card(off_id, "Fontwell", off, now))
        for book in FIXED_BOOKS:
            await publisher.publish(
                ODDS_LIVE, _odds(off_id, book, off - timedelta(minutes=4), BOOK)
            )
        await publisher.publish(
            MARKET_STATE,
            MarketState(source=SIM, source_time=off, race_id=off_id, status=MarketStatus.OFF),
        )
        # Off in 90 minutes: runner 1 backed from 10.0 to 4.0 at every book, runner 6 out from
        # 6.0 to 21.0, over the last half hour.
        off = now + timedelta(minutes=90)
        await publisher.publish(RACECARDS, _card(movers_id, "Ludlow", off, now))
        opening = {0: "3.5", 1: "10.0", 2: "6.0", 3: "8.0", 4: "11.0", 5: "6.0"}
        moved = {1: "4.0", 5: "21.0"}
        for book in (*FIXED_BOOKS, EXCHANGE):
            await publisher.publish(
                ODDS_LIVE, _odds(movers_id, book, now - timedelta(minutes=30), opening)
            )
        for book in (*FIXED_BOOKS, EXCHANGE):
            await publisher.publish(
                ODDS_LIVE, _odds(movers_id, book, now - timedelta(seconds=30), moved)
            )
        await publisher.flush()
    return FabricatedRaces(
        result_id=result_id,
        off_id=off_id,
        movers_id=movers_id,
        winner=HORSES[2],
        winner_sp="11/4F",
        placed=(HORSES[0], HORSES[4]),
        steamer=HORSES[1],
        drifter=HORSES[5],
    )


def _result(race_id: str, off: datetime, now: datetime) -> Result:
    order = [(2, "1", 1, "11/4F", "3.75", True), (0, "2", 2, "3/1", "4.0", False),
             (4, "3", 3, "10/1", "11.0", False), (1, "4", 4, "7/2", "4.5", False),
             (3, "5", 5, "8/1", "9.0", False), (5, "PU", None, "16/1", "17.0", False)]  # fmt: skip
    return Result(
        source=SIM,
        source_time=now,
        race_id=race_id,
        off_dt=off,
        course_id="crs_wincanton",
        region="GB",
        field_size=6,
        runners=tuple(
            RunnerResult(
                horse_id=f"hrs_{race_id}_{i}",
                horse=HORSES[i],
                position=position,
                finished=finished,
                sp=sp,
                sp_decimal=Decimal(sp_decimal),
                sp_favourite=favourite,
            )
            for i, position, finished, sp, sp_decimal, favourite in order
        ),
    )


def wait_until_served(base_url: str, races: FabricatedRaces, timeout_s: float = 60) -> None:
    """Until the API serves all three: the result stored, the steamer flagged by the streams."""
    deadline = time.monotonic() + timeout_s
    problem = "nothing asked yet"
    while time.monotonic() < deadline:
        try:
            result = httpx.get(f"{base_url}/v1/results/{races.result_id}", timeout=5)
            book = httpx.get(f"{base_url}/v1/races/{races.movers_id}/book", timeout=5)
            off = httpx.get(f"{base_url}/v1/races/{races.off_id}", timeout=5)
            status = httpx.get(f"{base_url}/v1/races/{races.result_id}", timeout=5)
            steamers = [r["horse"] for r in book.json()["data"]["runners"] if r["steamer"]]
            if (
                result.status_code == 200
                and off.json()["data"]["status"] == "off"
                and status.json()["data"]["status"] == "result"
                and races.steamer in steamers
            ):
                return
            problem = f"result {result.status_code}, steamers {steamers}"
        except (httpx.HTTPError, KeyError, ValueError, TypeError) as error:
            problem = repr(error)
        time.sleep(0.5)
    raise TimeoutError(f"the fabricated races were not served: {problem}")
