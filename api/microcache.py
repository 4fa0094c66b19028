"""A tiny per-process response cache with single-flight refresh.

The live book changes many times a second but clients accept a book up to `ttl_s` old (it is
also served with `Cache-Control: max-age=1`). Caching the serialised bytes for that long turns a
burst of identical requests into one set of queries, and only one request per key rebuilds it.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable


class MicroCache:
    def __init__(self, ttl_s: float, max_entries: int = 2048) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, bytes]] = {}
        self._locks: dict[Hashable, asyncio.Lock] = {}

    def peek(self, key: Hashable) -> bytes | None:
        """The cached value if still fresh, without building (the fast path's lookup)."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        return None

    async def get(self, key: Hashable, build: Callable[[], Awaitable[bytes]]) -> bytes:
        entry = self._entries.get(key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self._entries.get(key)  # built by another request while we waited
            if entry is not None and entry[0] > time.monotonic():
                return entry[1]
            value = await build()
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
                self._locks = {key: lock}
            self._entries[key] = (time.monotonic() + self.ttl_s, value)
            return value
