import asyncio
import time

from api.caching import etag_of
from api.microcache import MicroCache


async def test_concurrent_requests_build_once_and_expire() -> None:
    cache = MicroCache(ttl_s=60)
    builds = 0

    async def build() -> bytes:
        nonlocal builds
        builds += 1
        await asyncio.sleep(0)
        return b"book"

    results = await asyncio.gather(*(cache.get("race", build) for _ in range(20)))
    assert [r.body for r in results] == [b"book"] * 20
    assert results[0].etag == etag_of(b"book")
    assert builds == 1
    cache.ttl_s = 0
    await cache.get("other", build)
    await cache.get("other", build)
    assert builds == 3


async def test_bounded_size() -> None:
    cache = MicroCache(ttl_s=60, max_entries=3)

    async def build() -> bytes:
        return b"x"

    for key in range(10):
        await cache.get(key, build)
    assert len(cache._entries) <= 3


async def test_a_hot_key_is_refreshed_ahead_and_never_served_older_than_ttl() -> None:
    """Past half its life an entry is rebuilt in the background; lookups never wait for it."""
    cache = MicroCache(ttl_s=0.2)
    versions = 0

    async def build() -> bytes:
        nonlocal versions
        versions += 1
        await asyncio.sleep(0.02)
        return str(versions).encode()

    first = await cache.get("race", build)
    deadline = time.monotonic() + 1.0
    seen = set()
    while time.monotonic() < deadline:
        entry = cache.peek("race")
        assert entry is not None, "a key asked for all the time must not expire"
        assert time.monotonic() - entry.built_at < cache.ttl_s
        seen.add(entry.body)
        await asyncio.sleep(0.005)
    assert len(seen) >= 4
    assert first.body not in seen or len(seen) > 1
    await cache.aclose()


async def test_a_failed_refresh_leaves_the_entry_to_expire() -> None:
    cache = MicroCache(ttl_s=0.05)
    calls = 0

    async def build() -> bytes:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise RuntimeError("database gone")
        return b"book"

    await cache.get("race", build)
    await asyncio.sleep(0.03)
    assert cache.peek("race") is not None  # starts the refresh, still answers
    await asyncio.sleep(0.03)
    assert cache.peek("race") is None
    await cache.aclose()


async def test_keys_nobody_asks_for_are_not_rebuilt() -> None:
    cache = MicroCache(ttl_s=0.02)
    builds = 0

    async def build() -> bytes:
        nonlocal builds
        builds += 1
        return b"x"

    await cache.get("race", build)
    await asyncio.sleep(0.1)
    assert builds == 1
