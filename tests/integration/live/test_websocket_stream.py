"""The live stream on the real broker: snapshot then deltas equal an oracle book read from the
topic; resume after a dropped connection and after an API restart; formats; garbage input."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from api.live.tokens import Signer, encode_resume
from client import LiveClient
from schemas.market import MarketStatus
from schemas.topics import MARKET_STATE, ODDS_LIVE
from tests.conftest import ApiProcess, Infra, free_port
from tests.integration.live.ws_helpers import (
    Race,
    api_process,
    best_of,
    oracle,
    publish,
    publish_market,
    settled,
    subscription,
)  # fmt: skip

# A resume token's layout: every partition of the odds topic, then of the market state topic.
LAYOUT = ODDS_LIVE.partitions + MARKET_STATE.partitions

pytestmark = pytest.mark.integration
DEV_SECRET = b"darkhorses-dev-secret"  # LiveSettings' default


@pytest.fixture(scope="module")
def api(infra: Infra, artifacts: Path) -> Iterator[ApiProcess]:
    with api_process(infra, artifacts) as process:
        yield process


@contextlib.asynccontextmanager
async def running(client: LiveClient) -> AsyncIterator[LiveClient]:
    task = asyncio.create_task(client.run())
    try:
        yield client
    finally:
        client.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def caught_up(client: LiveClient, infra: Infra, race: Race, sub_id: str = "s1") -> None:
    expected = (await oracle(infra, race)).seq
    await asyncio.wait_for(
        client.wait_until(lambda c: race.race_id in c.books[sub_id]
                          and c.books[sub_id][race.race_id].seq >= expected),
        60,
    )  # fmt: skip


async def test_snapshot_then_deltas_equal_the_oracle_book(infra: Infra, api: ApiProcess) -> None:
    race = Race.new()
    await publish(infra, race, 0, 30, card=True)
    await settled(api, infra, race)
    frames: list[dict[str, Any]] = []
    client = LiveClient(f"{api.ws_url}/v1/stream", [subscription(race)], on_frame=frames.append)
    async with running(client):
        await caught_up(client, infra, race)
        assert client.stats.snapshot_reasons == {"subscribe": 1}
        await publish(infra, race, 30, 60)
        await publish_market(infra, race, MarketStatus.SUSPENDED)
        await caught_up(client, infra, race)
        await asyncio.wait_for(
            client.wait_until(lambda c: c.books["s1"][race.race_id].market == "suspended"), 30
        )
    truth = await oracle(infra, race)
    assert client.prices("s1") == truth.prices
    assert client.books["s1"][race.race_id].best == best_of(truth.prices)
    assert (client.stats.gaps, client.stats.duplicates) == (0, 0)
    assert client.stats.deltas == 60
    deltas = [f for f in frames if f["type"] == "delta"]
    assert all(f["token"] and f["prices"][0]["source_time"] and f["prices"][0]["ingest_time"]
               for f in deltas)  # fmt: skip
    # Analytics are the streams worker's, relayed; none runs here, so there is nothing to relay
    # (tests/integration/test_api_rest.py compares them across every surface).
    assert deltas[-1]["analytics"] is None


async def test_odds_formats_and_bookmaker_filter(infra: Infra, api: ApiProcess) -> None:
    race = Race.new()
    await publish(infra, race, 0, 15, card=True)
    await settled(api, infra, race)
    subs = [
        subscription(
            race,
            "frac",
            format="fractional",
            filter={"races": [race.race_id], "bookmakers": ["bet365"]},
        ),
        subscription(race, "prob", format="probability"),
    ]
    client = LiveClient(f"{api.ws_url}/v1/stream", subs)
    async with running(client):
        await caught_up(client, infra, race, "frac")
        await caught_up(client, infra, race, "prob")
    truth = (await oracle(infra, race)).prices
    fractional = client.prices("frac")
    assert {k[2] for k in fractional} == {"bet365"}
    for key, price in fractional.items():
        numerator, denominator = (int(x) for x in str(price).split("/"))
        assert 1 + numerator / denominator == pytest.approx(float(str(truth[key])))
    for key, price in client.prices("prob").items():
        assert float(str(price)) == pytest.approx(1 / float(str(truth[key])), abs=1e-4)


async def test_dropped_connection_resumes_without_gap_or_duplicate(
    infra: Infra, api: ApiProcess
) -> None:
    race = Race.new()
    await publish(infra, race, 0, 10, card=True)
    await settled(api, infra, race)
    client = LiveClient(f"{api.ws_url}/v1/stream", [subscription(race)])
    async with running(client):
        await caught_up(client, infra, race)
        await publish(infra, race, 10, 40)
        await asyncio.wait_for(client.wait_until(lambda c: c.stats.deltas >= 5), 30)
        client.drop()  # mid-stream: some of the 40 arrived, the rest are missed
        await publish(infra, race, 50, 40)
        await caught_up(client, infra, race)
        await asyncio.wait_for(client.wait_until(lambda c: c.stats.deltas >= 80), 30)
    assert client.stats.connects >= 2
    assert client.prices("s1") == (await oracle(infra, race)).prices
    assert (client.stats.gaps, client.stats.duplicates) == (0, 0)
    assert client.stats.snapshot_reasons == {"subscribe": 1}  # resumed, never re-imaged
    assert client.stats.deltas == 80


async def test_resume_after_api_restart(infra: Infra, artifacts: Path) -> None:
    race = Race.new()
    port = free_port()
    await publish(infra, race, 0, 10, card=True)
    client = LiveClient(f"ws://127.0.0.1:{port}/v1/stream", [subscription(race)], retry_s=0.5)
    async with running(client):
        with api_process(infra, artifacts, port) as first:
            await caught_up(client, infra, race)
            await publish(infra, race, 10, 20)
            await caught_up(client, infra, race)
            first.runtime.stop()  # planned stop: a reconnect notice, then close 1012
        await publish(infra, race, 30, 25)  # missed while no API is up
        with api_process(infra, artifacts, port):
            await caught_up(client, infra, race)
            await publish(infra, race, 55, 5)
            await caught_up(client, infra, race)
    assert client.stats.reconnect_notices >= 1
    assert 1012 in client.stats.close_codes
    assert client.prices("s1") == (await oracle(infra, race)).prices
    assert (client.stats.gaps, client.stats.duplicates) == (0, 0)
    assert client.stats.snapshot_reasons == {"subscribe": 1}
    assert client.stats.deltas == 50


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("bm90LWEtdG9rZW4.AAAA", "invalid_token"),
        (encode_resume(Signer(DEV_SECRET), 99, [0] * LAYOUT), "epoch_changed"),
        (encode_resume(Signer(DEV_SECRET), 1, [0, 0]), "epoch_changed"),  # another layout
    ],
)
async def test_an_unusable_resume_token_gets_a_snapshot_with_the_reason(
    infra: Infra, api: ApiProcess, token: str, reason: str
) -> None:
    race = Race.new()
    await publish(infra, race, 0, 5, card=True)
    await settled(api, infra, race)
    client = LiveClient(f"{api.ws_url}/v1/stream", [subscription(race)])
    client.tokens["s1"] = token
    async with running(client):
        await caught_up(client, infra, race)
    assert client.stats.snapshot_reasons == {reason: 1}
    assert client.prices("s1") == (await oracle(infra, race)).prices


async def test_a_token_older_than_the_books_gets_resume_window_exceeded(
    infra: Infra, artifacts: Path
) -> None:
    """An API bootstrapped from a 10 s window: a token from before it cannot be replayed."""
    race = Race.new()
    await publish(infra, race, 0, 5, card=True)
    await asyncio.sleep(20)  # the window opens between the two batches (API start-up < 10 s)
    await publish(infra, race, 5, 5)
    old = encode_resume(Signer(DEV_SECRET), 1, [0] * LAYOUT)  # the very start of every partition
    window_h = str(10 / 3600)
    with api_process(infra, artifacts, DARKHORSES_STREAM_BOOTSTRAP_HOURS=window_h) as recent:
        client = LiveClient(f"{recent.ws_url}/v1/stream", [subscription(race)])
        client.tokens["s1"] = old
        async with running(client):
            await caught_up(client, infra, race)
    assert client.stats.snapshot_reasons == {"resume_window_exceeded": 1}
    # The process holds only the window it bootstrapped: the second batch, not the first.
    truth = (await oracle(infra, race)).prices
    recent_keys = {(race.race_id, p.horse_id, race.odds(n).bookmaker_id)
                   for n in range(5, 10) for p in race.odds(n).prices}  # fmt: skip
    assert client.prices("s1") == {k: v for k, v in truth.items() if k in recent_keys}


async def test_garbage_frames_get_error_frames_and_the_connection_stays(api: ApiProcess) -> None:
    bad: list[tuple[str | bytes, str]] = [
        ("not json at all", "invalid_json"),
        ("[1, 2, 3]", "invalid_frame"),
        ('{"op": "dance"}', "unknown_op"),
        ('{"op": "subscribe", "id": "r1"}', "invalid_frame"),
        ('{"op": "subscribe", "sub_id": "x", "format": "roman"}', "invalid_frame"),
        ('{"op": "unsubscribe", "sub_id": "nope"}', "unknown_sub_id"),
        ("x" * 20_000, "frame_too_large"),
        (b"\xff\xfe\x00binary", "invalid_json"),
    ]
    async with websockets.connect(f"{api.ws_url}/v1/stream", max_size=None) as ws:
        welcome = orjson.loads(await ws.recv())
        assert welcome["type"] == "welcome"
        assert welcome["limits"]["max_subscriptions"] >= 1
        for payload, code in bad:
            await ws.send(payload)
            frame = await next_frame(ws, "error")
            assert (frame["code"], frame["fatal"]) == (code, False), frame
        errors = await next_frame(ws, "error", send='{"op": "subscribe", "id": "r1"}')
        assert errors["id"] == "r1"
        pong = await next_frame(ws, "pong", send='{"op": "ping", "id": "p1"}')
        assert pong["id"] == "p1"
        ok = await next_frame(ws, "status", send='{"op": "subscribe", "sub_id": "a", "id": "s"}')
        assert ok == {"type": "status", "id": "s", "op": "subscribe", "sub_id": "a", "ok": True}
        duplicate = await next_frame(ws, "error", send='{"op": "subscribe", "sub_id": "a"}')
        assert duplicate["code"] == "duplicate_sub_id"


async def next_frame(ws: Any, kind: str, send: str | None = None) -> dict[str, Any]:
    if send is not None:
        await ws.send(send)
    while True:
        for line in str(await asyncio.wait_for(ws.recv(), 30)).split("\n"):
            frame: dict[str, Any] = orjson.loads(line)
            if frame["type"] == kind:
                return frame


async def test_asyncapi_document_is_served(api: ApiProcess) -> None:
    async with httpx.AsyncClient(base_url=api.base_url) as http:
        document = (await http.get("/asyncapi.json")).json()
    assert document["asyncapi"] == "3.0.0"
    assert "racing.odds.live.v1" in document["channels"]
    odds = document["channels"]["racing.odds.live.v1"]["bindings"]["kafka"]
    assert odds["partitions"] == ODDS_LIVE.partitions
    assert {"welcome", "snapshot", "delta", "heartbeat", "reconnect", "error"} <= set(
        document["components"]["messages"]
    )
