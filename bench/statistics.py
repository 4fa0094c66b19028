"""/v1/statistics and /v1/summary on a database of 30 days of prices (30 million price rows).

The rows are made in PostgreSQL itself (generate_series), not through Kafka: 30 days of 60
races, 12 runners and 25 bookmakers; per race and bookmaker 167 price events of 4 prices each
(30,060,000 prices in 7,515,000 history rows), the latest price of every quote, results. Then
the maintenance runs as the scheduler would (partitions, settled races archived, sealed days
counted, the statistics stored), the API starts, and each route is asked `REQUESTS` times by
`CONCURRENCY` clients. Figures: `api_statistics_p99_ms`, `api_summary_p99_ms` (target <= 200),
`statistics_refresh_ms` (the maintenance job computing both from the tables) and the database's
price rows.
"""

import asyncio
import os
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import asyncpg
import httpx

from bench.harness import BenchInfra, bench_infra, record, runtime
from darkhorses.jobs import store_statistics
from darkhorses.retention import apply_retention, archive_settled

DAYS = int(os.environ.get("DARKHORSES_BENCH_STATS_DAYS", "30"))
RACES_PER_DAY = 60
RUNNERS = 12
BOOKS = 25
EVENTS_PER_BOOK = 167  # x 4 prices: 30.06 million prices over 30 days
REQUESTS = 400
CONCURRENCY = 4

RACES = """
INSERT INTO races (race_id, course_id, course, region_code, race_date, off_dt, race_name,
                   is_abandoned, source_time, event_id)
SELECT format('rac_b%s_%s', to_char($1::date, 'YYYYMMDD'), r), 'crs_b' || (r % 20),
       'Course ' || (r % 20), CASE WHEN r % 5 = 0 THEN 'ire' ELSE 'gb' END, $1::date,
       $1::date::timestamp AT TIME ZONE 'UTC' + interval '12 hours' + r * interval '6 minutes',
       'Handicap ' || r, false, now(), 'bench'
FROM generate_series(0, $2 - 1) r
"""
RUNNERS_SQL = """
INSERT INTO runners (race_id, horse_id, horse, non_runner, source_time, event_id)
SELECT r.race_id, r.race_id || '_h' || h, 'Horse ' || h, false, now(), 'bench'
FROM races r, generate_series(0, $2 - 1) h WHERE r.race_date = $1
"""
RESULTS = """
INSERT INTO results (race_id, off_dt, course_id, region_code, field_size, source_time, event_id,
                     race_name)
SELECT race_id, off_dt, course_id, region_code, $2, off_dt + interval '10 minutes', 'bench',
       race_name
FROM races WHERE race_date = $1
"""
RESULT_RUNNERS = """
INSERT INTO result_runners (race_id, horse_id, horse, position, finished, sp_favourite, sp,
                            sp_decimal, source_time, event_id, jockey_id, trainer_id)
SELECT r.race_id, r.race_id || '_h' || h, 'Horse ' || h, (h + 1)::text, h + 1, h = 0,
       (h + 1) || '/1', h + 2, r.off_dt + interval '10 minutes', 'bench',
       'jky_b' || (h * 7 % 40), 'trn_b' || (h * 3 % 30)
FROM races r, generate_series(0, $2 - 1) h WHERE r.race_date = $1
"""
STATUS = """
INSERT INTO market_status (race_id, status, source_time, event_id)
SELECT race_id, 'result', off_dt + interval '10 minutes', 'bench' FROM races WHERE race_date = $1
"""
LATEST = """
WITH books AS (SELECT array_agg(bookmaker_id ORDER BY bookmaker_id) AS ids FROM bookmakers)
INSERT INTO odds_latest (race_id, horse_id, bookmaker_id, bookmaker, price_decimal,
                         price_fractional, ew_places, ew_denom, source, source_time, ingest_time,
                         event_id, opening, high, low, changes)
SELECT r.race_id, r.race_id || '_h' || h, books.ids[b + 1], books.ids[b + 1],
       2 + ((h * 7 + b) % 40) * 0.25, ((h * 7 + b) % 40) || '/4', 3, 5, 'simulator',
       r.off_dt - interval '1 minute', r.off_dt - interval '1 minute', 'bench', 3, 9, 2, 40
FROM races r, books, generate_series(0, $2 - 1) h, generate_series(0, $3 - 1) b
WHERE r.race_date = $1
"""
# Four prices an event: runners k, k+3, k+6, k+9 (mod 12), moving a quarter point at a time.
HISTORY = """
WITH books AS (SELECT array_agg(bookmaker_id ORDER BY bookmaker_id) AS ids FROM bookmakers)
INSERT INTO odds_history_events (race_id, bookmaker_id, source_time, event_id, source,
                                 ingest_time, prices)
SELECT r.race_id, books.ids[b + 1], t, format('bench-%s-%s', b, k), 'simulator', t,
       ('[["' || r.race_id || '_h' || (k % 12) || '","' || (2 + ((k * 7 + b) % 40) * 0.25)
        || '","7/4",3,5],["' || r.race_id || '_h' || ((k + 3) % 12) || '","'
        || (3 + ((k * 5 + b) % 40) * 0.25) || '","9/4",3,5],["' || r.race_id || '_h'
        || ((k + 6) % 12) || '","' || (4 + ((k * 3 + b) % 40) * 0.25) || '","3/1",3,5],["'
        || r.race_id || '_h' || ((k + 9) % 12) || '","' || (5 + ((k + b) % 40) * 0.25)
        || '","4/1",3,5]]')::json
FROM races r, books, generate_series(0, $3 - 1) b, generate_series(0, $2 - 1) k,
     LATERAL (SELECT r.off_dt - interval '10 hours' + k * interval '3 minutes') AS at(t)
WHERE r.race_date = $1
"""


