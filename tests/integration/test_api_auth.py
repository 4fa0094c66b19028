"""Auth that holds, on a real API process with keys required: every route of the OpenAPI
document and every websocket path refuses no, wrong, forged (signed with the public development
secret), expired and revoked credentials and serves a valid key; a revoked key's minted tokens
and open connections stop within the key cache window; the API refuses to start with a secret
anyone could know, and logs in to PostgreSQL as the read-only role itself."""

import asyncio
import contextlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
import websockets
from starlette.routing import WebSocketRoute

from api.access import OPEN_PATHS
from api.app import create_app
from api.live.settings import DEV_SECRET, LiveSettings
from api.live.tokens import Signer, mint_access
from api.settings import ApiSettings
from darkhorses.apikeys import create_key, revoke_key
from darkhorses.migrate import set_login_password
from darkhorses.settings import READER_ROLE, login_url
from tests.conftest import ApiProcess, Infra, free_port, start_runtime, wait_for_ready

pytestmark = pytest.mark.integration

SECRET = secrets.token_urlsafe(32)
CACHE_S = 1.0  # DARKHORSES_API_API_KEY_CACHE_S of the API under test
APP_NAME = "darkhorses-auth-test"  # the API's connections, told apart in pg_stat_activity
# Refused with 401 / 4001: (name, HTTP headers, websocket query); filled in per test.
CREDENTIALS = ("none", "wrong key", "wrong bearer", "forged token", "expired token",
               "revoked key", "revoked bearer", "token of a revoked key")  # fmt: skip


@pytest.fixture(scope="module")
def reader_url(infra: Infra) -> str:
    """The API's own login, with a password and an option, wired as `darkhorses up` does."""
    url = login_url(infra.database_url, READER_ROLE, secrets.token_urlsafe(16))
    url = f"{url}?application_name={APP_NAME}"
    assert asyncio.run(set_login_password(infra.database_url, url))
    return url


@pytest.fixture(scope="module")
def auth_api(infra: Infra, artifacts: Path, reader_url: str) -> Iterator[ApiProcess]:
    port = free_port()
    env = infra.env(
        DARKHORSES_API_PORT=str(port),
        DARKHORSES_API_AUTH_REQUIRED="true",
        DARKHORSES_API_API_KEY_CACHE_S=str(CACHE_S),
        DARKHORSES_API_DATABASE_URL=reader_url,
        DARKHORSES_STREAM_SECRET=SECRET,
    )
    runtime = start_runtime(["api"], env, artifacts / f"api-auth-{port}.log")
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_ready(base_url, runtime)
        yield ApiProcess(runtime, base_url)
    finally:
        runtime.stop()


@dataclass
class Keys:
    valid: str
    valid_id: str
    revoked: str
    revoked_token: str  # minted from `revoked` while it was active


@pytest.fixture
async def keys(infra: Infra, auth_api: ApiProcess) -> Keys:
    valid_id, valid = await create_key(infra.database_url, "auth-valid", 100_000)
    revoked_id, revoked = await create_key(infra.database_url, "auth-revoked", 100_000)
    async with httpx.AsyncClient(base_url=auth_api.base_url) as http:
        minted = await http.post("/v1/stream/token", headers={"X-API-Key": revoked})
    assert minted.status_code == 200
    assert await revoke_key(infra.database_url, revoked_id)
    await asyncio.sleep(CACHE_S + 0.5)  # past the cache window
    return Keys(valid, valid_id, revoked, minted.json()["token"])


def refused_credentials(keys: Keys) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    forged = mint_access(Signer(DEV_SECRET.encode()), keys.valid_id, 300)
    expired = mint_access(Signer(SECRET.encode()), keys.valid_id, 60, now=time.time() - 120)
    cases = {
        "none": ({}, {}),
        "wrong key": ({"X-API-Key": "dh_00000000_nope"}, {"api_key": "dh_00000000_nope"}),
        "wrong bearer": ({"Authorization": "Bearer dh_00000000_nope"}, {"api_key": "x"}),
        "forged token": ({"Authorization": f"Bearer {forged}"}, {"token": forged}),
        "expired token": ({"Authorization": f"Bearer {expired}"}, {"token": expired}),
        "revoked key": ({"X-API-Key": keys.revoked}, {"api_key": keys.revoked}),
        "revoked bearer": ({"Authorization": f"Bearer {keys.revoked}"}, {"api_key": keys.revoked}),
        "token of a revoked key": (
            {"Authorization": f"Bearer {keys.revoked_token}"},
            {"token": keys.revoked_token},
        ),
    }
    assert tuple(cases) == CREDENTIALS
    return cases


