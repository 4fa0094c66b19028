"""REST: the old statistics report (live and historical, from the streams' views) and stream
health (Kafka lag, rates, freshness per source and bookmaker)."""

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.caching import cache_for
from api.envelope import Item
from api.state import AppState

router = APIRouter(prefix="/v1/statistics", tags=["statistics"])


class PartitionLagOut(BaseModel):
    topic: str
    partition: int
    end_offset: int
    committed: int | None
    lag: int | None


class SourceFreshness(BaseModel):
    source: str
    last_source_time: datetime
    last_ingest_time: datetime
    prices: int


class BookmakerFreshness(BaseModel):
    bookmaker_id: str
    last_update: datetime | None
    update_rate_per_min: float | None
    median_staleness_s: float | None


class ProducerCycle(BaseModel):
    producer: str
    source_time: datetime
    races: int
    runners: int
    bookmakers: int
    prices: int
    unpriced: int
    errors: int
    duration_s: float


class StreamHealth(BaseModel):
    kafka_ok: bool
    kafka_error: str | None
    partitions: list[PartitionLagOut]
    total_lag: int | None = Field(description="Events the streams worker has yet to commit.")
    events_per_s: float | None = Field(description="Live odds events arriving per second.")
    last_event_time: datetime | None
    sources: list[SourceFreshness]
    bookmakers: list[BookmakerFreshness]
    producer_cycles: list[ProducerCycle]


@router.get("/stream", response_model=Item[StreamHealth], dependencies=[Depends(cache_for(2))])
async def stream_health(state: AppState) -> Item[StreamHealth]:
    """Lag per partition, events per second and the last event per source and bookmaker."""
    partitions: list[PartitionLagOut] = []
    rate = None
    error = None
    try:
        reading = await state.kafka_health.reading()
        partitions = [PartitionLagOut(**asdict(p)) for p in reading.partitions]
        rate = reading.events_per_s
    except Exception as failure:  # noqa: BLE001 - reported to the caller, never a 500
        error = f"{type(failure).__name__}: {failure}"
    lags = [p.lag for p in partitions if p.lag is not None]
    sources = await state.pool.fetch(
        "SELECT source, max(source_time) AS last_source_time, "
        "max(ingest_time) AS last_ingest_time, count(*) AS prices FROM odds_latest GROUP BY source"
    )
    books = await state.pool.fetch(
        "SELECT bookmaker_id, last_update, update_rate_per_min, median_staleness_s "
        "FROM bookmaker_analytics ORDER BY bookmaker_id"
    )
    cycles = await state.pool.fetch(
        "SELECT DISTINCT ON (producer) producer, source_time, races, runners, bookmakers, prices, "
        "unpriced, errors, duration_s FROM fetch_stats ORDER BY producer, source_time DESC"
    )
    health = StreamHealth(
        kafka_ok=error is None,
        kafka_error=error,
        partitions=partitions,
        total_lag=sum(lags) if lags else None,
        events_per_s=rate,
        last_event_time=max((s["last_source_time"] for s in sources), default=None),
        sources=[SourceFreshness(**dict(s)) for s in sources],
        bookmakers=[BookmakerFreshness(**dict(b)) for b in books],
        producer_cycles=[ProducerCycle(**dict(c)) for c in cycles],
    )
    return Item[StreamHealth](data=health)


_LIVE_VIEWS = ("bookmakers", "dates", "courses", "nulls", "market_status")
_HISTORICAL_VIEWS = ("dates", "countries", "tracks", "nulls")


class StatisticsReport(BaseModel):
    generated_at: datetime
    live: dict[str, Any] = Field(
        description="summary, per-bookmaker coverage, per-date counts (7 days), top-20 courses, "
        "null counts per column, market-status shares."
    )
    historical: dict[str, Any] = Field(
        description="summary, per-date, country and track distributions, null counts, "
        "SP and pre-race price coverage."
    )


async def compute_report(pool: asyncpg.Pool) -> StatisticsReport:
    """The report computed now from the views (seconds on a database of months: the maintenance
    job stores it, `stored_figures` serves it)."""
    live: dict[str, Any] = {
        "summary": dict(await pool.fetchrow("SELECT * FROM stats_live_summary"))
    }
    for view in _LIVE_VIEWS:
        live[view] = [dict(r) for r in await pool.fetch(f"SELECT * FROM stats_live_{view}")]  # noqa: S608
    historical: dict[str, Any] = {
        "summary": dict(await pool.fetchrow("SELECT * FROM stats_historical_summary")),
        "coverage": dict(await pool.fetchrow("SELECT * FROM stats_historical_coverage")),
    }
    for view in _HISTORICAL_VIEWS:
        historical[view] = [
            dict(r)
            for r in await pool.fetch(f"SELECT * FROM stats_historical_{view}")  # noqa: S608
        ]
    return StatisticsReport(generated_at=datetime.now(UTC), live=live, historical=historical)


async def stored_figures(pool: asyncpg.Pool, name: str, max_age_s: float) -> Any | None:
    """The figures `name` as last stored (sql/0061), if younger than `max_age_s`."""
    if max_age_s <= 0:
        return None
    payload = await pool.fetchval(
        "SELECT payload FROM statistics_snapshots "
        "WHERE name = $1 AND computed_at >= now() - make_interval(secs => $2)",
        name,
        max_age_s,
    )
    return None if payload is None else orjson.loads(payload)


@router.get("", response_model=Item[StatisticsReport], dependencies=[Depends(cache_for(10))])
async def statistics_report(state: AppState) -> Item[StatisticsReport]:
    """The old statistics report: as the maintenance job last stored it, when that is younger
    than `DARKHORSES_API_STATISTICS_MAX_AGE_S` (`generated_at` says when), else computed now."""
    stored = await stored_figures(state.pool, "statistics", state.settings.statistics_max_age_s)
    if stored is not None:
        return Item[StatisticsReport](data=StatisticsReport.model_validate(stored))
    return Item[StatisticsReport](data=await compute_report(state.pool))
