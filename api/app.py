"""`create_app(settings)`: the FastAPI application and its lifespan-owned resources."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI

from api import asyncapi, errors, odds, stream
from api.fanout import LiveHub
from api.live.settings import LiveSettings
from api.settings import ApiSettings
from api.state import AppState, State


def create_app(settings: ApiSettings, live_settings: LiveSettings | None = None) -> FastAPI:
    live = live_settings or LiveSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, State]]:
        fanout = LiveHub(settings.kafka_bootstrap_servers, live)
        async with (
            asyncpg.create_pool(settings.database_url, min_size=1, max_size=10) as pool,
            fanout.running(),
        ):
            app.state.live_hub = fanout  # for the server's shutdown notice (api/server.py)
            yield {"state": State(settings=settings, pool=pool, fanout=fanout)}

    app = FastAPI(
        title="DarkHorses API",
        version="0.1.0",
        description="Live and historical UK and Irish horse-racing odds.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.include_router(odds.router)
    app.include_router(stream.router)
    app.include_router(asyncapi.router)

    @app.get("/health", tags=["health"])
    async def health(state: AppState) -> dict[str, str]:
        """Liveness, and whether the live stream's Kafka fan-out is consuming."""
        return {"status": "ok", "stream": "ready" if state.fanout.ready.is_set() else "starting"}

    return app
