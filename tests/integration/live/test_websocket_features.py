"""Authentication (API keys, minted tokens, first-frame timeout), replay and resync."""

import asyncio
import contextlib
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from client import LiveClient
from darkhorses.apikeys import create_key
from tests.conftest import ApiProcess, Infra
from tests.integration.live.ws_helpers import (
    Race,
    api_process,
    oracle,
    publish,
    settled,
    subscription,
)  # fmt: skip

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def keys(infra: Infra) -> tuple[str, str]:
    """Two API keys in the database: the one store of keys, for REST and the stream."""
    made = [asyncio.run(create_key(infra.database_url, n, 600))[1] for n in ("one", "two")]
    return made[0], made[1]


@pytest.fixture(scope="module")
def keyed_api(infra: Infra, artifacts: Path) -> Iterator[ApiProcess]:
    with api_process(
        infra, artifacts, DARKHORSES_API_AUTH_REQUIRED="true",
        DARKHORSES_STREAM_SECRET=secrets.token_urlsafe(32),
        DARKHORSES_STREAM_FIRST_FRAME_TIMEOUT_S="1",
    ) as process:  # fmt: skip
        yield process


async def frames_until(ws: Any, kind: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    while not seen or seen[-1]["type"] != kind:
        for line in str(await asyncio.wait_for(ws.recv(), 30)).split("\n"):
            seen.append(orjson.loads(line))
            if seen[-1]["type"] == kind:
                break
    return seen


async def test_without_credentials_requests_are_refused_and_the_socket_closed(
    keyed_api: ApiProcess,
) -> None:
    async with websockets.connect(f"{keyed_api.ws_url}/v1/stream") as ws:
        welcome = orjson.loads(await ws.recv())
        assert welcome["auth_required"] is True
        await ws.send('{"op": "subscribe", "sub_id": "a"}')
        error = (await frames_until(ws, "error"))[-1]
        assert (error["code"], error["fatal"]) == ("unauthenticated", True)
        with contextlib.suppress(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_code == 4001


async def test_a_wrong_key_is_refused(keyed_api: ApiProcess) -> None:
    async with websockets.connect(f"{keyed_api.ws_url}/v1/stream?api_key=nope") as ws:
        frames = await frames_until(ws, "error")
        assert frames[-1]["code"] == "unauthorized"
        with contextlib.suppress(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_code == 4001


async def test_keys_in_header_or_auth_frame_and_minted_tokens_are_accepted(
    keyed_api: ApiProcess, keys: tuple[str, str]
) -> None:
    key_one, key_two = keys
    async with websockets.connect(
        f"{keyed_api.ws_url}/v1/stream", additional_headers={"X-API-Key": key_one}
    ) as ws:
        assert orjson.loads(await ws.recv())["auth_required"] is False
        await ws.send('{"op": "subscribe", "sub_id": "a", "id": "1"}')
        assert (await frames_until(ws, "status"))[-1]["ok"] is True
    async with websockets.connect(f"{keyed_api.ws_url}/v1/stream") as ws:
        await ws.send(orjson.dumps({"op": "auth", "api_key": key_two, "id": "x"}).decode())
        assert (await frames_until(ws, "status"))[-1]["op"] == "auth"
    async with httpx.AsyncClient(base_url=keyed_api.base_url) as http:
        refused = await http.post("/v1/stream/token")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "missing_api_key"
        minted = await http.post("/v1/stream/token", headers={"X-API-Key": key_one})
        assert minted.status_code == 200
    token = minted.json()["token"]
    async with websockets.connect(f"{keyed_api.ws_url}/v1/stream?token={token}") as ws:
        assert orjson.loads(await ws.recv())["auth_required"] is False
        await ws.send('{"op": "ping", "id": "p"}')
        assert (await frames_until(ws, "pong"))[-1]["id"] == "p"
    async with websockets.connect(f"{keyed_api.ws_url}/v1/stream?token={token[:-3]}xyz") as ws:
        assert (await frames_until(ws, "error"))[-1]["code"] == "unauthorized"


async def test_a_silent_connection_is_closed_after_the_first_frame_timeout(
    keyed_api: ApiProcess,
) -> None:
    async with websockets.connect(f"{keyed_api.ws_url}/v1/stream") as ws:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 30)
    assert ws.close_code == 4002


@pytest.fixture(scope="module")
def api(infra: Infra, artifacts: Path) -> Iterator[ApiProcess]:
    with api_process(infra, artifacts) as process:
        yield process


async def test_replay_restreams_history_in_the_live_format(infra: Infra, api: ApiProcess) -> None:
    race = Race.new()
    await publish(infra, race, 0, 20, card=True)
    middle = datetime.now(UTC)
    await publish(infra, race, 20, 30)
    request = {"op": "subscribe", **subscription(race, "r"),
               "replay": {"from": middle.isoformat(), "speed": 0}}  # fmt: skip
    async with websockets.connect(f"{api.ws_url}/v1/stream", max_size=None) as ws:
        await ws.send(orjson.dumps(request).decode())
        frames = await frames_until(ws, "replay_end")
    client = LiveClient("unused", [subscription(race, "r")])
    for frame in frames:
        assert client.apply(frame) is None
    data = [f for f in frames if f.get("sub_id") == "r" and f["type"] in ("snapshot", "delta")]
    assert data[0]["type"] == "snapshot"
    assert data[0]["reason"] == "replay"
    assert all(f["replay"] for f in data)
    assert [f["type"] for f in data[1:]] == ["delta"] * 30
    assert frames[-1]["updates"] == 31
    assert client.prices("r") == (await oracle(infra, race)).prices


async def test_resync_sends_a_fresh_snapshot(infra: Infra, api: ApiProcess) -> None:
    race = Race.new()
    await publish(infra, race, 0, 12, card=True)
    await settled(api, infra, race)
    async with websockets.connect(f"{api.ws_url}/v1/stream", max_size=None) as ws:
        await ws.send(orjson.dumps({"op": "subscribe", **subscription(race)}).decode())
        first = (await frames_until(ws, "snapshot"))[-1]
        await ws.send(
            orjson.dumps({"op": "resync", "sub_id": "s1", "race_id": race.race_id}).decode()
        )
        again = (await frames_until(ws, "snapshot"))[-1]
        await ws.send(
            orjson.dumps({"op": "resync", "sub_id": "s1", "race_id": "rac_none"}).decode()
        )
        error = (await frames_until(ws, "error"))[-1]
    assert again["reason"] == "resync"
    assert again["prices"] == first["prices"]
    assert again["seq"] == (await oracle(infra, race)).seq
    assert error["code"] == "unknown_race"


async def test_heartbeats_carry_lag_source_status_and_tokens(infra: Infra, artifacts: Path) -> None:
    race = Race.new()
    await publish(infra, race, 0, 3, card=True)
    with api_process(infra, artifacts, DARKHORSES_STREAM_HEARTBEAT_MS="500") as quick:
        async with websockets.connect(f"{quick.ws_url}/v1/stream", max_size=None) as ws:
            await ws.send(orjson.dumps({"op": "subscribe", **subscription(race)}).decode())
            heartbeat = (await frames_until(ws, "heartbeat"))[-1]
    assert heartbeat["status"]["bookmaker:bet365"] in ("ok", "degraded", "stale")
    assert heartbeat["status"]["source:simulator"] in ("ok", "degraded", "stale")
    assert isinstance(heartbeat["lag_ms"], int)
    assert set(heartbeat["tokens"]) == {"s1"}
