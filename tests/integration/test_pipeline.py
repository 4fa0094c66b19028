"""The thin slice end to end on the real broker and database:
simulator -> Kafka -> Faust -> PostgreSQL -> REST, and Kafka -> API fan-out -> websocket."""

import asyncio
import time
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
import websockets

from producers.settings import SimulatorSettings
from producers.simulate import run_simulator
from schemas.base import decode
from schemas.deadletter import DeadLetter
from schemas.odds import OddsSnapshot
from schemas.topics import DEAD_LETTERS, ODDS_LIVE
from tests.conftest import ApiProcess, Infra, Runtime
from tests.kafka_helpers import read_all, send_raw

pytestmark = pytest.mark.integration


def latest_from_topic(records: list[Any]) -> dict[tuple[str, str, str], str]:
    """Oracle: the newest decimal price per (race, runner, bookmaker), straight from the topic."""
    latest: dict[tuple[str, str, str], tuple[tuple[str, str], str]] = {}
    for record in records:
        try:
            snapshot = decode(OddsSnapshot, record.value)
        except ValueError:
            continue
        version = (snapshot.source_time.isoformat(), snapshot.event_id)
        for price in snapshot.prices:
            key = (snapshot.race_id, price.horse_id, snapshot.bookmaker_id)
            if key not in latest or latest[key][0] < version:
                latest[key] = (version, str(price.decimal))
    return {key: value for key, (_, value) in latest.items()}


async def wait_for(predicate: Any, timeout_s: float = 90, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


async def test_simulated_prices_reach_postgres_rest_and_websocket(
    infra: Infra, streams_worker: Runtime, api_server: ApiProcess, db: asyncpg.Connection
) -> None:
    received: list[dict[str, Any]] = []

    async def listen() -> None:
        async with websockets.connect(f"{api_server.ws_url}/v1/stream/odds") as websocket:
            async for frame in websocket:
                received.append(orjson.loads(frame))

    listener = asyncio.create_task(listen())
    await wait_for(lambda: _has(received, "welcome"), 10, "welcome frame")
    settings = SimulatorSettings(
        KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap, seed=7, races=3, bookmakers=5,
        tick_s=0.05, compression=60, max_ticks=20,
    )  # fmt: skip
    published = await run_simulator(settings)
    assert published > 0

    oracle = latest_from_topic(await read_all(infra.kafka_bootstrap, ODDS_LIVE.name))
    sim_keys = {key for key in oracle if key[0].startswith("rac_sim")}

    async def database_matches_topic() -> bool:
        rows = await db.fetch(
            "SELECT race_id, horse_id, bookmaker_id, price_decimal::text AS price FROM odds_latest "
            "WHERE race_id LIKE 'rac_sim%'"
        )
        stored = {(r["race_id"], r["horse_id"], r["bookmaker_id"]): r["price"] for r in rows}
        return stored == {key: f"{float(oracle[key]):.4f}" for key in sim_keys}

    await wait_for(database_matches_topic, what="PostgreSQL to equal the topic's latest prices")

    async with httpx.AsyncClient(base_url=api_server.base_url) as client:
        race_id = next(iter(sim_keys))[0]
        response = await client.get(f"/v1/races/{race_id}/odds")
        assert response.status_code == 200
        body = response.json()
        served = {(race_id, p["horse_id"], p["bookmaker_id"]): p["decimal"] for p in body["data"]}
        expected = {k: v for k, v in oracle.items() if k[0] == race_id}
        assert {k: float(v) for k, v in served.items()} == {
            k: float(v) for k, v in expected.items()
        }
        missing = await client.get("/v1/races/rac_does_not_exist/odds")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"

    await wait_for(lambda: _count(received, "odds", published_min=10), 30, "websocket odds frames")
    listener.cancel()
    frames = [f["data"] for f in received if f["type"] == "odds"]
    assert all(OddsSnapshot.model_validate(frame).race_id.startswith("rac_sim") for frame in frames)


async def test_malformed_odds_are_dead_lettered_and_the_agent_keeps_going(
    infra: Infra, streams_worker: Runtime, db: asyncpg.Connection
) -> None:
    garbage = b'{"race_id": "rac_bad", "prices": "not a list"'
    await send_raw(infra.kafka_bootstrap, ODDS_LIVE.name, b"rac_bad", garbage)
    valid = OddsSnapshot.model_validate(
        {
            "source": "simulator", "source_time": "2026-11-28T12:00:00Z",
            "race_id": "rac_after_bad",
            "bookmaker_id": "bet365", "bookmaker": "Bet365",
            "prices": [{"horse_id": "hrs_1", "decimal": "3.5", "fractional": "5/2"}],
        }
    )  # fmt: skip
    await send_raw(
        infra.kafka_bootstrap, ODDS_LIVE.name, b"rac_bad", valid.model_dump_json().encode()
    )

    async def valid_event_stored() -> bool:
        price = await db.fetchval(
            "SELECT price_decimal FROM odds_latest WHERE race_id = 'rac_after_bad'"
        )
        return price is not None and float(price) == 3.5

    await wait_for(valid_event_stored, what="the valid event after the bad one to be stored")

    letters = [
        decode(DeadLetter, r.value)
        for r in await read_all(infra.kafka_bootstrap, DEAD_LETTERS.name)
    ]
    ours = [letter for letter in letters if letter.value == garbage.decode()]
    assert len(ours) == 1
    assert ours[0].topic == ODDS_LIVE.name
    assert "invalid OddsSnapshot" in ours[0].reason
    assert ours[0].key == "rac_bad"

    async def mirrored() -> bool:
        count: int = await db.fetchval("SELECT count(*) FROM dead_letters WHERE key = 'rac_bad'")
        return count == 1

    await wait_for(mirrored, what="the dead letter in PostgreSQL")
    assert "dead letter from racing.odds.live.v1" in streams_worker.output()


async def _has(frames: list[dict[str, Any]], kind: str) -> bool:
    return any(frame["type"] == kind for frame in frames)


async def _count(frames: list[dict[str, Any]], kind: str, published_min: int) -> bool:
    return sum(1 for frame in frames if frame["type"] == kind) >= published_min
