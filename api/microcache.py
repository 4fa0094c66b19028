"""A tiny per-process response cache with single-flight refresh, refreshed ahead of expiry.

The live book changes many times a second but clients accept a book up to `ttl_s` old (it is
also served with `Cache-Control: max-age=1`). Caching the serialised bytes for that long turns a
burst of identical requests into one set of queries, and only one request per key rebuilds it.

Age is counted from the moment a build *starts* (before its queries), so a served body never
reflects the database more than `ttl_s` ago. Once an entry is past `refresh_after` of its life, the
next lookup starts one background rebuild (with the builder its last `get` used) and keeps
answering from the current entry: a key that is asked for all the time never expires, so its
callers never queue behind a rebuild. Keys nobody asks for are not rebuilt.
The ETag of each body is computed once, when it is cached, not per response.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

from api.caching import etag_of

log = logging.getLogger(__name__)

Build = Callable[[], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class Cached:
    body: bytes
    etag: bytes
    built_at: float  # time.monotonic() when the build began


class MicroCache:
    def __init__(self, ttl_s: float, max_entries: int = 2048, refresh_after: float = 0.5) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.refresh_after = refresh_after  # fraction of ttl_s
        self._entries: dict[Hashable, Cached] = {}
        self._builders: dict[Hashable, Build] = {}
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._refreshing: dict[Hashable, asyncio.Task[None]] = {}

    def peek(self, key: Hashable) -> Cached | None:
        """The cached entry if still fresh, without building (the fast path's lookup)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        age = time.monotonic() - entry.built_at
        if age >= self.ttl_s:
            return None
        if age >= self.ttl_s * self.refresh_after and key not in self._refreshing:
            build = self._builders.get(key)
            if build is not None:
                self._refreshing[key] = asyncio.get_running_loop().create_task(
                    self._refresh(key, build)
                )
        return entry

    async def get(self, key: Hashable, build: Build) -> Cached:
        entry = self.peek(key)
        if entry is not None:
            return entry
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self.peek(key)  # built by another request while we waited
            if entry is not None:
                return entry
            return await self._build(key, build)

    async def aclose(self) -> None:
        """Stop background refreshes (their builders use resources about to close)."""
        tasks = list(self._refreshing.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _build(self, key: Hashable, build: Build) -> Cached:
        started = time.monotonic()
        body = await build()
        if len(self._entries) >= self.max_entries and key not in self._entries:
            self._entries.clear()
            self._builders.clear()
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        entry = self._entries[key] = Cached(body, etag_of(body), started)
        self._builders[key] = build
        return entry

    async def _refresh(self, key: Hashable, build: Build) -> None:
        try:
            lock = self._locks.setdefault(key, asyncio.Lock())
            async with lock:
                await self._build(key, build)
        except asyncio.CancelledError:
            raise
        except Exception:  # the next request past expiry rebuilds, and reports, in the open
            log.exception("background refresh of %r failed", key)
        finally:
            self._refreshing.pop(key, None)
