"""REST: the scheduler's jobs (`darkhorses schedule`): what each last did and when it runs next,
as the scheduler stored them (`scheduled_jobs`, sql/0062); and the same as Prometheus gauges."""

from datetime import date, datetime

import asyncpg
from fastapi import APIRouter, Depends
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from pydantic import BaseModel, Field

from api.caching import cache_for
from api.envelope import Item
from api.state import AppState

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

_COLUMNS = (
    "name, schedule, state, last_started, last_finished, last_outcome, last_error, last_success, "
    "next_run, runs, failures, consecutive_failures, watermark, updated_at"
)


class JobOut(BaseModel):
    name: str
    schedule: str = Field(description="e.g. `daily at 01:00 Europe/London`, `every 120 s`.")
    state: str = Field(description="idle, running, retrying or failed.")
    last_started: datetime | None
    last_finished: datetime | None
    last_outcome: str | None = Field(description="ok or failed.")
    last_error: str | None
    last_success: datetime | None
    next_run: datetime | None
    runs: int
    failures: int
    consecutive_failures: int
    watermark: date | None = Field(description="Daily jobs: the last day done.")
    updated_at: datetime


async def load_jobs(pool: asyncpg.Pool) -> list[JobOut]:
    rows = await pool.fetch(f"SELECT {_COLUMNS} FROM scheduled_jobs ORDER BY name")  # noqa: S608
    return [JobOut(**dict(row)) for row in rows]


@router.get("", response_model=Item[list[JobOut]], dependencies=[Depends(cache_for(5))])
async def list_jobs(state: AppState) -> Item[list[JobOut]]:
    """Every scheduled job: schedule, state, last run and outcome, next run, failures."""
    return Item[list[JobOut]](data=await load_jobs(state.pool))


def _timestamp(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else 0.0


async def job_metrics(pool: asyncpg.Pool) -> bytes:
    """The jobs as Prometheus gauges (0 where a time is unknown)."""
    registry = CollectorRegistry()
    gauges = {
        name: Gauge(f"darkhorses_job_{name}", text, ["job"], registry=registry)
        for name, text in (
            ("last_run_timestamp_seconds", "When the job's last run finished."),
            ("last_success_timestamp_seconds", "When the job last succeeded."),
            ("next_run_timestamp_seconds", "When the job runs next (0: running)."),
            ("runs", "Runs recorded, failed ones included."),
            ("failures", "Failed runs recorded."),
            ("consecutive_failures", "Failed runs since the last success."),
            ("running", "1 while a run (or a retry) is in progress."),
            ("last_ok", "1 if the last run succeeded."),
        )
    }
    for job in await load_jobs(pool):
        gauges["last_run_timestamp_seconds"].labels(job.name).set(_timestamp(job.last_finished))
        gauges["last_success_timestamp_seconds"].labels(job.name).set(_timestamp(job.last_success))
        gauges["next_run_timestamp_seconds"].labels(job.name).set(_timestamp(job.next_run))
        gauges["runs"].labels(job.name).set(job.runs)
        gauges["failures"].labels(job.name).set(job.failures)
        gauges["consecutive_failures"].labels(job.name).set(job.consecutive_failures)
        gauges["running"].labels(job.name).set(job.state in ("running", "retrying"))
        gauges["last_ok"].labels(job.name).set(job.last_outcome == "ok")
    return generate_latest(registry)
