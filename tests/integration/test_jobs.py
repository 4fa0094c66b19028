"""The scheduler's state in PostgreSQL, as `GET /v1/jobs` and `/metrics` serve it."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time

import asyncpg
import httpx
import pytest

from darkhorses.jobs import PostgresJobStore, store_statistics
from darkhorses.scheduler import UK, Daily, Job, JobRun, JobState, Scheduler
from tests.conftest import ApiProcess, Infra
from tests.unit.test_scheduler import FakeClock

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(infra: Infra) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(infra.database_url, min_size=1, max_size=2) as pool:
        await pool.execute("DELETE FROM scheduled_jobs WHERE name LIKE 'test-%'")
        yield pool
        await pool.execute("DELETE FROM scheduled_jobs WHERE name LIKE 'test-%'")
        # Other modules' tests expect figures computed on request (no scheduler runs there).
        await pool.execute("DELETE FROM statistics_snapshots")


async def test_job_state_survives_a_restart_and_is_served(
    pool: asyncpg.Pool, api_server: ApiProcess
) -> None:
    store = PostgresJobStore(pool)
    attempts: list[date | None] = []

    async def flaky(run: JobRun) -> None:
        attempts.append(run.day)
        if len(attempts) == 1:
            raise ConnectionError("racing api unreachable")

    daily = Job("test-historical", Daily(time(1, 0), UK), flaky, retries=1, retry_after_s=30)
    await store.save(JobState("test-historical", "", watermark=date(2026, 6, 7)))
    clock = FakeClock(
        datetime(2026, 6, 9, 12, 0, tzinfo=UTC), end=datetime(2026, 6, 9, 20, 0, tzinfo=UTC)
    )
    await asyncio.wait_for(Scheduler([daily], store, clock).run(clock.stop), timeout=10)
    assert attempts == [date(2026, 6, 8), date(2026, 6, 8)]  # failed, retried 30 s later

    stored = await store.load("test-historical")
    assert stored is not None
    assert (stored.watermark, stored.runs, stored.failures) == (date(2026, 6, 8), 2, 1)
    assert stored.next_run == datetime(2026, 6, 10, 0, 0, tzinfo=UTC)

    async with httpx.AsyncClient(base_url=api_server.base_url, timeout=10) as client:
        jobs = {j["name"]: j for j in (await client.get("/v1/jobs")).json()["data"]}
        job = jobs["test-historical"]
        assert job["schedule"] == "daily at 01:00 Europe/London"
        assert (job["state"], job["last_outcome"], job["failures"]) == ("idle", "ok", 1)
        assert job["watermark"] == "2026-06-08"
        assert job["next_run"] == "2026-06-10T00:00:00Z"
        metrics = (await client.get("/metrics")).text
        assert 'darkhorses_job_failures{job="test-historical"} 1.0' in metrics
        assert 'darkhorses_job_next_run_timestamp_seconds{job="test-historical"} 1.7810496e+09' in (
            metrics
        )


async def test_stored_statistics_are_served_while_fresh(
    pool: asyncpg.Pool, api_server: ApiProcess
) -> None:
    await store_statistics(pool)
    computed_at = await pool.fetchval(
        "SELECT computed_at FROM statistics_snapshots WHERE name = 'statistics'"
    )
    async with httpx.AsyncClient(base_url=api_server.base_url, timeout=30) as client:
        report = (await client.get("/v1/statistics")).json()["data"]
        summary = (await client.get("/v1/summary")).json()["data"]
    assert datetime.fromisoformat(report["generated_at"]) <= computed_at
    assert set(summary) >= {"odds_history", "odds_latest", "races"}
    # A stale figure is not served: the API computes the report itself.
    await pool.execute(
        "UPDATE statistics_snapshots SET computed_at = now() - interval '1 day', "
        "payload = jsonb_set(payload, '{generated_at}', '\"2000-01-01T00:00:00Z\"') "
        "WHERE name = 'statistics'"
    )
    async with httpx.AsyncClient(base_url=api_server.base_url, timeout=30) as client:
        report = (await client.get("/v1/statistics")).json()["data"]
    assert not report["generated_at"].startswith("2000")
