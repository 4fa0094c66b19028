"""The product's scheduled jobs (`darkhorses schedule`) and where their state is kept.

| job | schedule (default) | what |
|---|---|---|
| `live` | continuous | the Racing API live producer, restarted with backoff if it stops |
| `historical` | daily 01:00 UK | yesterday's backfill; days missed while stopped are caught up |
| `reference-entities` | daily 02:00 UK | horses, jockeys, trainers, owners on cards, results |
| `reference-courses` | every 7 days | courses |
| `reference-regions` | every 30 days | regions |
| `retention` | daily 03:00 UK | partitions made ahead, days past the retention dropped |
| `statistics` | every 300 s | finished races archived; `/v1/statistics`, `/v1/summary` stored |
| `simulate` | continuous | the market simulator (instead of the Racing API) |

The Racing API jobs form the group `racing-api`; `retention` and `statistics` `maintenance`.
"""

import asyncio
import logging
import time as clock
from datetime import UTC, datetime, time, timedelta
from typing import Any

import asyncpg
import orjson
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from darkhorses.scheduler import (
    UK,
    Continuous,
    Daily,
    Every,
    Job,
    JobRun,
    JobState,
    Scheduler,
)  # fmt: skip
from darkhorses.settings import ConnectionSettings

log = logging.getLogger(__name__)

RACING_API_JOBS = (
    "live", "historical", "reference-entities", "reference-courses", "reference-regions",
)  # fmt: skip
MAINTENANCE_JOBS = ("retention", "statistics")
SIMULATOR_JOBS = ("simulate",)
GROUPS = {"racing-api": RACING_API_JOBS, "maintenance": MAINTENANCE_JOBS}
ALL_JOBS = (*RACING_API_JOBS, *MAINTENANCE_JOBS, *SIMULATOR_JOBS)


class SchedulerSettings(ConnectionSettings):
    model_config = SettingsConfigDict(
        env_prefix="DARKHORSES_SCHEDULE_", env_file=".env", extra="ignore", frozen=True
    )

    jobs: str = Field(
        default="racing-api,maintenance",
        description="Jobs or groups to run, comma-separated (`racing-api`, `maintenance`).",
    )
    historical_at: time = Field(default=time(1, 0), description="UK time of the daily backfill.")
    historical_catch_up_days: int = Field(default=7, ge=0, description="Most missed days run.")
    reference_entities_at: time = Field(default=time(2, 0), description="UK time.")
    reference_courses_days: float = Field(default=7.0, gt=0)
    reference_regions_days: float = Field(default=30.0, gt=0)
    retention_at: time = Field(default=time(3, 0), description="UK time of the retention run.")
    retention_days: int = Field(default=90, ge=1, description="Days of price history kept.")
    partitions_ahead_days: int = Field(default=7, ge=0)
    statistics_interval_s: float = Field(default=300.0, gt=0)
    archive_after_h: float = Field(
        default=2.0,
        gt=0,
        description="Hours after the off a finished race's pre-race prices are archived "
        "(read from the archive from then on; its price history stays until the retention).",
    )
    retries: int = Field(default=3, ge=0, description="Retries of a failed run.")
    retry_after_s: float = Field(default=60.0, ge=0, description="First retry delay; doubles.")
    metrics_port: int | None = Field(default=None, description="Serve Prometheus metrics here.")

    def selected(self) -> list[str]:
        names: list[str] = []
        for item in (part.strip() for part in self.jobs.split(",")):
            for name in GROUPS.get(item, (item,) if item else ()):
                if name not in ALL_JOBS:
                    raise ValueError(f"unknown job {name!r}")
                if name not in names:
                    names.append(name)
        return names