async def _load(database_url: str, today: date) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("SET synchronous_commit = off")
        first = today - timedelta(days=DAYS - 1)
        for n in range(DAYS):
            day = first + timedelta(days=n)
            started = time.perf_counter()
            # Each day's partition first (10 hours of prices before a race may start the day
            # before), so no row waits in the default partition.
            for part_day in (day - timedelta(days=1), day):
                await connection.execute("SELECT odds_history_ensure_partition($1)", part_day)
            async with connection.transaction():
                await connection.execute(RACES, day, RACES_PER_DAY)
                await connection.execute(RUNNERS_SQL, day, RUNNERS)
                await connection.execute(RESULTS, day, RUNNERS)
                await connection.execute(RESULT_RUNNERS, day, RUNNERS)
                await connection.execute(STATUS, day)
                await connection.execute(LATEST, day, RUNNERS, BOOKS)
                await connection.execute(HISTORY, day, EVENTS_PER_BOOK, BOOKS)
            print(f"day {day}: loaded in {time.perf_counter() - started:.1f} s", flush=True)
        await connection.execute("VACUUM ANALYZE")
        prices: int = await connection.fetchval(
            "SELECT sum(json_array_length(prices)) FROM odds_history_events"
        )
        return prices
    finally:
        await connection.close()


async def _maintain(database_url: str) -> float:
    """The maintenance jobs' work, as the scheduler runs it; returns the statistics' time."""
    started = time.perf_counter()
    report = await apply_retention(database_url, datetime.now(UTC), retention_days=90)
    print(f"retention in {time.perf_counter() - started:.1f} s: {report.summary()}", flush=True)
    async with asyncpg.create_pool(database_url, min_size=1, max_size=2) as pool:
        started = time.perf_counter()
        await archive_settled(pool, datetime.now(UTC) - timedelta(hours=2))
        await store_statistics(pool)
        return (time.perf_counter() - started) * 1000


async def _latencies(base_url: str, path: str) -> list[float]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for _ in range(20):  # warm-up: connections, caches, plans
            (await client.get(path)).raise_for_status()
        timings: list[float] = []

        async def worker(count: int) -> None:
            for _ in range(count):
                started = time.perf_counter()
                response = await client.get(path)
                timings.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()

        await asyncio.gather(*(worker(REQUESTS // CONCURRENCY) for _ in range(CONCURRENCY)))
        return timings


def _p99(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=100)[98]


def _measure(infra: BenchInfra) -> dict[str, float]:
    started = time.perf_counter()
    prices = asyncio.run(_load(infra.database_url, datetime.now(UTC).date()))
    load_s = time.perf_counter() - started
    refresh_ms = asyncio.run(_maintain(infra.database_url))
    port = int(os.environ.get("DARKHORSES_BENCH_PORT_BASE", "26000")) + 801
    base_url = f"http://127.0.0.1:{port}"
    env = infra.env(
        DARKHORSES_API_PORT=str(port), DARKHORSES_API_ANONYMOUS_RATE_LIMIT_PER_MIN="100000000"
    )
    figures = {
        "statistics_db_price_rows": float(prices),
        "statistics_db_load_s": load_s,
        "statistics_refresh_ms": refresh_ms,
    }
    with runtime(["api"], env, infra.home / "api-statistics.log"):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        for name, path in (("statistics", "/v1/statistics"), ("summary", "/v1/summary")):
            timings = asyncio.run(_latencies(base_url, path))
            figures[f"api_{name}_p50_ms"] = statistics.median(timings)
            figures[f"api_{name}_p99_ms"] = _p99(timings)
    return figures


def main() -> None:
    with bench_infra() as infra:
        figures = _measure(infra)
    record(figures)


if __name__ == "__main__":
    main()
