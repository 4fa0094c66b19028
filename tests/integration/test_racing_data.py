"""Real racing data end to end (issue 19): the Racing API producers against a local stub serving
the recorded samples and a payload for each upstream quirk, the worker into PostgreSQL, the API
reading it back. One setup for the module (a worker, a database, an API process); each test
asserts one behaviour on the published event and the stored row.
"""

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from producers.racing_api.run import run_historical, run_reference
from schemas import reference as ref
from schemas.base import EventSource, decode, encode
from schemas.market import MarketState, MarketStatus
from schemas.odds import OddsSnapshot, RunnerPrice
from schemas.racecards import Racecard, Runner
from schemas.results import Result, RunnerResult
from schemas.stats import FetchStats
from schemas.topics import (
    FETCH_STATS,
    MARKET_STATE,
    ODDS_HISTORICAL,
    ODDS_LIVE,
    RACECARDS,
    REF_COURSES,
    REFERENCE_TOPICS,
    RESULTS,
    Topic,
)
from tests.conftest import Infra, Runtime, free_port, start_runtime, wait_for_ready
from tests.integration.racing_api.conftest import producer_settings, serving
from tests.kafka_helpers import read_all
from tests.racing_api_quirks import (
    CARD_RACE,
    JF_HORSE,
    JUNK_EXPECTED,
    JUNK_HORSE,
    NR_HORSE,
    RESULT_RACE,
    quirky_cards,
    quirky_result,
)
from tests.racing_api_stub import StubState, sample
from tests.streams_day import Record
from tests.streams_helpers import (
    create_database,
    publish,
    start_group_at_end,
    start_worker,
    wait_until_consumed,
)

pytestmark = pytest.mark.integration

DAY = "2025-10-14"
NEW_BOOK = ("x_lucky_star_bet", "Lucky Star Bet")  # first seen in live prices
BACKFILL_BOOK = ("x_backfill_only_bet", "Backfill Only Bet")  # first seen in backfilled ones
BACKFILL_HORSE = "hrs_55764415"  # neither the non-runner nor the junk-decimal runner
GEO = (51.4175, -0.4008)  # a course's coordinates, where the reference data has them


@dataclass
class World:
    tag: str
    db: asyncpg.Connection
    api: httpx.AsyncClient
    events: dict[str, list[Any]]  # topic -> decoded events of this module's races
    live_race: str
    live_prices: list[OddsSnapshot]


