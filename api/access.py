"""Access control as one pure-ASGI middleware: API keys and per-key rate limits.

Keys arrive as `X-API-Key: <key>` or `Authorization: Bearer <key>`; only their SHA-256 is looked
up (cached for `api_key_cache_s`, so a revocation takes effect within that time). Every response
carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds until the
window resets); a request over the limit gets 429 with `Retry-After`. Without a key, requests are
allowed only when `auth_required` is off, and are limited per client address.
Limits are per API process and per fixed one-minute window.

Every HTTP route goes through it, the live stream's included, except `OPEN_PATHS`: liveness and
readiness for load balancers, the API's documentation and the dashboard's static files, none of
which serve data. Websockets check the same keys themselves (api/live/credentials.py).
"""

import math
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from api.settings import ApiSettings
from darkhorses.apikeys import hash_key

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WINDOW_S = 60
# Served without a key even when keys are required: no data behind any of them.
OPEN_PATHS = frozenset({
    "/health", "/ready",  # load balancers and orchestrators
    "/", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/asyncapi.json",
})  # fmt: skip
OPEN_PREFIXES = ("/static/",)  # the dashboard's files (its data calls need a key like any)
CALLER = "darkhorses.caller"  # where the middleware leaves the caller in the request's scope
_MAX_CACHED = 10_000


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


@dataclass(frozen=True, slots=True)
class Caller:
    id: str
    limit_per_min: int
    key_id: str | None = None  # None: an anonymous caller (keys not required)


def caller_of(scope: Scope) -> Caller | None:
    """Who made a request that passed access control (None on open paths)."""
    caller: Caller | None = scope.get(CALLER)
    return caller


class KeyCache:
    """API keys by hash (REST and the stream's keys) and by id (the stream's tokens and open
    connections), each answer kept `ttl_s`: the longest a revoked key keeps working."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[float, Caller | None]] = {}
        self._active: dict[str, tuple[float, bool]] = {}

    async def lookup(self, pool: asyncpg.Pool, key: str) -> Caller | None:
        digest = hash_key(key)
        cached = self._entries.get(digest)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.ttl_s:
            caller = cached[1]
            if caller is not None and caller.key_id is not None:
                # A newer answer by id (the stream's revocation sweep) may have seen it revoked.
                seen = self._active.get(caller.key_id)
                if seen is not None and seen[0] >= cached[0] and not seen[1]:
                    return None
            return caller
        row = await pool.fetchrow(
            "SELECT id, rate_limit_per_min FROM api_keys "
            "WHERE key_hash = $1 AND revoked_at IS NULL",
            digest,
        )
        caller = Caller(f"key:{row['id']}", row["rate_limit_per_min"], row["id"]) if row else None
        if len(self._entries) > _MAX_CACHED:
            self._entries.clear()
        self._entries[digest] = (now, caller)
        if caller is not None and caller.key_id is not None:
            self._remember(caller.key_id, True, now)
        return caller

    async def active(
        self, pool: asyncpg.Pool, key_ids: Iterable[str], fresh: bool = False
    ) -> frozenset[str]:
        """Which of these key ids are active (not revoked); `fresh` asks the database for all
        of them (and refreshes the cache) instead of trusting answers up to `ttl_s` old."""
        now = time.monotonic()
        known: set[str] = set()
        ask: list[str] = []
        for key_id in set(key_ids):
            cached = self._active.get(key_id)
            if fresh or cached is None or now - cached[0] >= self.ttl_s:
                ask.append(key_id)
            elif cached[1]:
                known.add(key_id)
        if ask:
            rows = await pool.fetch(
                "SELECT id FROM api_keys WHERE id = ANY($1::text[]) AND revoked_at IS NULL", ask
            )
            found = {row["id"] for row in rows}
            for key_id in ask:
                self._remember(key_id, key_id in found, now)
            known |= found
        return frozenset(known)

    def _remember(self, key_id: str, active: bool, now: float) -> None:
        if len(self._active) > _MAX_CACHED:
            self._active.clear()
        self._active[key_id] = (now, active)


class RateLimiter:
    """Fixed one-minute windows per caller."""

    def __init__(self) -> None:
        self._window = 0
        self._counts: dict[str, int] = {}

    def hit(self, caller: Caller, now: float) -> tuple[bool, int, int]:
        """Count a request; returns (allowed, remaining, seconds until reset)."""
        window = int(now // WINDOW_S)
        if window != self._window:
            self._window, self._counts = window, {}
        used = self._counts.get(caller.id, 0) + 1
        self._counts[caller.id] = used
        reset = math.ceil((window + 1) * WINDOW_S - now)
        return used <= caller.limit_per_min, max(caller.limit_per_min - used, 0), reset


class AccessControl:
    def __init__(self, app: ASGIApp, settings: ApiSettings, keys: KeyCache) -> None:
        self.app = app
        self.settings = settings
        self.keys = keys  # shared with the live stream's credentials
        self.limiter = RateLimiter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open(scope["path"]):
            await self.app(scope, receive, send)
            return
        key = _presented_key(scope)
        caller: Caller | None
        if key is not None:
            caller = await self.keys.lookup(scope["state"]["state"].pool, key)
            if caller is None:
                await _reject(send, 401, "invalid_api_key", "the API key is unknown or revoked")
                return
        elif self.settings.auth_required:
            await _reject(send, 401, "missing_api_key",
                          "send an API key as X-API-Key or Authorization: Bearer")  # fmt: skip
            return
        else:
            client = scope.get("client") or ("unknown", 0)
            caller = Caller(f"ip:{client[0]}", self.settings.anonymous_rate_limit_per_min)
        allowed, remaining, reset = self.limiter.hit(caller, time.time())
        limit_headers = [
            (b"x-ratelimit-limit", str(caller.limit_per_min).encode()),
            (b"x-ratelimit-remaining", str(remaining).encode()),
            (b"x-ratelimit-reset", str(reset).encode()),
        ]
        if not allowed:
            await _reject(
                send,
                429,
                "rate_limited",
                f"rate limit of {caller.limit_per_min} requests per minute exceeded",
                [*limit_headers, (b"retry-after", str(reset).encode())],
                {"retry_after_s": reset},
            )
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *limit_headers]
            await send(message)

        scope[CALLER] = caller
        await self.app(scope, receive, send_with_limits)


def _presented_key(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            return str(value.decode("latin-1"))
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return str(value[7:].decode("latin-1"))
    return None


async def _reject(
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: list[tuple[bytes, bytes]] | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    body = orjson.dumps({"error": {"code": code, "message": message, "detail": detail}})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