class PostgresJobStore:
    """Job states in `scheduled_jobs` (sql/0062), one row per job."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def load(self, name: str) -> JobState | None:
        row = await self._pool.fetchrow("SELECT * FROM scheduled_jobs WHERE name = $1", name)
        if row is None:
            return None
        fields = dict(row)
        fields.pop("updated_at")
        return JobState(**fields)

    async def save(self, state: JobState) -> None:
        values = vars(state)
        columns = list(values)
        await self._pool.execute(
            f"INSERT INTO scheduled_jobs ({', '.join(columns)}) "  # noqa: S608 - own field names
            f"VALUES ({', '.join(f'${i}' for i in range(1, len(columns) + 1))}) "
            f"ON CONFLICT (name) DO UPDATE SET "
            f"{', '.join(f'{c} = EXCLUDED.{c}' for c in columns[1:])}, updated_at = now()",
            *values.values(),
        )


async def store_statistics(pool: asyncpg.Pool) -> None:
    """Compute the statistics report and the table counts and store them for the API."""
    from api.reference import table_counts
    from api.statistics import compute_report

    for name, compute in (("statistics", compute_report), ("summary", table_counts)):
        started = clock.perf_counter()
        figures: Any = await compute(pool)
        payload = figures.model_dump(mode="json") if name == "statistics" else figures
        elapsed_ms = (clock.perf_counter() - started) * 1000
        await pool.execute(
            "INSERT INTO statistics_snapshots (name, payload, computed_at, duration_ms) "
            "VALUES ($1, $2::jsonb, now(), $3) ON CONFLICT (name) DO UPDATE SET "
            "payload = EXCLUDED.payload, computed_at = EXCLUDED.computed_at, "
            "duration_ms = EXCLUDED.duration_ms",
            name,
            orjson.dumps(payload).decode(),
            elapsed_ms,
        )
        log.info("statistics: %s computed in %.0f ms", name, elapsed_ms)


def build_jobs(settings: SchedulerSettings, pool: asyncpg.Pool) -> list[Job]:
    """The selected jobs, wired to the producers and the maintenance functions."""
    from darkhorses.retention import apply_retention, archive_settled
    from darkhorses.settings import RacingApiSettings
    from producers.racing_api.run import run_historical, run_live, run_reference
    from producers.racing_api.settings import RacingApiProducerSettings

    producer = RacingApiProducerSettings()
    api = RacingApiSettings()

    async def live(run: JobRun) -> None:
        await run_live(producer, api, run.stop)

    async def historical(run: JobRun) -> None:
        assert run.day is not None  # noqa: S101 - a daily job is always given its day
        await run_historical(producer, api, run.day, run.day, show_progress=False)

    def reference(*parts: str) -> Any:
        async def refresh(run: JobRun) -> None:
            await run_reference(producer, api, frozenset(parts))

        return refresh

    archive_after = timedelta(hours=settings.archive_after_h)

    async def retention(run: JobRun) -> None:
        await apply_retention(
            settings.database_url, datetime.now(UTC),
            retention_days=settings.retention_days, ahead_days=settings.partitions_ahead_days,
            archive_after=archive_after,
        )  # fmt: skip

    async def statistics(run: JobRun) -> None:
        # Races finished since the last run are archived first: the coverage figures then
        # unpack only the last hours' prices.
        await archive_settled(pool, datetime.now(UTC) - archive_after)
        await store_statistics(pool)

    async def simulate(run: JobRun) -> None:
        from producers.settings import SimulatorSettings
        from producers.simulate import run_simulator

        await run_simulator(SimulatorSettings(), run.stop)

    def job(name: str, schedule: Daily | Every | Continuous, run: Any, **extra: Any) -> Job:
        options = {"retries": settings.retries, "retry_after_s": settings.retry_after_s} | extra
        return Job(name, schedule, run, **options)

    day = 86_400.0
    every_job = {
        "live": job("live", Continuous(), live),
        "historical": job(
            "historical", Daily(settings.historical_at, UK), historical,
            catch_up_days=settings.historical_catch_up_days,
        ),
        "reference-entities": job(
            "reference-entities", Daily(settings.reference_entities_at, UK),
            reference("entities"), catch_up_days=1,
        ),
        "reference-courses": job(
            "reference-courses", Every(settings.reference_courses_days * day), reference("courses")
        ),
        "reference-regions": job(
            "reference-regions", Every(settings.reference_regions_days * day), reference("regions")
        ),
        "simulate": job("simulate", Continuous(), simulate),
        "retention": job("retention", Daily(settings.retention_at, UK), retention, catch_up_days=1),
        # Run every five minutes anyway: a failed run's retry is simply the next one.
        "statistics": job(
            "statistics", Every(settings.statistics_interval_s), statistics, retries=0
        ),
    }  # fmt: skip
    return [every_job[name] for name in settings.selected()]


async def run_scheduler(settings: SchedulerSettings, stop: asyncio.Event) -> None:
    if settings.metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port)
    async with asyncpg.create_pool(settings.database_url, min_size=1, max_size=4) as pool:
        jobs = build_jobs(settings, pool)
        log.info("scheduler: %s", ", ".join(f"{j.name} ({j.schedule.describe()})" for j in jobs))
        await Scheduler(jobs, PostgresJobStore(pool)).run(stop)
