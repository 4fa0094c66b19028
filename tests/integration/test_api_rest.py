"""Every REST endpoint against PostgreSQL filled by the streams worker from events on the real
broker: a simulated day (races run, resulted and still to come) and recorded Racing API payloads.
Oracles are computed from the events themselves, never from the rows under test."""

import asyncio
import statistics
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
import websockets
from aiokafka import AIOKafkaConsumer, TopicPartition

from api.stages import stage_of
from client.live import frames_of
from schemas.topics import ANALYTICS_RACES, RACE_TOPICS
from tests.conftest import ApiProcess, Infra, Runtime
from tests.rest_market import Market, publish, recorded, simulated, wait_until_stored

pytestmark = pytest.mark.integration

PREFIX = "rest"  # race and horse ids of this module: rac_rest..., hrs_rest...
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
async def market(infra: Infra, streams_worker: Runtime, api_server: ApiProcess) -> Market:
    market = Market()
    events = simulated(market, PREFIX, NOW) + recorded(market, NOW)
    await publish(infra.kafka_bootstrap, events)
    await wait_until_stored(infra.database_url, market)
    return market


@pytest.fixture
async def client(api_server: ApiProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_server.base_url, timeout=30) as client:
        yield client


async def get_data(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


# -- races ------------------------------------------------------------------------------------


async def test_race_lists_filter_sort_and_page(market: Market, client: httpx.AsyncClient) -> None:
    sim = [c for c in market.cards.values() if c.race_id.startswith(f"rac_{PREFIX}")]
    # A meeting run near midnight spans two race days: page through the fullest course-day.
    meetings = Counter((c.course_id, c.race_date) for c in sim)
    (course, day), count = meetings.most_common(1)[0]
    assert count >= 2, meetings
    expected = sorted(c.race_id for c in sim if (c.course_id, c.race_date) == (course, day))
    # Other modules' simulated days share the course ids: filter by day, count only ours.
    query = {"course": course, "date": day.isoformat()}
    listed = await client.get("/v1/races", params={**query, "limit": 500})
    body = listed.json()
    assert {(r["course_id"], r["race_date"]) for r in body["data"]} == {(course, day.isoformat())}
    ours = sorted(r["race_id"] for r in body["data"] if r["race_id"].startswith(f"rac_{PREFIX}"))
    assert ours == expected
    assert body["meta"]["total"] == len(body["data"])
    offs = [r["off_dt"] for r in body["data"]]
    assert offs == sorted(offs)
    reverse = await get_data(client, "/v1/races", **query, sort="-off_dt", limit=500)
    assert [r["race_id"] for r in reverse] == [r["race_id"] for r in body["data"]][::-1]
    first = await client.get("/v1/races", params={**query, "limit": 1, "offset": 1})
    assert first.json()["data"][0]["race_id"] == body["data"][1]["race_id"]
    total = body["meta"]["total"]  # ours and other modules' races on that course and day
    assert first.json()["meta"] == {"total": total, "limit": 1, "offset": 1, "sort": None}
    region = await client.get("/v1/races", params={"region": "fr", "limit": 500})
    assert {r["race_id"] for r in region.json()["data"]} >= {
        c.race_id for c in market.cards.values() if c.region == "FR"
    }
    for stage in ("Early Market", "Result"):
        staged = await get_data(client, "/v1/races", stage=stage, limit=500)
        assert all(r["stage"] == stage for r in staged)
    bad = await client.get("/v1/races", params={"sort": "horse"})
    assert bad.status_code == 422
    assert bad.json()["error"]["detail"][0]["field"] == "query.sort"
    assert (await client.get("/v1/races", params={"limit": 0})).status_code == 422


async def test_kanban_puts_every_race_in_its_stage(
    market: Market, client: httpx.AsyncClient
) -> None:
    board = await get_data(client, "/v1/races/by-stage", hours_back=3, hours_ahead=24)
    now = datetime.fromisoformat(board["now"])
    placed = {r["race_id"]: column["stage"] for column in board["stages"] for r in column["races"]}
    for race_id, card in market.cards.items():
        if not race_id.startswith(f"rac_{PREFIX}"):
            continue
        state = market.states.get(race_id)
        expected = stage_of(card.off_dt, now, state.status.value if state else "open")
        assert placed[race_id] == expected.stage.value, race_id
    assert [c["stage"] for c in board["stages"]] == [
        "Early Market", "Pre Race", "Going To Post", "At Post", "Off", "Result",
    ]  # fmt: skip
    resulted = [r for r in market.results if r.startswith(f"rac_{PREFIX}")]
    assert resulted, "the simulated day should have resulted races"


async def test_next_and_upcoming_races(market: Market, client: httpx.AsyncClient) -> None:
    upcoming = await get_data(client, "/v1/races/upcoming", hours=24, limit=500)
    answered = datetime.now(UTC)
    ids = [r["race_id"] for r in upcoming]
    assert set(market.open_races(answered)) <= set(ids)
    assert [r["off_dt"] for r in upcoming] == sorted(r["off_dt"] for r in upcoming)
    nxt = await get_data(client, "/v1/races/next")
    assert nxt["race_id"] == upcoming[0]["race_id"]


async def test_race_card_lists_runners_and_people(
    market: Market, client: httpx.AsyncClient
) -> None:
    race_id = market.open_races()[0]
    card = await get_data(client, f"/v1/races/{race_id}")
    expected = market.cards[race_id]
    assert {r["horse_id"]: r["non_runner"] for r in card["runners"]} == {
        r.horse_id: r.non_runner for r in expected.runners
    }
    assert card["course"] == expected.course
    recorded = next(r for r in market.cards if not r.startswith(f"rac_{PREFIX}"))
    real = await get_data(client, f"/v1/races/{recorded}")
    assert any(r["jockey"] for r in real["runners"])
    missing = await client.get("/v1/races/rac_nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


# -- books and prices ----------------------------------------------------------------------------


async def test_live_book_matches_the_topic(market: Market, client: httpx.AsyncClient) -> None:
    for race_id in market.open_races()[:2] + [s.race_id for s in market.snapshots[-1:]]:
        book = await get_data(client, f"/v1/races/{race_id}/book")
        served = {
            (runner["horse_id"], book_id): (Decimal(q["decimal"]) if q["decimal"] else None)
            for runner in book["runners"]
            for book_id, q in runner["prices"].items()
        }
        assert served == market.latest(race_id), race_id
        for runner in book["runners"]:
            priced = {b: Decimal(q["decimal"]) for b, q in runner["prices"].items() if q["decimal"]}
            if priced and not runner["non_runner"]:
                assert Decimal(runner["best_price"]) == max(priced.values())
                assert set(runner["best_books"]) == {
                    b for b, p in priced.items() if p == max(priced.values())
                }
                assert Decimal(runner["consensus_price"]) == pytest.approx(
                    Decimal(str(statistics.median(priced.values()))), abs=Decimal("0.0001")
                )
        assert book["bookmakers"]
    race_id = market.open_races()[0]
    fractional = await get_data(client, f"/v1/races/{race_id}/book", odds_format="fractional")
    quote = next(q for r in fractional["runners"] for q in r["prices"].values() if q["decimal"])
    assert quote["display"] == quote["fractional"]
    probability = await get_data(client, f"/v1/races/{race_id}/book", odds_format="probability")
    quote = next(q for r in probability["runners"] for q in r["prices"].values() if q["decimal"])
    assert float(quote["display"]) == pytest.approx(1 / float(quote["decimal"]), abs=1e-4)
    assert (
        await client.get(f"/v1/races/{race_id}/book", params={"odds_format": "x"})
    ).status_code == 422


async def test_a_cached_book_is_served_whole_and_revalidated(
    market: Market, client: httpx.AsyncClient
) -> None:
    """Repeated requests within the cache window are answered from the cached bytes."""
    race_id = market.open_races()[0]
    first = await client.get(f"/v1/races/{race_id}/book")
    again = await client.get(f"/v1/races/{race_id}/book")
    assert again.status_code == 200
    assert again.headers["content-type"] == "application/json"
    assert again.json()["data"]["race"]["race_id"] == race_id
    if again.content == first.content:
        assert again.headers["etag"] == first.headers["etag"]
    revalidated = await client.get(
        f"/v1/races/{race_id}/book", headers={"If-None-Match": again.headers["etag"]}
    )
    assert revalidated.status_code in (200, 304)
    if revalidated.status_code == 304:
        assert revalidated.content == b""
    unknown = await client.get(f"/v1/races/{race_id}/book", params={"odds_format": "x"})
    assert unknown.status_code == 422


async def test_book_at_a_point_in_time(market: Market, client: httpx.AsyncClient) -> None:
    race_id = market.open_races()[0]
    times = sorted({s.source_time for s in market.snapshots if s.race_id == race_id})
    at = times[len(times) // 2] + timedelta(seconds=1)
    book = await get_data(client, f"/v1/races/{race_id}/book", at=at.isoformat())
    served = {
        (runner["horse_id"], b): Decimal(q["decimal"]) if q["decimal"] else None
        for runner in book["runners"]
        for b, q in runner["prices"].items()
    }
    assert served == market.latest(race_id, at)
    assert datetime.fromisoformat(book["previous_change"]) == max(t for t in times if t <= at)
    assert datetime.fromisoformat(book["next_change"]) == min(t for t in times if t > at)
    naive = await client.get(f"/v1/races/{race_id}/book", params={"at": "2026-01-01T12:00:00"})
    assert naive.status_code == 422


async def test_price_history_and_downsampling(market: Market, client: httpx.AsyncClient) -> None:
    race_id = market.open_races()[0]
    snaps = [s for s in market.snapshots if s.race_id == race_id]
    horse_id = snaps[0].prices[0].horse_id
    changes: dict[tuple[str, datetime], Decimal | None] = {}
    for snap in snaps:
        for price in snap.prices:
            if price.horse_id == horse_id:
                changes[(snap.bookmaker_id, snap.source_time)] = price.decimal
    history = await get_data(client, f"/v1/races/{race_id}/runners/{horse_id}/history")
    served = {
        (p["bookmaker_id"], datetime.fromisoformat(p["t"])): Decimal(p["decimal"])
        if p["decimal"]
        else None
        for p in history["points"]
    }
    assert served == changes
    book_id = snaps[0].bookmaker_id
    one_book = await get_data(
        client, f"/v1/races/{race_id}/runners/{horse_id}/history", bookmaker=book_id, interval_s=600
    )
    buckets: dict[int, tuple[datetime, Decimal | None]] = {}
    for (book, when), value in changes.items():
        if book == book_id:
            bucket = int(when.timestamp()) // 600
            if bucket not in buckets or buckets[bucket][0] < when:
                buckets[bucket] = (when, value)
    assert [Decimal(p["decimal"]) if p["decimal"] else None for p in one_book["points"]] == [
        last for _, (_, last) in sorted(buckets.items())
    ]
    missing = await client.get(f"/v1/races/{race_id}/runners/hrs_nope/history")
    assert missing.status_code == 404


async def test_movers_are_ordered_by_move(market: Market, client: httpx.AsyncClient) -> None:
    for direction in ("steamers", "drifters"):
        for window in ("5m", "15m", "60m", "open"):
            movers = await get_data(
                client, "/v1/movers", direction=direction, window=window, limit=200
            )
            moves = [m["move"] for m in movers]
            if direction == "steamers":
                assert all(m > 0 for m in moves)
                assert moves == sorted(moves, reverse=True)
            else:
                assert all(m < 0 for m in moves)
                assert moves == sorted(moves)
    opened = await get_data(client, "/v1/movers", window="open", direction="steamers", limit=200)
    opened += await get_data(client, "/v1/movers", window="open", direction="drifters", limit=200)
    assert opened, "a two-hour simulated market has movers since the opening"


async def test_race_analytics_in_the_book(market: Market, client: httpx.AsyncClient) -> None:
    race_id = market.open_races()[0]
    book = await get_data(client, f"/v1/races/{race_id}/book")
    analytics = book["analytics"]
    best = [
        Decimal(r["best_price"]) for r in book["runners"] if r["best_price"] and not r["non_runner"]
    ]
    assert analytics["best_book_percent"] == pytest.approx(
        sum(100 / float(p) for p in best), rel=1e-3
    )
    fair = [r["fair_probability"] for r in book["runners"] if r["fair_probability"] is not None]
    assert sum(fair) == pytest.approx(1, abs=1e-6)


# -- latest prices across races -------------------------------------------------------------------


def latest_times(market: Market, race_id: str) -> dict[tuple[str, str], datetime]:
    """When each (horse, bookmaker) of `race_id` got its latest price, from the events."""
    best: dict[tuple[str, str], tuple[datetime, str]] = {}
    for snap in market.snapshots:
        if snap.race_id != race_id:
            continue
        for price in snap.prices:
            key = (price.horse_id, snap.bookmaker_id)
            if key not in best or best[key] < (snap.source_time, snap.event_id):
                best[key] = (snap.source_time, snap.event_id)
    return {key: when for key, (when, _) in best.items()}


async def walk_odds(client: httpx.AsyncClient, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every page of /v1/odds with these filters, following `meta.next_cursor`."""
    rows: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = {**params, "limit": limit} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/v1/odds", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["meta"]["limit"] == limit
        assert len(body["data"]) <= limit
        rows += body["data"]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            return rows
        assert len(body["data"]) == limit  # only a full page has a next one
    raise AssertionError("the cursor never ended")


def order_key(row: dict[str, Any]) -> tuple[datetime, str, str, str]:
    return (datetime.fromisoformat(row["updated"]), row["race_id"], row["horse_id"],
            row["bookmaker_id"])  # fmt: skip


async def test_latest_odds_across_races_filter_and_page_by_cursor(
    market: Market, client: httpx.AsyncClient
) -> None:
    sim = [c for c in market.cards.values() if c.race_id.startswith(f"rac_{PREFIX}")]
    meetings = Counter((c.course, c.race_date) for c in sim)
    (course, day), _ = meetings.most_common(1)[0]
    ours = [c.race_id for c in sim if (c.course, c.race_date) == (course, day)]
    filters = {"course": course.upper(), "date": day.isoformat()}  # a name, any case
    whole = await walk_odds(client, 500, **filters)
    # Pages of 7 walk the same rows in the same order: none repeated, none skipped.
    paged = await walk_odds(client, 7, **filters)
    assert [order_key(r) for r in paged] == [order_key(r) for r in whole]
    assert [order_key(r) for r in whole] == sorted({order_key(r) for r in whole})
    assert {(r["course"], r["race_date"]) for r in whole} == {(course, day.isoformat())}
    for race_id in ours:  # other modules' races share the course: each of ours, exactly
        served = {(r["horse_id"], r["bookmaker_id"]): r for r in whole if r["race_id"] == race_id}
        assert {k: Decimal(r["decimal"]) if r["decimal"] else None for k, r in served.items()} == (
            market.latest(race_id)
        ), race_id
        assert {k: datetime.fromisoformat(r["updated"]) for k, r in served.items()} == (
            latest_times(market, race_id)
        )
        card = market.cards[race_id]
        horses = {r.horse_id: r.horse for r in card.runners}
        assert all(r["horse"] == horses[r["horse_id"]] for r in served.values())
    # Several bookmakers; a price set since an instant.
    books = sorted({r["bookmaker_id"] for r in whole})[:2]
    some = await walk_odds(client, 50, **filters, bookmaker=books)
    assert [order_key(r) for r in some] == [
        order_key(r) for r in whole if r["bookmaker_id"] in books
    ]
    since = sorted(order_key(r)[0] for r in whole)[len(whole) // 2]
    recent = await walk_odds(client, 50, **filters, updated_since=since.isoformat())
    assert [order_key(r) for r in recent] == [
        order_key(r) for r in whole if order_key(r)[0] >= since
    ]
    assert len(recent) < len(whole)
    everywhere = await walk_odds(client, 500, region="gb", updated_since=since.isoformat())
    assert {r["region"] for r in everywhere} == {"GB"}


async def test_latest_odds_by_stage_and_cursor_errors(
    market: Market, client: httpx.AsyncClient
) -> None:
    resulted = {r for r, state in market.states.items() if state.status.value == "result"}
    priced = {s.race_id for s in market.snapshots}
    rows = await walk_odds(client, 500, stage="Result")
    assert {r["stage"] for r in rows} == {"Result"}
    assert {r["status"] for r in rows} == {"result"}
    assert resulted & priced <= {r["race_id"] for r in rows}
    open_race = next(r for r in market.open_races() if r in priced)
    stage = (await get_data(client, f"/v1/races/{open_race}"))["stage"]
    before_off = await walk_odds(client, 500, stage=stage)
    assert {r["stage"] for r in before_off} == {stage}
    if (await get_data(client, f"/v1/races/{open_race}"))["stage"] == stage:  # not moved on
        assert open_race in {r["race_id"] for r in before_off}
    for bad in ("x", "0-61-62", "abc-61-62-6", "1-6-62-63", "1-61-62-63-64", "1-61-62-63 "):
        response = await client.get("/v1/odds", params={"cursor": bad})
        assert response.status_code == 422, bad
        assert response.json()["error"]["detail"][0]["field"] == "query.cursor"
    # A cursor well formed but never issued is a place in the order like any other.
    first = (await client.get("/v1/odds", params={"limit": 1})).json()
    (row,) = first["data"]
    cursor = first["meta"]["next_cursor"]
    assert cursor is not None
    forged = "0-ff-00-c3"
    assert (await client.get("/v1/odds", params={"cursor": forged})).status_code == 200
    after = (await client.get("/v1/odds", params={"cursor": cursor, "limit": 1})).json()
    assert order_key(after["data"][0]) > order_key(row)
    assert (await client.get("/v1/odds", params={"limit": 501})).status_code == 422
    many = {"bookmaker": [f"b{i}" for i in range(51)]}
    assert (await client.get("/v1/odds", params=many)).status_code == 422


# -- historical, statistics, reference ------------------------------------------------------------


async def test_historical_odds_filters_and_summary(
    market: Market, client: httpx.AsyncClient
) -> None:
    rows = await get_data(client, "/v1/historical/odds", limit=500)
    ours = [r for r in rows if r["race_id"] in market.results]
    assert ours
    for row in ours:
        result = market.results[row["race_id"]]
        runner = next(r for r in result.runners if r.horse_id == row["horse_id"])
        assert row["position"] == runner.position
        if row["finished"] == 1 and row["sp_decimal"]:
            assert Decimal(row["win_return"]) == Decimal(row["sp_decimal"])
        elif row["finished"] != 1:
            assert Decimal(row["win_return"] or 0) == 0
    priced = [r for r in ours if r["mean_price"] is not None]
    assert priced, "resulted simulated races have pre-race prices"
    for row in priced:
        assert Decimal(row["min_price"]) <= Decimal(row["mean_price"]) <= Decimal(row["max_price"])
    winners = await get_data(client, "/v1/historical/odds", position="1", limit=500)
    assert winners
    assert all(r["position"] == "1" for r in winners)
    cheap = await get_data(client, "/v1/historical/odds", sp_max="3", limit=500)
    assert all(Decimal(r["sp_decimal"]) <= 3 for r in cheap)
    horse = ours[0]["horse_id"]
    assert {
        r["horse_id"] for r in await get_data(client, "/v1/historical/odds", horse_id=horse)
    } == {horse}
    summary = await get_data(client, "/v1/historical/summary")
    listed = await client.get("/v1/historical/odds", params={"limit": 1})
    assert summary["runners"] == listed.json()["meta"]["total"]
    # A dead heat has two winners: winners may outnumber races, never runners.
    assert summary["favourites_won"] <= summary["winners"] <= summary["runners"]
    assert summary["races"] <= summary["runners"]


async def test_statistics_report_and_stream_health(
    market: Market, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    report = await get_data(client, "/v1/statistics")
    assert report["live"]["summary"]["prices"] == await db.fetchval(
        "SELECT count(*) FROM odds_latest"
    )
    assert report["historical"]["summary"]["races"] == await db.fetchval(
        "SELECT count(*) FROM results"
    )
    assert {"bookmakers", "dates", "courses", "nulls", "market_status"} <= report["live"].keys()
    health = await get_data(client, "/v1/statistics/stream")
    assert health["kafka_ok"]
    # The race pipeline's lag: every partition of every race topic it consumes.
    assert len(health["partitions"]) == sum(topic.partitions for topic in RACE_TOPICS)
    assert health["total_lag"] is not None
    assert {s["source"] for s in health["sources"]} >= {"simulator", "racing_api"}


async def test_reference_data(
    market: Market, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    courses = await client.get("/v1/courses", params={"limit": 500})
    course_ids = {c["course_id"] for c in courses.json()["data"]}
    assert {c.course_id for c in market.cards.values()} <= course_ids
    some = next(iter(market.cards.values()))
    found = await get_data(client, "/v1/courses", name=some.course[:4].lower())
    assert some.course_id in {c["course_id"] for c in found}
    assert (await get_data(client, f"/v1/courses/{some.course_id}"))["course"] == some.course
    books = await get_data(client, "/v1/bookmakers", limit=500)
    assert {"bet365", "betfair_exchange"} <= {b["bookmaker_id"] for b in books}
    assert next(b for b in books if b["bookmaker_id"] == "betfair_exchange")["type"] == "exchange"
    assert {r["region"] for r in await get_data(client, "/v1/regions")} >= {"GB", "IRE"}
    for route, column in (("jockeys", "jockey_id"), ("trainers", "trainer_id")):
        people = await get_data(client, f"/v1/{route}", sort="-rides", limit=5)
        assert people
        top = people[0]
        query = f"SELECT count(*) FROM result_runners WHERE {column} = $1"  # noqa: S608
        rides = await db.fetchval(query, top["id"])
        assert top["rides"] == rides
        assert (await get_data(client, f"/v1/{route}/{top['id']}"))["id"] == top["id"]
        assert (await client.get(f"/v1/{route}/nobody")).status_code == 404
    assert await get_data(client, "/v1/owners")
    horse = next(r for c in market.cards.values() for r in c.runners)
    assert (await get_data(client, f"/v1/horses/{horse.horse_id}"))["horse"] == horse.horse
    race_id = next(iter(market.cards))
    runners = await get_data(client, "/v1/runners", race_id=race_id, limit=500)
    assert {r["horse_id"] for r in runners} == {r.horse_id for r in market.cards[race_id].runners}
    race_result = next(iter(market.results.values()))
    served = await get_data(client, f"/v1/results/{race_result.race_id}")
    assert {r["horse_id"]: r["position"] for r in served["runners"]} == {
        r.horse_id: r.position for r in race_result.runners
    }
    summary = await get_data(client, "/v1/summary")
    assert summary["races"] == await db.fetchval("SELECT count(*) FROM races")
    assert summary["results"] == await db.fetchval("SELECT count(*) FROM results")
    assert summary["odds_history"] == await db.fetchval("SELECT count(*) FROM odds_history")


# -- one market, one set of numbers -------------------------------------------------------------


async def latest_analytics(bootstrap: str) -> dict[str, dict[str, Any]]:
    """The newest record per race on racing.analytics.race.v1 (compacted, keyed race_id)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        parts = [TopicPartition(ANALYTICS_RACES.name, p) for p in range(ANALYTICS_RACES.partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        latest: dict[str, dict[str, Any]] = {}
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if record.value is not None:
                        event = orjson.loads(record.value)
                        if event["revision"] >= latest.get(event["race_id"], {}).get(
                            "revision", -1
                        ):
                            latest[event["race_id"]] = event
        return latest
    finally:
        await consumer.stop()


async def websocket_analytics(api: ApiProcess, race_ids: list[str]) -> dict[str, Any]:
    """Each race's `analytics` from a websocket snapshot."""
    async with websockets.connect(f"{api.ws_url}/v1/stream", max_size=None) as ws:
        request = {"op": "subscribe", "sub_id": "s", "filter": {"races": race_ids},
                   "fields": ["analytics"]}  # fmt: skip
        await ws.send(orjson.dumps(request).decode())
        found: dict[str, Any] = {}
        while set(found) != set(race_ids):
            for frame in frames_of(await asyncio.wait_for(ws.recv(), 30)):
                if frame.get("type") == "snapshot":
                    found[frame["race_id"]] = frame["analytics"]
        return found


def numbers(pairs: dict[str, tuple[Any, Any]]) -> dict[str, tuple[Any, Any]]:
    return {h: v for h, v in pairs.items() if v[0] is not None}


async def test_rest_websocket_topic_and_tables_give_the_same_numbers(
    infra: Infra, api_server: ApiProcess, market: Market, client: httpx.AsyncClient
) -> None:
    """For every runner: implied and fair probability (Shin) from REST /book, the websocket
    snapshot, racing.analytics.race.v1 and runner_analytics are the same floats (no rounding
    anywhere: all relay the worker's doubles)."""
    race_ids = market.open_races()[:3] + [s.race_id for s in market.snapshots[-1:]]
    race_ids = list(dict.fromkeys(race_ids))
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        topic = await latest_analytics(infra.kafka_bootstrap)
        relayed = await websocket_analytics(api_server, race_ids)
        pool = await asyncpg.connect(infra.database_url)
        try:
            rows = await pool.fetch(
                "SELECT race_id, horse_id, implied_probability, fair_shin FROM runner_analytics "
                "WHERE race_id = ANY($1) AND NOT non_runner",
                race_ids,
            )
        finally:
            await pool.close()
        surfaces: list[dict[str, dict[str, tuple[Any, Any]]]] = [{}, {}, {}, {}]
        for race_id in race_ids:
            book = await get_data(client, f"/v1/races/{race_id}/book")
            surfaces[0][race_id] = numbers({
                r["horse_id"]: (r["implied_probability"], r["fair_probability"])
                for r in book["runners"] if not r["non_runner"]
            })  # fmt: skip
            surfaces[1][race_id] = numbers({
                h: (r["implied_probability"], r["fair_probability"])
                for h, r in ((relayed[race_id] or {}).get("runners") or {}).items()
            })  # fmt: skip
            surfaces[2][race_id] = numbers({
                r["horse_id"]: (r["implied_probability"], r["fair_shin"])
                for r in topic.get(race_id, {}).get("runners", ()) if not r["non_runner"]
            })  # fmt: skip
            surfaces[3][race_id] = numbers({
                r["horse_id"]: (r["implied_probability"], r["fair_shin"])
                for r in rows if r["race_id"] == race_id
            })  # fmt: skip
        agree = all(s == surfaces[2] for s in surfaces) and all(surfaces[2].values())
        if agree or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(1)
    rest, websocket, kafka, stored = surfaces
    assert all(kafka.values())
    assert rest == kafka
    assert websocket == kafka
    assert stored == kafka