def _live_race(tag: str, now: datetime) -> tuple[str, list[Record], list[OddsSnapshot]]:
    """A race watched live: card, prices from three books (one the registry lacks), market
    status changes, a price after the off (not pre-race), a backfilled price that must not count
    (the race was watched), and its result."""
    race = f"rac_live{tag}"
    off = (now + timedelta(minutes=30)).replace(microsecond=0)
    horses = ("hrs_live_a", "hrs_live_b", "hrs_live_c", "hrs_live_d", "hrs_live_e")
    card = Racecard(
        source=EventSource.RACING_API, source_time=now - timedelta(hours=1), race_id=race,
        course_id="crs_live", course="Live Park", region="GB", race_date=off.date(), off_dt=off,
        race_name="Watched Live Maiden Stakes", field_size=5,
        runners=tuple(Runner(horse_id=h, horse=h.upper(), number=i + 1)
                      for i, h in enumerate(horses)),
    )  # fmt: skip
    books = (("bet365", "Bet365"), ("coral", "Coral"), NEW_BOOK)
    snapshots = []
    for minutes, step in ((50, Decimal(0)), (40, Decimal("0.5")), (20, Decimal("-0.25"))):
        for index, (book_id, book) in enumerate(books):
            prices = tuple(
                RunnerPrice(horse_id=h, decimal=Decimal(3 + 2 * i) + step + index,
                            ew_places=2, ew_denom=4)
                for i, h in enumerate(horses)
            )  # fmt: skip
            snapshots.append(OddsSnapshot(
                source=EventSource.RACING_API, source_time=off - timedelta(minutes=minutes),
                race_id=race, bookmaker_id=book_id, bookmaker=book, prices=prices,
            ))  # fmt: skip
    late = OddsSnapshot(
        source=EventSource.RACING_API, source_time=off + timedelta(minutes=1), race_id=race,
        bookmaker_id="bet365", bookmaker="Bet365",
        prices=(RunnerPrice(horse_id=horses[0], decimal=Decimal(99)),),
    )  # fmt: skip
    backfill = late.model_copy(update={"source_time": off - timedelta(minutes=5),
                                       "event_id": f"backfill{tag}"})  # fmt: skip
    states = [
        MarketState(source=EventSource.RACING_API, source_time=off - timedelta(minutes=m),
                    race_id=race, status=s, reason=r)
        for m, s, r in ((60, MarketStatus.OPEN, None), (15, MarketStatus.SUSPENDED, "non-runner"),
                        (14, MarketStatus.OPEN, None), (0, MarketStatus.OFF, None),
                        (-5, MarketStatus.RESULT, None))
    ]  # fmt: skip
    result = Result(
        source=EventSource.RACING_API, source_time=off + timedelta(minutes=5), race_id=race,
        off_dt=off, course_id="crs_live", region="GB", race_name=card.race_name,
        runners=tuple(
            RunnerResult(horse_id=h, horse=h.upper(), position=str(i + 1), finished=i + 1,
                         sp_decimal=Decimal(3 + 2 * i))
            for i, h in enumerate(horses)
        ),
    )  # fmt: skip
    records = [
        Record(RACECARDS.name, race.encode(), encode(card)),
        *(Record(ODDS_LIVE.name, race.encode(), encode(s)) for s in [*snapshots, late]),
        Record(ODDS_HISTORICAL.name, race.encode(), encode(backfill)),
        *(Record(MARKET_STATE.name, race.encode(), encode(s)) for s in states),
        Record(RESULTS.name, race.encode(), encode(result)),
    ]
    return race, records, snapshots


def _quote_new_book(card: dict[str, Any]) -> None:
    """One more price on the backfilled card, from a bookmaker the registry lacks."""
    runner = next(r for r in card["runners"] if r["horse_id"] == BACKFILL_HORSE)
    quote = dict(runner["odds"][0], bookmaker=BACKFILL_BOOK[1], fractional="9/2", decimal="5.5")
    runner["odds"].append(quote)


def _course_with_coordinates(tag: str) -> Record:
    course = ref.Course(
        source=EventSource.RACING_API, source_time=datetime.now(UTC), id=f"crs_geo{tag}",
        name=f"Geo Park{tag}", region_code="gb", region="Great Britain",
        latitude=GEO[0], longitude=GEO[1],
    )  # fmt: skip
    return Record(REF_COURSES.name, course.id.encode(), encode(course))


def _ours(topic: Topic, records: list[Any], tag: str) -> list[Any]:
    out = []
    for record in records:
        if record.value is None:
            continue
        try:
            event: Any = decode(topic.model, record.value)
        except ValueError:
            continue
        identity = str(getattr(event, "race_id", None) or getattr(event, "id", ""))
        if tag in identity or topic in REFERENCE_TOPICS or topic is FETCH_STATS:
            out.append(event)
    return out


