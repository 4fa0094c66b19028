"""A slow client is conflated, then closed with 4008 and resume tokens, while a fast client on
the same API process keeps receiving everything; the slow one then resumes without loss."""

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

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


@pytest.fixture(scope="module")
def small_queue_api(infra: Infra, artifacts: Path) -> Iterator[ApiProcess]:
    with api_process(
        infra,
        artifacts,
        DARKHORSES_STREAM_QUEUE_WATERMARK="10",
        DARKHORSES_STREAM_QUEUE_LIMIT="300",
    ) as process:
        yield process


async def counters(api: ApiProcess) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=api.base_url) as http:
        body: dict[str, Any] = (await http.get("/v1/stream/status")).json()
    found: dict[str, int] = body["counters"]
    return found


async def test_slow_client_is_conflated_then_closed_while_a_fast_one_keeps_up(
    infra: Infra, small_queue_api: ApiProcess
) -> None:
    # Big frames (40 runners, every event a bookmaker's whole field) over several races, so
    # that even fully conflated, the slow reader's socket buffers fill and its queue grows.
    races = [Race.new(runners=40) for _ in range(8)]
    race = races[0]
    for each in races:
        await publish(infra, each, 0, 3, card=True, full=True)
    for each in races:
        await settled(small_queue_api, infra, each)
    sub = subscription(race, filter={"races": [r.race_id for r in races]})
    url = f"{small_queue_api.ws_url}/v1/stream"

    # The slow reader stops reading after subscribing.
    slow = RawClient(url)
    await slow.connect()
    await slow.send({"op": "subscribe", **sub})

    fast = LiveClient(url, [sub])
    fast_task = asyncio.create_task(fast.run())
    try:
        await asyncio.wait_for(fast.wait_until(lambda c: len(c.books["s1"]) == 8), 30)
        sent = 3
        for _ in range(300):  # publish until the server gives up on the slow reader
            for each in races:
                await publish(infra, each, sent, 20, full=True)
            sent += 20
            if (await counters(small_queue_api)).get("slow_consumer_closes", 0) >= 1:
                break
        seen = await counters(small_queue_api)
        assert seen["slow_consumer_closes"] == 1
        assert seen["conflated_updates"] > 0
        # The slow client reads again from now on: what was in flight, the notice, then 4008.
        slow_reading = asyncio.create_task(slow.read_until_closed())

        # The fast client on the same process is still connected and keeps receiving.
        for each in races:
            await publish(infra, each, sent, 5, full=True)
        truth = [await oracle(infra, each) for each in races]
        expected = {k: v for t in truth for k, v in t.prices.items()}

        def caught_up(client: LiveClient) -> bool:
            books = client.books["s1"]
            return all(r.race_id in books and books[r.race_id].seq >= t.seq
                       for r, t in zip(races, truth, strict=True))  # fmt: skip

        await asyncio.wait_for(fast.wait_until(caught_up), 60)
        assert fast.stats.connects == 1
        assert fast.prices("s1") == expected
        assert (fast.stats.gaps, fast.stats.duplicates) == (0, 0)

        frames = await asyncio.wait_for(slow_reading, 60)
        assert slow.close_code == 4008
        notice = frames[-1]
        assert notice["type"] == "reconnect"
        assert notice["reason"] == "slow_consumer"
        assert notice["dropped_updates"] > 0

        # Replaying what it got into the client, then resuming with its tokens, loses nothing.
        resumed = LiveClient(url, [sub])
        for frame in frames:
            assert resumed.apply(frame) is None  # no gap in what was delivered
        assert "s1" in resumed.tokens
        resumed_task = asyncio.create_task(resumed.run())
        try:
            await asyncio.wait_for(resumed.wait_until(caught_up), 60)
        finally:
            resumed.stop()
            resumed_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await resumed_task
        assert resumed.prices("s1") == expected
        # Conflated frames keep their oldest token, so a resume may re-send what they carried:
        # the client drops those by seq. Never a gap.
        assert resumed.stats.gaps == 0
        assert resumed.stats.snapshot_reasons == {"subscribe": 8}
    finally:
        fast.stop()
        fast_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fast_task
        slow.writer.close()
