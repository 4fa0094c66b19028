"""Access control, caching and operations endpoints of a real API process."""

import asyncio
import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
import websockets

from api.database import open_pool
from api.settings import ApiSettings
from darkhorses.apikeys import create_key, revoke_key
from tests.conftest import ApiProcess, Infra, free_port, start_runtime, wait_for_ready

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secured_api(infra: Infra, artifacts: Path) -> Iterator[ApiProcess]:
    port = free_port()
    env = infra.env(
        DARKHORSES_API_PORT=str(port),
        DARKHORSES_API_AUTH_REQUIRED="true",
        DARKHORSES_STREAM_SECRET=secrets.token_urlsafe(32),
        DARKHORSES_API_API_KEY_CACHE_S="0",
        DARKHORSES_API_CORS_ORIGINS='["https://app.example"]',
    )
    runtime = start_runtime(["api"], env, artifacts / f"api-secured-{port}.log")
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_ready(base_url, runtime)
        yield ApiProcess(runtime, base_url)
    finally:
        runtime.stop()


@pytest.fixture
async def seeded_race(db: asyncpg.Connection) -> str:
    await db.execute(
        """INSERT INTO odds_latest (race_id, horse_id, bookmaker_id, bookmaker, price_decimal,
               price_fractional, source, source_time, ingest_time, event_id)
           VALUES ('rac_access', 'hrs_1', 'bet365', 'Bet365', 3.5, '5/2', 'simulator',
                   now(), now(), 'evt_access')
           ON CONFLICT DO NOTHING"""
    )
    return "rac_access"


async def test_keys_are_required_checked_and_revocable(
    infra: Infra, secured_api: ApiProcess, seeded_race: str
) -> None:
    url = f"/v1/races/{seeded_race}/odds"
    key_id, key = await create_key(infra.database_url, "tests", rate_limit_per_min=100)
    async with httpx.AsyncClient(base_url=secured_api.base_url) as client:
        missing = await client.get(url)
        assert missing.status_code == 401
        assert missing.json()["error"]["code"] == "missing_api_key"
        wrong = await client.get(url, headers={"X-API-Key": "dh_nope"})
        assert wrong.json()["error"]["code"] == "invalid_api_key"
        ok = await client.get(url, headers={"X-API-Key": key})
        assert ok.status_code == 200
        assert ok.headers["x-ratelimit-limit"] == "100"
        bearer = await client.get(url, headers={"Authorization": f"Bearer {key}"})
        assert bearer.status_code == 200
        assert int(bearer.headers["x-ratelimit-remaining"]) < int(
            ok.headers["x-ratelimit-remaining"]
        )
        assert await revoke_key(infra.database_url, key_id)
        revoked = await client.get(url, headers={"X-API-Key": key})
        assert revoked.status_code == 401
        health = await client.get("/health")
        assert health.status_code == 200


async def test_rate_limit_answers_429_with_retry_after(
    infra: Infra, secured_api: ApiProcess, seeded_race: str
) -> None:
    _, key = await create_key(infra.database_url, "tiny", rate_limit_per_min=3)
    async with httpx.AsyncClient(
        base_url=secured_api.base_url, headers={"X-API-Key": key}
    ) as client:
        statuses = [
            (await client.get(f"/v1/races/{seeded_race}/odds")).status_code for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        limited = await client.get(f"/v1/races/{seeded_race}/odds")
        assert limited.json()["error"]["code"] == "rate_limited"
        assert 0 < int(limited.headers["retry-after"]) <= 60
        assert limited.headers["x-ratelimit-remaining"] == "0"


async def test_etag_revalidation_gzip_and_cors(
    infra: Infra, secured_api: ApiProcess, seeded_race: str
) -> None:
    _, key = await create_key(infra.database_url, "cache", rate_limit_per_min=100)
    headers = {"X-API-Key": key, "Origin": "https://app.example"}
    async with httpx.AsyncClient(base_url=secured_api.base_url, headers=headers) as client:
        first = await client.get(f"/v1/races/{seeded_race}/odds")
        etag = first.headers["etag"]
        assert first.headers["access-control-allow-origin"] == "https://app.example"
        again = await client.get(f"/v1/races/{seeded_race}/odds", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        other = await client.get(
            f"/v1/races/{seeded_race}/odds", headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers
        openapi = await client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
        assert openapi.headers["content-encoding"] == "gzip"


async def test_ready_without_a_key_metrics_with_one(infra: Infra, secured_api: ApiProcess) -> None:
    """Readiness is for load balancers; metrics tell traffic, so they need a key like data."""
    _, key = await create_key(infra.database_url, "metrics", rate_limit_per_min=100)
    async with httpx.AsyncClient(base_url=secured_api.base_url) as client:
        ready = await client.get("/ready")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "checks": {"database": "ok", "kafka": "ok"}}
        await client.get("/v1/races/x/odds")
        assert (await client.get("/metrics")).status_code == 401
        metrics = await client.get("/metrics", headers={"Authorization": f"Bearer {key}"})
        assert 'darkhorses_api_requests_total{method="GET",route="/ready",status="200"}' in (
            metrics.text
        )


async def test_the_api_pool_logs_in_as_the_read_only_role(infra: Infra) -> None:
    settings = ApiSettings(DATABASE_URL=infra.database_url)
    async with open_pool(settings) as pool:
        # The login itself, not a SET ROLE from a superuser session.
        assert await pool.fetchval("SELECT session_user") == "darkhorses_reader"
        assert await pool.fetchval("SELECT current_user") == "darkhorses_reader"
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await pool.execute("DELETE FROM odds_latest")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pool.execute("BEGIN READ WRITE; DELETE FROM odds_latest")


async def test_the_live_stream_takes_the_same_api_keys(
    infra: Infra, secured_api: ApiProcess
) -> None:
    """With keys required, the websocket accepts the database's API keys (no stream keys set),
    refuses anything else and a revoked key, and mints tokens for them."""
    key_id, key = await create_key(infra.database_url, "stream", rate_limit_per_min=100)
    stream = f"{secured_api.ws_url}/v1/stream"
    async with websockets.connect(stream) as ws:
        assert orjson.loads(await ws.recv())["auth_required"] is True
        await ws.send(orjson.dumps({"op": "auth", "api_key": key, "id": "a"}))
        status = await frame_of(ws, "status")
        assert (status["op"], status["id"], status["ok"]) == ("auth", "a", True)
    async with websockets.connect(f"{stream}?api_key={key}") as ws:
        assert orjson.loads(await ws.recv())["auth_required"] is False
    async with httpx.AsyncClient(base_url=secured_api.base_url) as client:
        minted = await client.post("/v1/stream/token", headers={"X-API-Key": key})
        assert minted.status_code == 200
    async with websockets.connect(f"{stream}?token={minted.json()['token']}") as ws:
        assert orjson.loads(await ws.recv())["auth_required"] is False

    assert await revoke_key(infra.database_url, key_id)
    for url in (f"{stream}?api_key={key}", f"{stream}?api_key=dh_nope"):
        async with websockets.connect(url) as ws:
            error = await frame_of(ws, "error")
            assert (error["code"], error["fatal"]) == ("unauthorized", True)
            with contextlib.suppress(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
        assert ws.close_code == 4001


async def frame_of(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        for line in str(await asyncio.wait_for(ws.recv(), 30)).split("\n"):
            frame: dict[str, Any] = orjson.loads(line)
            if frame["type"] == kind:
                return frame
