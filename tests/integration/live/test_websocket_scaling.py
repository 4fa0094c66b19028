"""Several API processes serve the same stream: a client dropped by one resumes on another with
no gap and no duplicate, since every process builds the same books from the same topics and a
resume token names Kafka offsets, not a process."""

import asyncio
from pathlib import Path

import pytest

from client import LiveClient
from tests.conftest import Infra
from tests.integration.live.test_websocket_stream import caught_up, running
from tests.integration.live.ws_helpers import Race, api_process, oracle, publish, subscription

pytestmark = pytest.mark.integration


async def test_a_client_resumes_on_another_api_process_without_gap_or_duplicate(
    infra: Infra, artifacts: Path
) -> None:
    race = Race.new()
    await publish(infra, race, 0, 10, card=True)
    with api_process(infra, artifacts) as first, api_process(infra, artifacts) as second:
        client = LiveClient(f"{first.ws_url}/v1/stream", [subscription(race)], retry_s=0.2)
        async with running(client):
            await caught_up(client, infra, race)
            await publish(infra, race, 10, 40)
            await asyncio.wait_for(client.wait_until(lambda c: c.stats.deltas >= 5), 30)
            client.url = f"{second.ws_url}/v1/stream"  # as a load balancer would send it
            client.drop()  # mid-stream: some of the 40 arrived from the first process
            await publish(infra, race, 50, 40)
            await caught_up(client, infra, race)
            await asyncio.wait_for(client.wait_until(lambda c: c.stats.deltas >= 80), 30)
    assert client.stats.connects >= 2
    assert client.prices("s1") == (await oracle(infra, race)).prices
    assert (client.stats.gaps, client.stats.duplicates) == (0, 0)
    assert client.stats.snapshot_reasons == {"subscribe": 1}  # resumed, never re-imaged
    assert client.stats.deltas == 80