def concrete(path: str) -> str:
    """A documented path with its parameters filled in (unknown ids: 404 is an answer too)."""
    return (
        path.replace("{race_id}", "rac_auth")
        .replace("{horse_id}", "hrs_auth")
        .replace("{", "")
        .replace("}", "")
    )


async def documented_routes(http: httpx.AsyncClient) -> list[tuple[str, str]]:
    document = (await http.get("/openapi.json")).json()
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    ]


async def test_every_documented_route_refuses_bad_credentials_and_serves_a_valid_key(
    auth_api: ApiProcess, keys: Keys
) -> None:
    async with httpx.AsyncClient(base_url=auth_api.base_url, timeout=30) as http:
        routes = await documented_routes(http)
        assert len(routes) >= 30
        open_routes = {path for _, path in routes if path in OPEN_PATHS}
        assert open_routes == {"/health", "/ready", "/asyncapi.json"}  # as the README says
        cases = refused_credentials(keys)
        for method, path in routes:
            url = concrete(path)
            for name, (headers, _) in cases.items():
                answer = await http.request(method, url, headers=headers)
                if path in open_routes:
                    assert answer.status_code == 200, (method, path, name)
                    continue
                assert answer.status_code == 401, (method, path, name, answer.text)
                assert answer.json()["error"]["code"] in ("missing_api_key", "invalid_api_key")
            for headers in ({"X-API-Key": keys.valid}, {"Authorization": f"Bearer {keys.valid}"}):
                answer = await http.request(method, url, headers=headers)
                assert answer.status_code not in (401, 403), (method, path, answer.text)
                assert answer.status_code < 500, (method, path, answer.text)
        # Undocumented paths are no way round it either.
        for path in ("/v1/nowhere", "/health/", "/healthz", "/v1/stream/status/"):
            assert (await http.get(path)).status_code == 401, path


async def ws_frames(url: str, first: dict[str, Any] | None = None) -> tuple[list[Any], int | None]:
    """Connect, send `first` (if any), read until the server closes (or 10 s pass)."""
    frames: list[Any] = []
    async with websockets.connect(url, max_size=None) as ws:
        if first is not None:
            with contextlib.suppress(websockets.ConnectionClosed):  # it may be closed already
                await ws.send(orjson.dumps(first).decode())
        with contextlib.suppress(websockets.ConnectionClosed, TimeoutError):
            async with asyncio.timeout(10):
                while True:
                    for line in str(await ws.recv()).split("\n"):
                        frames.append(orjson.loads(line))
    return frames, ws.close_code


def websocket_paths() -> set[str]:
    """Every websocket route of the app (its routers are included without a prefix of their
    own, so a route's path is whole)."""

    def walk(routes: list[Any]) -> Iterator[Any]:
        for route in routes:
            included = getattr(route, "original_router", None)
            yield from walk(included.routes) if included is not None else (route,)

    app = create_app(ApiSettings(), LiveSettings())
    return {route.path for route in walk(app.routes) if isinstance(route, WebSocketRoute)}


async def test_every_websocket_path_refuses_bad_credentials_and_serves_a_valid_key(
    auth_api: ApiProcess, keys: Keys
) -> None:
    paths = websocket_paths()
    assert paths == {"/v1/stream", "/v1/stream/odds"}
    subscribe = {"op": "subscribe", "sub_id": "a", "id": "s"}
    for path in sorted(paths):
        base = f"{auth_api.ws_url}{path}"
        for name, (_, query) in refused_credentials(keys).items():
            url = str(httpx.URL(base, params=query))
            frames, code = await ws_frames(url, subscribe if path == "/v1/stream" else None)
            assert code == 4001, (path, name, frames)
            errors = [f for f in frames if f["type"] == "error"]
            assert errors, (path, name, frames)
            assert errors[-1]["fatal"] is True
            assert errors[-1]["code"] in ("unauthorized", "unauthenticated")
            assert not [f for f in frames if f["type"] in ("snapshot", "delta", "odds")]
        for headers in ({"X-API-Key": keys.valid}, {"Authorization": f"Bearer {keys.valid}"}):
            async with websockets.connect(base, additional_headers=headers) as ws:
                welcome = orjson.loads(await ws.recv())
                assert welcome["type"] == "welcome"
                if path == "/v1/stream":
                    assert welcome["auth_required"] is False  # authenticated
                    await ws.send(orjson.dumps(subscribe).decode())
                    status = await next_frame(ws, "status")
                    assert (status["id"], status["ok"]) == ("s", True)