@pytest.fixture(scope="module")
async def world(infra: Infra, artifacts: Path, tmp_path_factory: pytest.TempPathFactory
                ) -> AsyncIterator[World]:  # fmt: skip
    tag = f"_{uuid.uuid4().hex[:6]}"
    app_id = f"darkhorses-test-racing-data-{tag[1:]}"
    database_url = await create_database(infra, "racing_data")
    await start_group_at_end(infra.kafka_bootstrap, app_id, database_url)
    worker: Runtime = start_worker(infra, artifacts, app_id, database_url)
    api_runtime: Runtime | None = None
    db = await asyncpg.connect(database_url)
    try:
        # The historical producer on the quirky day; the reference producer on today's cards.
        cards = quirky_cards(tag, DAY)
        _quote_new_book(cards[0])
        stub = StubState({card["race_id"]: card for card in cards})
        result = quirky_result(tag) | {"date": DAY}
        stub.result_pages = [result]
        settings = producer_settings(
            infra, checkpoint_path=tmp_path_factory.mktemp("ra") / "checkpoint.json"
        )
        async with serving(stub) as api:
            await run_historical(settings, api, date.fromisoformat(DAY),
                                 date.fromisoformat(DAY), show_progress=False)  # fmt: skip
        reference = StubState.today(tag=tag)
        async with serving(reference) as api:
            await run_reference(settings, api)
        live_race, records, live_prices = _live_race(tag, datetime.now(UTC))
        records.append(_course_with_coordinates(tag))
        await publish(infra.kafka_bootstrap, records)
        topics = [RACECARDS, RESULTS, ODDS_HISTORICAL, ODDS_LIVE, MARKET_STATE, FETCH_STATS,
                  *REFERENCE_TOPICS]  # fmt: skip
        await wait_until_consumed(infra.kafka_bootstrap, app_id, worker, [t.name for t in topics])
        events = {
            t.name: _ours(t, await read_all(infra.kafka_bootstrap, t.name), tag) for t in topics
        }
        port = free_port()
        env = infra.env(DARKHORSES_API_PORT=str(port), DARKHORSES_API_STREAMS_GROUP_ID=app_id)
        env["DATABASE_URL"] = database_url
        api_runtime = start_runtime(["api"], env, artifacts / f"api-racing-data-{port}.log")
        base_url = f"http://127.0.0.1:{port}"
        wait_for_ready(base_url, api_runtime, timeout_s=120)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            yield World(tag, db, client, events, live_race, live_prices)
    finally:
        if api_runtime is not None:
            api_runtime.stop()
        worker.stop()
        await db.close()


def _card(world: World, race_id: str) -> Racecard:
    cards = [c for c in world.events[RACECARDS.name] if c.race_id == race_id]
    assert cards, f"no card published for {race_id}"
    return cards[-1]  # type: ignore[no-any-return]


# --- point 4: each quirk, on the published event and the stored row ---


async def test_nr_runner_is_a_non_runner_everywhere(world: World) -> None:
    race = CARD_RACE + world.tag
    runner = next(r for r in _card(world, race).runners if r.horse_id == NR_HORSE)
    assert (runner.non_runner, runner.number, runner.jockey) == (True, None, None)
    published = {p.horse_id for s in world.events[ODDS_HISTORICAL.name] if s.race_id == race
                 for p in s.prices}  # fmt: skip
    assert NR_HORSE not in published
    assert len(published) == 9
    row = await world.db.fetchrow(
        "SELECT non_runner, number FROM runners WHERE race_id = $1 AND horse_id = $2",
        race, NR_HORSE,
    )  # fmt: skip
    assert (row["non_runner"], row["number"]) == (True, None)
    card = (await world.api.get(f"/v1/races/{race}")).json()["data"]
    served = next(r for r in card["runners"] if r["horse_id"] == NR_HORSE)
    assert served["non_runner"] is True
    assert not await world.db.fetchval("SELECT count(*) FROM jockeys WHERE jockey LIKE 'NON-RUN%'")


async def test_sp_joint_favourite_marker_j(world: World) -> None:
    race = RESULT_RACE + world.tag
    (result,) = [r for r in world.events[RESULTS.name] if r.race_id == race]
    runner = next(r for r in result.runners if r.horse_id == JF_HORSE)
    assert (runner.sp, runner.sp_decimal, runner.sp_favourite, runner.sp_joint_favourite) == (
        "7/2J", Decimal("4.5"), True, True,
    )  # fmt: skip
    row = await world.db.fetchrow(
        "SELECT sp, sp_decimal, sp_favourite, sp_joint_favourite, sp_rank FROM result_runners "
        "WHERE race_id = $1 AND horse_id = $2",
        race, JF_HORSE,
    )  # fmt: skip
    assert tuple(row) == ("7/2J", Decimal("4.5"), True, True, 1)


