"""`create_app(settings)`: the FastAPI application and its lifespan-owned resources."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

from api import (
    asyncapi,
    book,
    dashboard,
    errors,
    historical,
    jobs,
    observability,
    odds,
    races,
    racing_data,
    reference,
    statistics,
    stream,
)
from api.access import AccessControl, KeyCache
from api.caching import ETagMiddleware
from api.database import open_pool
from api.fanout import LiveHub
from api.fastpath import BookFastPath
from api.kafka_health import KafkaHealth, live_topics
from api.live.credentials import StreamCredentials
from api.live.settings import LiveSettings
from api.live.wire import RawSocketMiddleware
from api.microcache import MicroCache
from api.settings import ApiSettings
from api.state import AppState, State
from schemas.topics import race_group


def create_app(settings: ApiSettings, live_settings: LiveSettings | None = None) -> FastAPI:
    """Raises InsecureSecretError when keys are required and the stream's secret is public."""
    live = live_settings or LiveSettings()
    live.check_secret(settings.auth_required)
    keys = KeyCache(settings.api_key_cache_s)  # one cache of API keys for REST and the stream

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, State]]:
        health = KafkaHealth(
            settings.kafka_bootstrap_servers, race_group(settings.streams_group_id), live_topics()
        )
        async with open_pool(settings) as pool:
            credentials = _stream_credentials(settings, pool, keys)
            fanout = LiveHub(settings.kafka_bootstrap_servers, live, credentials)
            async with fanout.running(), health.open():
                book_cache = MicroCache(settings.book_cache_s)
                state = State(
                    settings=settings,
                    pool=pool,
                    fanout=fanout,
                    kafka_health=health,
                    book_cache=book_cache,
                )
                app.state.live_hub = fanout  # for the server's shutdown notice (api/server.py)
                try:
                    yield {"state": state}
                finally:
                    await book_cache.aclose()  # its background refreshes use the pool

    app = FastAPI(
        title="DarkHorses API",
        version="0.1.0",
        description="Live and historical UK and Irish horse-racing odds.",
        lifespan=lifespan,
        # Metrics are Prometheus (/metrics); FastAPI's OpenTelemetry hooks would only cost a
        # provider lookup and three environment reads on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    errors.install(app)
    app.include_router(observability.router)
    for module in (odds, races, book, historical, statistics, reference, racing_data, jobs):
        app.include_router(module.router, responses=errors.ERROR_RESPONSES)
    app.include_router(stream.router, responses=errors.ERROR_RESPONSES)
    dashboard.install(app)
    app.include_router(asyncapi.router)

    @app.get("/health", tags=["health"])
    async def health(state: AppState) -> dict[str, str]:
        """Liveness, and whether the live stream's Kafka fan-out is consuming."""
        return {"status": "ok", "stream": "ready" if state.fanout.ready.is_set() else "starting"}

    app.add_middleware(errors.RejectNulBytes)
    # Outermost last: metrics see everything, access control runs before any route work.
    app.add_middleware(ETagMiddleware)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(BookFastPath)
    app.add_middleware(AccessControl, settings=settings, keys=keys)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["X-API-Key", "Authorization", "If-None-Match"],
        expose_headers=["ETag", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"],
    )
    app.add_middleware(observability.RequestMetrics)
    # Outermost of all: it needs the server's own `send` (see api/live/wire.py).
    app.add_middleware(RawSocketMiddleware)
    return app


# Open connections' keys are re-checked this often at least, whatever the cache window.
MIN_RECHECK_S = 0.5


def _stream_credentials(
    settings: ApiSettings, pool: asyncpg.Pool, keys: KeyCache
) -> StreamCredentials:
    """The stream takes the REST API's keys, the one store, through REST's own key cache."""

    async def key_id(api_key: str) -> str | None:
        caller = await keys.lookup(pool, api_key)
        return None if caller is None else caller.key_id

    async def active(key_ids: frozenset[str], fresh: bool) -> frozenset[str]:
        return await keys.active(pool, key_ids, fresh)

    recheck_s = max(settings.api_key_cache_s, MIN_RECHECK_S)
    return StreamCredentials(settings.auth_required, key_id, active, recheck_s)
