import asyncio

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
    assert results == [b"book"] * 20
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