async def test_junk_decimal_is_replaced_from_fractional_and_counted(world: World) -> None:
    race = CARD_RACE + world.tag
    latest = {
        s.bookmaker_id: p.decimal
        for s in world.events[ODDS_HISTORICAL.name] if s.race_id == race
        for p in s.prices if p.horse_id == JUNK_HORSE
    }  # fmt: skip
    assert {book: latest[book] for book in JUNK_EXPECTED} == JUNK_EXPECTED
    rows = await world.db.fetch(
        "SELECT DISTINCT ON (bookmaker_id) bookmaker_id, price_decimal FROM odds_historical "
        "WHERE race_id = $1 AND horse_id = $2 ORDER BY bookmaker_id, source_time DESC",
        race, JUNK_HORSE,
    )  # fmt: skip
    stored = {r["bookmaker_id"]: r["price_decimal"] for r in rows}
    assert {book: stored[book] for book in JUNK_EXPECTED} == JUNK_EXPECTED
    stats = await _historical_stats(world)
    assert stats.quirks["decimal_from_fractional"] == 2 * len(JUNK_EXPECTED)  # two cards


async def _historical_stats(world: World) -> FetchStats:
    stats = [
        s
        for s in world.events[FETCH_STATS.name]
        if s.producer == "racing_api.historical" and s.quirks.get("off_dt_missing")
    ]
    assert stats
    row = await world.db.fetchrow(
        "SELECT quirks FROM fetch_stats WHERE event_id = $1", stats[-1].event_id
    )
    assert row is not None
    assert row["quirks"] is not None
    return stats[-1]  # type: ignore[no-any-return]


async def test_race_without_off_dt_is_counted_and_not_carded_from_off_time(world: World) -> None:
    race = f"{CARD_RACE}{world.tag}_nooff"
    assert not [c for c in world.events[RACECARDS.name] if c.race_id == race]
    assert [s for s in world.events[ODDS_HISTORICAL.name] if s.race_id == race]
    assert await world.db.fetchval("SELECT count(*) FROM races WHERE race_id = $1", race) == 0
    assert (
        await world.db.fetchval("SELECT count(*) FROM odds_historical WHERE race_id = $1", race) > 0
    )
    stats = await _historical_stats(world)
    assert stats.quirks["off_dt_missing"] == 1
    stored = await world.db.fetchval(
        "SELECT (quirks ->> 'off_dt_missing')::int FROM fetch_stats WHERE event_id = $1",
        stats.event_id,
    )
    assert stored == 1


async def test_field_size_zero_is_derived_from_the_runners(world: World) -> None:
    race = CARD_RACE + world.tag
    card = _card(world, race)
    assert (card.field_size, card.field_size_upstream, len(card.runners)) == (9, 0, 10)
    row = await world.db.fetchrow(
        "SELECT field_size, field_size_upstream FROM races WHERE race_id = $1", race
    )
    assert tuple(row) == (9, 0)
    served = (await world.api.get(f"/v1/races/{race}")).json()["data"]
    assert (served["field_size"], served["field_size_upstream"]) == (9, 0)


# --- point 1: reference data, round trip ---


async def test_reference_round_trip_pedigree_by_name_and_progeny(world: World) -> None:
    cards = sample("racecards_pro_2025-10-14.json")["racecards"]
    runners = [r for card in cards for r in card["runners"]]
    progeny: dict[str, set[str]] = defaultdict(set)
    for runner in runners:
        progeny[runner["sire_id"]].add(runner["horse_id"])
    for runner in runners:
        horse = (await world.api.get(f"/v1/horses/{runner['horse_id']}")).json()["data"]
        assert (horse["sire"], horse["dam"], horse["damsire"]) == (
            runner["sire"], runner["dam"], runner["damsire"],
        )  # fmt: skip
        assert horse["pedigree_checked"] is True
        assert horse["breeder"] == "Stub Stud"
    for sire_id, horses in progeny.items():
        sire = (await world.api.get(f"/v1/sires/{sire_id}")).json()["data"]
        assert sire["progeny"] == len(horses), sire_id
    listed = (await world.api.get("/v1/sires", params={"limit": 500})).json()
    assert {s["id"] for s in listed["data"]} >= set(progeny)
    dams = (await world.api.get("/v1/dams", params={"limit": 500})).json()["data"]
    assert {d["id"] for d in dams} >= {r["dam_id"] for r in runners}
    damsire = runners[0]["damsire_id"]
    assert (await world.api.get(f"/v1/damsires/{damsire}")).json()["data"]["name"] == runners[0][
        "damsire"
    ]
    trainer = runners[0]["trainer_id"]
    location = await world.db.fetchval(
        "SELECT location FROM trainers WHERE trainer_id = $1", trainer
    )
    assert location == runners[0]["trainer_location"]
    regions = {r["region"] for r in (await world.api.get("/v1/regions")).json()["data"]}
    assert {"GB", "IRE"} <= regions
    assert (await world.api.get("/v1/sires/sir_nobody")).status_code == 404


