"""Retention of the price history (sql/0060): daily partitions made ahead of time, days past the
retention dropped whole (finished races' pre-race prices archived first), and the figures of
days no longer written counted once for the statistics.

Kafka keeps its own retention per topic (schemas/topics.py; docs/operations.md): the live odds
topic 7 days, far less than the database's 90, because PostgreSQL is the record and Kafka only
the way there and the live stream's resume window.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionReport:
    created: list[str]
    dropped: list[str]
    counted: int
    archived: int = 0  # pre-race price rows of settled races archived

    def summary(self) -> str:
        return (
            f"partitions created {len(self.created)}, dropped {len(self.dropped)}"
            f"{' (' + ', '.join(self.dropped) + ')' if self.dropped else ''}, "
            f"days counted {self.counted}, settled prices archived {self.archived}"
        )


async def ensure_partitions(connection: asyncpg.Connection, first: date, last: date) -> list[str]:
    """Daily partitions for `first`..`last` (UTC days), each made unless it exists."""
    created = []
    day = first
    while day <= last:
        async with connection.transaction():
            if await connection.fetchval("SELECT odds_history_ensure_partition($1)", day):
                created.append(f"odds_history_events_p{day:%Y%m%d}")
        day += timedelta(days=1)
    return created


async def drop_before(connection: asyncpg.Connection, cutoff: datetime) -> list[str]:
    """Drop the days wholly before `cutoff` (archiving finished races' pre-race prices)."""
    async with connection.transaction():
        rows = await connection.fetch("SELECT * FROM odds_history_drop_before($1)", cutoff)
    return [row[0] for row in rows]


async def archive_settled(executor: asyncpg.Connection | asyncpg.Pool, before: datetime) -> int:
    """Archive the pre-race prices of finished races that went off before `before`."""
    archived: int = await executor.fetchval("SELECT historical_odds_archive_settled($1)", before)
    return archived


async def apply_retention(
    database_url: str,
    now: datetime,
    *,
    retention_days: int,
    ahead_days: int = 7,
    archive_after: timedelta = timedelta(hours=2),
) -> RetentionReport:
    """The maintenance run: partitions from today to `ahead_days` on, finished races archived
    `archive_after` their off, history older than `retention_days` dropped, days that ended
    before yesterday counted."""
    connection = await asyncpg.connect(database_url)
    try:
        today = now.date()
        created = await ensure_partitions(connection, today, today + timedelta(days=ahead_days))
        archived = await archive_settled(connection, now - archive_after)
        dropped = await drop_before(connection, now - timedelta(days=retention_days))
        counted = await connection.fetchval(
            "SELECT history_partition_stats_refresh($1)", now - timedelta(days=1)
        )
    finally:
        await connection.close()
    report = RetentionReport(created, dropped, counted, archived)
    log.info("retention: %s", report.summary())
    return report