async def next_frame(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        for line in str(await asyncio.wait_for(ws.recv(), 30)).split("\n"):
            frame: dict[str, Any] = orjson.loads(line)
            if frame["type"] == kind:
                return frame


async def read_until_closed(ws: Any) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            frames.extend(orjson.loads(line) for line in str(await ws.recv()).split("\n"))
    return frames


async def test_a_revoked_key_loses_its_tokens_and_open_connections_within_the_cache_window(
    infra: Infra, auth_api: ApiProcess
) -> None:
    key_id, key = await create_key(infra.database_url, "to-revoke", 100_000)
    async with httpx.AsyncClient(base_url=auth_api.base_url) as http:
        minted = await http.post("/v1/stream/token", headers={"Authorization": f"Bearer {key}"})
        assert minted.status_code == 200
        token = minted.json()["token"]
        stream, legacy = f"{auth_api.ws_url}/v1/stream", f"{auth_api.ws_url}/v1/stream/odds"
        async with (
            websockets.connect(f"{stream}?token={token}", max_size=None) as by_token,
            websockets.connect(stream, additional_headers={"X-API-Key": key}) as by_key,
            websockets.connect(f"{legacy}?api_key={key}", max_size=None) as raw,
        ):
            for ws in (by_token, by_key):
                assert orjson.loads(await ws.recv())["auth_required"] is False
                await ws.send('{"op": "subscribe", "sub_id": "all"}')
                await next_frame(ws, "status")
            assert orjson.loads(await raw.recv())["type"] == "welcome"

            assert await revoke_key(infra.database_url, key_id)
            revoked_at = time.monotonic()
            closing = [read_until_closed(ws) for ws in (by_token, by_key, raw)]
            results = await asyncio.wait_for(asyncio.gather(*closing), CACHE_S + 5)
            took = time.monotonic() - revoked_at
        for ws, frames in zip((by_token, by_key, raw), results, strict=True):
            assert ws.close_code == 4001
            assert frames[-1]["type"] == "error"
            assert "revoked" in frames[-1]["message"]
        # The hub re-checks every cache window (1 s here); allow for a loaded machine.
        assert took < CACHE_S + 2, took

        frames, code = await ws_frames(f"{stream}?token={token}", {"op": "ping"})
        assert code == 4001
        assert "revoked" in frames[-2]["message"] or "revoked" in frames[-1]["message"]
        again = await http.post("/v1/stream/token", headers={"X-API-Key": key})
        assert again.status_code == 401


@pytest.mark.parametrize(
    "secret", [None, "", DEV_SECRET, "short-but-not-empty"], ids=["unset", "empty", "dev", "short"]
)
def test_the_api_refuses_to_start_with_a_secret_anyone_could_know(
    infra: Infra, artifacts: Path, secret: str | None
) -> None:
    env = infra.env(DARKHORSES_API_PORT=str(free_port()), DARKHORSES_API_AUTH_REQUIRED="true")
    env.pop("DARKHORSES_STREAM_SECRET", None)
    if secret is not None:
        env["DARKHORSES_STREAM_SECRET"] = secret
    runtime = start_runtime(["api"], env, artifacts / f"api-refuses-{secrets.token_hex(3)}.log")
    try:
        assert runtime.process.wait(timeout=60) == 2
    finally:
        runtime.stop()
    output = runtime.output()
    assert "refusing to start" in output
    assert "DARKHORSES_STREAM_SECRET" in output
    assert "Traceback" not in output


async def test_the_api_logs_in_as_the_read_only_role(
    auth_api: ApiProcess, db: asyncpg.Connection, keys: Keys
) -> None:
    async with httpx.AsyncClient(base_url=auth_api.base_url) as http:
        served = await http.get("/v1/races", headers={"X-API-Key": keys.valid})
    assert served.status_code == 200  # its pool works, with the password set by migrate
    logins = await db.fetch(
        "SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = $1", APP_NAME
    )
    assert [row["usename"] for row in logins] == [READER_ROLE]
    role = await db.fetchrow(
        "SELECT rolcanlogin, rolsuper, rolpassword IS NOT NULL AS has_password "
        "FROM pg_authid WHERE rolname = $1",
        READER_ROLE,
    )
    assert dict(role) == {"rolcanlogin": True, "rolsuper": False, "has_password": True}