async def test_bookmakers_first_seen_in_data_are_listed(world: World) -> None:
    listed = (await world.api.get("/v1/bookmakers", params={"limit": 500})).json()["data"]
    book = next(b for b in listed if b["bookmaker_id"] == NEW_BOOK[0])
    assert (book["name"], book["known"]) == (NEW_BOOK[1], False)


async def test_bookmakers_first_seen_in_backfilled_prices_are_listed(world: World) -> None:
    """A name the registry lacks, only ever in the historical producer's prices: the producer
    derives its id, the historical-odds sink adds it to `bookmakers`, the API lists it."""
    race = CARD_RACE + world.tag
    published = [s for s in world.events[ODDS_HISTORICAL.name]
                 if s.race_id == race and s.bookmaker_id == BACKFILL_BOOK[0]]  # fmt: skip
    assert published
    assert {s.bookmaker for s in published} == {BACKFILL_BOOK[1]}
    assert {p.horse_id: p.decimal for s in published for p in s.prices} == {
        BACKFILL_HORSE: Decimal("5.5")
    }
    stored = await world.db.fetchval(
        "SELECT price_decimal FROM odds_historical WHERE race_id = $1 AND bookmaker_id = $2",
        race, BACKFILL_BOOK[0],
    )  # fmt: skip
    assert stored == Decimal("5.5")
    for table in ("odds_latest", "bookmaker_analytics"):  # never seen live
        query = f"SELECT count(*) FROM {table} WHERE bookmaker_id = $1"  # noqa: S608
        assert await world.db.fetchval(query, BACKFILL_BOOK[0]) == 0, table
    row = await world.db.fetchrow(
        "SELECT name, type, known FROM bookmakers WHERE bookmaker_id = $1", BACKFILL_BOOK[0]
    )
    assert tuple(row) == (BACKFILL_BOOK[1], "unknown", False)
    params = {"name": "backfill only", "limit": "500"}
    listed = (await world.api.get("/v1/bookmakers", params=params)).json()["data"]
    assert [(b["bookmaker_id"], b["name"], b["type"], b["known"]) for b in listed] == [
        (*BACKFILL_BOOK, "unknown", False)
    ]


async def test_courses_show_region_name_and_coordinates_where_stored(world: World) -> None:
    course_id = f"crs_geo{world.tag}"
    served = (await world.api.get(f"/v1/courses/{course_id}")).json()["data"]
    assert served == {
        "course_id": course_id, "course": f"Geo Park{world.tag}", "region": "GB",
        "region_name": "Great Britain", "latitude": GEO[0], "longitude": GEO[1],
    }  # fmt: skip
    listed = (await world.api.get("/v1/courses", params={"name": "geo park", "limit": 500})).json()
    assert served in listed["data"]
    # The samples' courses (produce reference): the region's name, no coordinates upstream.
    for raw in sample("courses_gb.json")["courses"]:
        course = (await world.api.get(f"/v1/courses/{raw['id']}")).json()["data"]
        assert (course["region"], course["region_name"]) == ("GB", raw["region"])
        assert (course["latitude"], course["longitude"]) == (None, None)


# --- point 2: full cards and results ---


