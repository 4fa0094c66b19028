"""A real local HTTP server standing in for The Racing API (Starlette on uvicorn, a free port)."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from darkhorses.settings import RacingApiSettings
from producers.racing_api.settings import RacingApiProducerSettings
from tests.conftest import Infra, free_port
from tests.racing_api_stub import StubState, starlette_app


@asynccontextmanager
async def serving(state: StubState) -> AsyncIterator[RacingApiSettings]:
    """Serve `state` over HTTP for the duration; yields settings pointing at it."""
    port = free_port()
    config = uvicorn.Config(
        starlette_app(state), host="127.0.0.1", port=port, log_level="warning",
        lifespan="off", ws="none", access_log=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield RacingApiSettings(
            RACING_API_BASE_URL=f"http://127.0.0.1:{port}/v1",
            RACING_API_USERNAME="test",
            RACING_API_PASSWORD="test",  # noqa: S106 - the local stub ignores it
        )
    finally:
        server.should_exit = True
        await task


def producer_settings(infra: Infra, **overrides: Any) -> RacingApiProducerSettings:
    fields: dict[str, Any] = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        # Fast cadences so a test sees several polls in a second or two.
        "poll_at_post_s": 0.2, "poll_going_to_post_s": 0.2, "poll_pre_race_s": 0.2,
        "poll_early_s": 0.2, "refresh_cards_s": 3600, "list_rate_per_s": 20,
        "race_rate_per_s": 50, "backoff_s": 0.05,
    }  # fmt: skip
    fields.update(overrides)
    return RacingApiProducerSettings(**fields)


async def wait_until(predicate: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
