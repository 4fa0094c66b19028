"""One client cannot deny service to others: the replay-and-close attack leaves no history reader
taken, after which a normal resume on the same process succeeds within 2 s; bad datetimes and
other bad fields get error frames and the connection stays usable."""

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from client import LiveClient
from tests.conftest import ApiProcess, Infra
from tests.integration.live.ws_helpers import (
    Race,
    RawClient,
    api_process,
    oracle,
    publish,
    settled,
    subscription,
)  # fmt: skip

pytestmark = pytest.mark.integration
READERS = 4


@pytest.fixture(scope="module")
def api(infra: Infra, artifacts: Path) -> Iterator[ApiProcess]:
    # As many replays per client as there are history readers: one client may take them all,
    # the worst the quota allows (the default, 2, would stop this attack at the quota).
    with api_process(
        infra, artifacts, DARKHORSES_STREAM_HISTORY_READERS=str(READERS),
        DARKHORSES_STREAM_MAX_REPLAYS_PER_KEY=str(READERS),
        DARKHORSES_STREAM_QUEUE_WATERMARK="10",
    ) as process:  # fmt: skip
        yield process


async def status(api: ApiProcess) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=api.base_url) as http:
        body: dict[str, Any] = (await http.get("/v1/stream/status")).json()
    return body


async def until_status(api: ApiProcess, check: Any, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        body = await status(api)
        if check(body) or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.05)


async def frames_until(ws: Any, kind: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    while not seen or seen[-1]["type"] != kind:
        for line in str(await asyncio.wait_for(ws.recv(), 30)).split("\n"):
            seen.append(orjson.loads(line))
            if seen[-1]["type"] == kind:
                break
    return seen


async def test_replay_and_close_leaves_no_reader_taken_and_a_resume_then_takes_under_2_s(
    infra: Infra, api: ApiProcess
) -> None:
    # History for the replays: big frames (40 runners, a bookmaker's whole field per event),
    # more than a client that reads nothing can take in, so each replay is still running (and
    # holding its reader) when the attacker goes.
    races = [Race.new(runners=40) for _ in range(8)]
    for race in races:
        await publish(infra, race, 0, 40, card=True, full=True)
    # A normal client is following one race, and drops (its resume tokens in hand).
    race = races[0]
    await settled(api, infra, race)
    url = f"{api.ws_url}/v1/stream"
    normal = LiveClient(url, [subscription(race)])
    task = asyncio.create_task(normal.run())
    expected = (await oracle(infra, race)).seq
    await asyncio.wait_for(
        normal.wait_until(lambda c: race.race_id in c.books["s1"]
                          and c.books["s1"][race.race_id].seq >= expected),
        30,
    )  # fmt: skip
    normal.stop()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    # The attack: 4 replays from 2020 at full speed, a fifth over the quota, close at 0.3 s.
    attacker = RawClient(url)
    await attacker.connect()
    started = time.monotonic()
    for n in range(READERS + 1):
        await attacker.send({"op": "subscribe", "sub_id": f"r{n}",
                             "replay": {"from": "2020-01-01T00:00:00Z", "speed": 0}})  # fmt: skip
    held = await until_status(api, lambda s: s["history"]["busy"] == READERS, timeout_s=10)
    assert held["history"] == {"readers": READERS, "busy": READERS, "replays": READERS}
    await asyncio.sleep(max(0.3 - (time.monotonic() - started), 0))
    still = await status(api)
    assert still["history"]["busy"] == READERS  # the replays were running when it went
    attacker.writer.close()  # gone without a close handshake

    freed = await until_status(api, lambda s: s["history"]["busy"] == 0, timeout_s=5)
    assert freed["history"] == {"readers": READERS, "busy": 0, "replays": 0}
    assert freed["connections"] == 0

    # Meanwhile the race moved on; the normal client resumes on the same process.
    await publish(infra, race, 40, 10, full=True)
    await settled(api, infra, race)
    resumed = LiveClient(url, [subscription(race)])
    resumed.tokens = dict(normal.tokens)
    resumed.books = normal.books
    expected = (await oracle(infra, race)).seq
    began = time.monotonic()
    task = asyncio.create_task(resumed.run())
    try:
        await asyncio.wait_for(
            resumed.wait_until(lambda c: c.books["s1"][race.race_id].seq >= expected), 2
        )
        took = time.monotonic() - began
    finally:
        resumed.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert took < 2
    assert resumed.stats.snapshot_reasons == {}  # caught up from history, not re-imaged
    assert resumed.stats.deltas >= 10
    assert (resumed.stats.gaps, resumed.stats.errors) == (0, 0)
    assert resumed.prices("s1") == (await oracle(infra, race)).prices


BAD_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"filter": {"off_from": "0001-01-01T00:00:00+14:00"}}, "filter.off_from"),
    ({"filter": {"off_to": "9999-12-31T23:59:59-14:00"}}, "filter.off_to"),
    ({"filter": {"off_from": "2026-02-30T12:00:00Z"}}, "filter.off_from"),
    ({"filter": {"off_to": 0}}, "filter.off_to"),
    ({"filter": {"off_from": "2026-01-01T12:00:00"}}, "filter.off_from"),  # naive
    ({"replay": {"from": "0001-01-01T00:00:00+14:00"}}, "replay.from"),
    ({"replay": {"from": "2026-01-01T00:00:00Z", "to": "9999-12-31T23:59:59-01:00"}}, "replay.to"),
    ({"replay": {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}}, "replay"),
    ({"replay": {"from": "2026-01-01T00:00:00Z", "speed": 1e308}}, "replay.speed"),
    ({"replay": {}}, "replay.from"),
    ({"filter": {"races": ["x" * 65]}}, "filter.races.0"),
    ({"filter": {"races": [f"r{n}" for n in range(501)]}}, "filter.races"),
    ({"filter": {"bookmakers": "bet365"}}, "filter.bookmakers"),
    ({"fields": ["best", "secrets"]}, "fields.1"),
    ({"conflate_ms": "soon"}, "conflate_ms"),
    ({"resume_token": ["a"]}, "resume_token"),
    ({"sub_id": "\u0000" * 65}, "sub_id"),
]