async def test_full_card_and_result_are_served(world: World) -> None:
    race = CARD_RACE + world.tag
    card = (await world.api.get(f"/v1/races/{race}")).json()["data"]
    assert card["race_name"] == "Every Race Live On Racing TV Nursery Handicap"
    going = _card(world, race).going
    assert (card["race_class"], card["rating_band"], card["going"]) == ("Class 6", "0-60", going)
    claimed = next(r for r in card["runners"] if r["horse_id"] == "hrs_55764415")
    assert (claimed["jockey_claim_lbs"], claimed["official_rating"], claimed["rpr"]) == (5, 60, 63)
    assert claimed["sire"]
    assert claimed["dam"]
    result_race = RESULT_RACE + world.tag
    result = (await world.api.get(f"/v1/results/{result_race}")).json()["data"]
    raw = quirky_result()
    assert (result["race_name"], result["race_class"], result["going"], result["handicap"]) == (
        raw["race_name"], raw["class"], raw["going"], True,
    )  # fmt: skip
    assert result["non_runners"] == raw["non_runners"]
    winner = next(r for r in result["runners"] if r["finished"] == 1)
    raw_winner = next(r for r in raw["runners"] if r["position"] == "1")
    assert (winner["time"], winner["official_rating"], winner["draw"], winner["jockey"]) == (
        raw_winner["time"], int(raw_winner["or"]), int(raw_winner["draw"]), raw_winner["jockey"],
    )  # fmt: skip
    assert Decimal(winner["prize"]) == Decimal(raw_winner["prize"])
    params = {"horse_id": raw_winner["horse_id"]}
    historical = (await world.api.get("/v1/historical/odds", params=params)).json()["data"]
    ours = next(h for h in historical if h["race_id"] == result_race)
    assert (ours["race_name"], ours["going"], ours["race_class"], ours["draw"]) == (
        raw["race_name"], raw["going"], raw["class"], int(raw_winner["draw"]),
    )  # fmt: skip
    assert (ours["jockey"], ours["trainer"], ours["weight_lbs"]) == (
        raw_winner["jockey"], raw_winner["trainer"], int(raw_winner["weight_lbs"]),
    )  # fmt: skip
    assert ours["official_rating"] == int(raw_winner["or"])


# --- point 3: a race watched live has historical odds after its result, no backfill run ---


async def test_watched_race_has_historical_odds_from_its_live_history(world: World) -> None:
    rows = await world.db.fetch(
        "SELECT horse_id, bookmaker_id, source_time, price_decimal FROM odds_history "
        "WHERE race_id = $1",
        world.live_race,
    )
    off = await world.db.fetchval("SELECT off_dt FROM results WHERE race_id = $1", world.live_race)
    last: dict[tuple[str, str], tuple[datetime, Decimal]] = {}
    for row in rows:
        key = (row["horse_id"], row["bookmaker_id"])
        if row["source_time"] <= off and (key not in last or row["source_time"] > last[key][0]):
            last[key] = (row["source_time"], row["price_decimal"])
    assert len(last) == 15  # 5 runners x 3 books
    params = {"from": off.date().isoformat(), "limit": 500}
    served = (await world.api.get("/v1/historical/odds", params=params)).json()["data"]
    ours = {h["horse_id"]: h for h in served if h["race_id"] == world.live_race}
    assert len(ours) == 5
    for horse, row in ours.items():
        prices = [p for (h, _), (_, p) in last.items() if h == horse]
        assert row["price_source"] == "live"
        assert Decimal(row["min_price"]) == min(prices)
        assert Decimal(row["max_price"]) == max(prices)
        assert Decimal(row["mean_price"]) == round(sum(prices) / len(prices), 4)
        assert row["bookmakers"] == 3
    # And the per-bookmaker view: each book's pre-race low, high, mean and last price.
    book = await world.db.fetchrow(
        "SELECT * FROM historical_odds_bookmakers WHERE race_id = $1 AND horse_id = 'hrs_live_a' "
        "AND bookmaker_id = 'bet365'",
        world.live_race,
    )
    assert (book["last_price"], book["min_price"], book["max_price"], book["observations"]) == (
        Decimal("2.75"), Decimal("2.75"), Decimal("3.5"), 3,
    )  # fmt: skip


# --- point 6 (part): market status history, /version ---


async def test_market_status_history_keeps_every_change(world: World) -> None:
    response = await world.api.get(f"/v1/races/{world.live_race}/market-history")
    statuses = [s["status"] for s in response.json()["data"]]
    assert statuses == ["open", "suspended", "open", "off", "result"]
    version = (await world.api.get("/version")).json()
    assert (version["name"], version["api"]) == ("darkhorses", "v1")