async def test_bad_datetimes_and_other_bad_fields_get_error_frames_and_the_socket_stays(
    infra: Infra, api: ApiProcess
) -> None:
    race = Race.new()
    await publish(infra, race, 0, 3, card=True)
    await settled(api, infra, race)
    async with websockets.connect(f"{api.ws_url}/v1/stream", max_size=None) as ws:
        assert orjson.loads(await ws.recv())["type"] == "welcome"
        for n, (fields, field) in enumerate(BAD_FIELDS):
            request = {"op": "subscribe", "sub_id": f"s{n}", "id": f"q{n}", **fields}
            await ws.send(orjson.dumps(request).decode())
            error = (await frames_until(ws, "error"))[-1]
            assert (error["code"], error["id"], error["fatal"]) == ("invalid_frame", f"q{n}", False)
            assert field in [p["field"] for p in error["detail"]["problems"]], (field, error)
        # Unknown sub ids and races, a resync of nothing, an unknown op: answered, not fatal.
        for frame, code in (
            ({"op": "resync", "sub_id": "none", "race_id": race.race_id}, "unknown_sub_id"),
            ({"op": "unsubscribe", "sub_id": "none"}, "unknown_sub_id"),
            ({"op": "replay"}, "unknown_op"),
        ):
            await ws.send(orjson.dumps(frame).decode())
            assert (await frames_until(ws, "error"))[-1]["code"] == code
        # Still usable: a ping, then a subscription that gets its race's image.
        await ws.send('{"op": "ping", "id": "p"}')
        assert (await frames_until(ws, "pong"))[-1]["id"] == "p"
        await ws.send(orjson.dumps({"op": "subscribe", **subscription(race, "ok")}).decode())
        snapshot = (await frames_until(ws, "snapshot"))[-1]
        assert (snapshot["sub_id"], snapshot["race_id"]) == ("ok", race.race_id)
    assert ws.close_code == 1000
